"""Portal pages. Every view asks ``core.access`` first; staff never get in (SPEC P8)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import params, worklists
from core.access import can, current_principal, require
from core.db import db
from core.errors import UserError
from core.lifecycle import OUTCOME_TITLES, STATUS_TITLES
from core.models import Consultation, Patient
from core import consent
from core.portal import chats, record_requests
from core.routing import representatives_supported

blueprint = Blueprint("portal", __name__, url_prefix="/portal")


@blueprint.before_request
def _patients_only():
    require("portal.use")


def _own_patient() -> Patient | None:
    return current_user.patient if current_user.is_authenticated else None


def _children(own: Patient | None) -> list[Patient]:
    """The children the account acts for now, as the access policy says (``wards_of``)."""
    if own is None:
        return []
    ids = current_principal().patient_ids - {own.id}
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Patient).where(Patient.id.in_(ids)).order_by(Patient.birth_date.desc())))


@blueprint.route("/")
def index():
    return render_template("portal/index.html")


@blueprint.route("/chats")
def chats_list():
    """«Чат с врачом» (P3): every chat of the patient and of their children."""
    if not can("portal.chat"):
        return consent.gate()
    principal = require("portal.chat")
    own = _own_patient()
    query = (request.args.get("q") or "").strip()[:100]
    items = chats.chat_items(principal, own.id if own else None, query)
    return render_template(
        "portal/chats.html", items=items, query=query, status_titles=STATUS_TITLES,
        list_scripts=worklists.list_scripts([item.consultation for item in items], "portal", principal),
        has_any=bool(items) or bool(query and chats.consultations_of(principal)),
    )


@blueprint.route("/chats/<int:consultation_id>")
def consultation(consultation_id: int):
    """The card of one consultation, when no plugin offers a chat window for it."""
    if not can("portal.chat"):
        return consent.gate()
    item = db.session.get(Consultation, consultation_id) or abort(404)
    require("consultation.view", item)
    own = _own_patient()
    return render_template(
        "portal/consultation.html", consultation=item, status_titles=STATUS_TITLES,
        outcome_titles=OUTCOME_TITLES, for_person=None if own and item.patient_id == own.id else item.patient.full_name,
    )


@blueprint.route("/consent", methods=["POST"])
def accept_consent():
    principal = require("portal.use")
    form = consent.ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("agree") != "yes":
        flash(_("Чтобы продолжить, поставьте галочку «Я ознакомлен(а) и согласен(на)»."), "error")
        return consent.gate(), 422
    version_id = params.to_id(request.form.get("version_id"))
    if version_id is None:
        abort(400)
    consent.accept(principal, version_id)
    db.session.commit()
    return redirect(url_for("portal.chats_list"))


@blueprint.route("/access")
def access():
    """«Управление доступом»: the accepted consent text, its version and date (P2)."""
    principal = require("portal.use")
    history = consent.acceptances(principal.id)
    current = consent.current_version()
    return render_template(
        "portal/access.html", history=history, current=current,
        current_accepted=any(a.version_id == (current.id if current else None) for a in history),
    )


@blueprint.route("/requests")
def requests_list():
    """«Записаться на консультацию»: the patient's requests and their status (P7)."""
    principal = require("portal.use")
    return render_template(
        "portal/requests.html", requests=record_requests.requests_of(principal),
        status_titles=record_requests.STATUS_TITLES,
    )


@blueprint.route("/requests/new", methods=["GET", "POST"])
def new_request():
    principal = require("portal.use")
    own = _own_patient()
    children = _children(own)
    form = record_requests.RecordRequestForm()
    # A request for a child only where legal representatives are known (guardian plugin).
    for_children = representatives_supported()
    if not for_children:
        form.who.choices = [choice for choice in form.who.choices if choice.value != "child"]
    if request.method == "GET":
        chosen = None
        child_id = params.to_id(request.args.get("child"))
        if child_id is not None:
            chosen = next((c for c in children if c.id == child_id), None)
            if chosen is None:
                abort(404)
        record_requests.prefill(form, own, current_user, chosen)
    elif form.validate_on_submit():
        try:
            record_requests.create_request(form, principal, children)
        except UserError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return render_template("portal/request_form.html", form=form, children=children, for_children=for_children), error.status
        db.session.commit()
        flash(
            _("Заявка отправлена в журнал отложенной записи поликлиники. Сотрудник свяжется с вами, "
              "чтобы согласовать дату и время консультации."),
            "success",
        )
        return redirect(url_for("portal.requests_list"))
    status = 422 if form.errors else 200
    return render_template("portal/request_form.html", form=form, children=children, for_children=for_children), status
