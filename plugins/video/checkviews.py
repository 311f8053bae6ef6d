"""The pre-call check «Проверка связи» (SPEC P5, D8): the page, its ICE servers and round
trip, and the stored result. Every view asks ``core.access`` (``video.check``)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from core import params
from core.access import current_principal, require
from core.db import db
from plugins.video import calls, echotest, precheck, turn

blueprint = Blueprint("video_check", __name__, template_folder="templates")


def _layout(principal) -> str:
    return "workplace/layout.html" if principal.is_staff else "portal/layout.html"


def _consultation(consultation_id: int):
    principal = current_principal()
    return principal, calls.consultation_for(consultation_id, principal, "video.check")


@blueprint.route("/video/<int:consultation_id>/check")
def page(consultation_id: int):
    """Camera preview, microphone level, device pickers, speaker test, then the verdict."""
    principal, consultation = _consultation(consultation_id)
    browser, _version, supported = precheck.browser_of(request.headers.get("User-Agent", ""))
    patient_check = precheck.latest_of_patient(consultation) if principal.is_staff else None
    db.session.commit()
    return render_template(
        "video/check.html", layout=_layout(principal), consultation=consultation,
        guide=precheck.GUIDE, todo=precheck.REMEDY, headlines=precheck.HEADLINES, causes=precheck.CAUSES,
        browser=browser, browser_supported=supported,
        patient_check=precheck.for_doctor(patient_check) if patient_check else None,
        room_url=url_for("video.room", consultation_id=consultation.id), echo_enabled=echotest.enabled(),
        chat_url=url_for("chat.window", consultation_id=consultation.id) if "chat.window" in current_app.view_functions else None,
    )


@blueprint.route("/video/<int:consultation_id>/check/ice")
def ice(consultation_id: int):
    """The servers to test the network path with: the deployment's TURN (short-lived
    credentials of this check) and STUN. Also the first round trip."""
    principal, consultation = _consultation(consultation_id)
    name = f"check-{'u' if principal.is_staff else 'a'}{principal.id}"
    config = current_app.config
    turn_servers, stun = [], list(config["VIDEO_STUN_URLS"])
    if config["VIDEO_TURN_URLS"] and config["VIDEO_TURN_SECRET"]:
        username, password = turn.credentials(config["VIDEO_TURN_SECRET"], name, 300)
        turn_servers.append({"urls": list(config["VIDEO_TURN_URLS"]), "username": username, "credential": password})
    db.session.rollback()
    return jsonify({"turn": turn_servers, "stun": [{"urls": stun}] if stun else []})


@blueprint.route("/video/check/ping")
def ping():
    """The round trip to the server: an empty answer to whoever may use video."""
    require("video.connect")
    db.session.rollback()
    return "", 204


@blueprint.route("/video/<int:consultation_id>/check", methods=["POST"])
def save(consultation_id: int):
    """Store what the browser saw and answer which cause of the guide applies."""
    principal, consultation = _consultation(consultation_id)
    facts = params.json_object()
    check = precheck.record(consultation, principal, facts, request.headers.get("User-Agent", ""))
    db.session.commit()
    return jsonify({"check": precheck.view(check)}), 201


@blueprint.route("/video/<int:consultation_id>/check/echo", methods=["POST"])
def echo(consultation_id: int):
    """«Эхо-тест»: the browser's offer to the server peer, its answer back (SPEC P5)."""
    principal, consultation = _consultation(consultation_id)
    return jsonify(echotest.broker(consultation, principal, params.json_object()))
