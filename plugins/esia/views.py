"""Patient login through ESIA (SPEC P1): the landing page, the redirect and the callback."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from joserfc.errors import JoseError

from core import audit
from core.access import ANONYMOUS, require
from core.auth import login_account
from core.db import db
from plugins.esia import accounts
from plugins.esia.client import (
    EsiaIDToken, authorization_params, fetch_person, logout_url, make_client, redirect_uri,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("esia", __name__, url_prefix="/esia", template_folder="templates")

_NEXT = "esia_next"
# Set in the portal session of a patient who came in through ESIA (logout goes through it too).
_SIGNED_IN = "esia_signed_in"


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the portal: no open redirect through ``?next=``."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/portal/"):
        return None
    return target


@blueprint.route("/login")
def login():
    """«Вход через Госуслуги»: what the portal shows to somebody not logged in."""
    principal = require("esia.login")
    if principal.is_patient:
        return redirect(url_for("portal.index"))
    return render_template(
        "esia/login.html",
        next=_safe_next(request.args.get("next")),
        registration_url=current_app.config["ESIA_REGISTRATION_URL"],
        instruction_url=current_app.config["ESIA_INSTRUCTION_URL"],
    )


@blueprint.route("/start")
def start():
    """Send the browser to ESIA's authorization page with a signed request."""
    require("esia.login")
    client = make_client()
    target = redirect_uri()
    session[_NEXT] = _safe_next(request.args.get("next"))
    return client.authorize_redirect(target, **authorization_params(client, target))


@blueprint.route("/callback")
def callback():
    """ESIA sends the browser back here with a one-time code (or an error)."""
    require("esia.login")
    next_page = session.pop(_NEXT, None)
    client = make_client()
    if request.args.get("error") == "access_denied":
        return _failure(_("Вы отменили вход через Госуслуги."), status=200, cancelled=True)
    try:
        token = client.authorize_access_token(
            claims_cls=EsiaIDToken,
            # Authlib compares ``aud`` only when asked: a token ESIA issued to another
            # system must not log anybody in here.
            claims_options={
                "iss": {"essential": True, "value": current_app.config["ESIA_ISSUER"]},
                "aud": {"essential": True, "value": client.client_id},
            },
        )
        claims = token.get("userinfo") or {}
        oid = claims.get("urn:esia:sbj_id") or claims.get("sub")
        if not oid:
            raise OAuthError(error="invalid_token", description="no subject in the ID token")
        person = fetch_person(client, token, str(oid))
    except requests.RequestException:
        log.exception("ESIA is unreachable")
        return _failure(_("Госуслуги сейчас недоступны. Попробуйте войти немного позже."), status=503)
    except (OAuthError, JoseError, KeyError, ValueError) as error:
        # A forged or replayed callback, a reused code, a wrong nonce: refuse and record it.
        log.warning("ESIA callback refused: %s: %s", type(error).__name__, error)
        audit.record(
            "esia.callback_refused", principal=ANONYMOUS, object_type="portal_accounts",
            data={"reason": type(error).__name__},
        )
        db.session.commit()
        return _failure(_("Не удалось подтвердить вход через Госуслуги. Начните вход заново."), status=400)

    if not person.admitted:
        audit.record(
            "esia.refused_simplified", principal=ANONYMOUS, object_type="portal_accounts", data={"oid": person.oid}
        )
        db.session.commit()
        return render_template(
            "esia/simplified.html",
            document_pending=person.document_pending,
            esia_logout_url=logout_url(),
            upgrade_url=current_app.config["ESIA_UPGRADE_URL"],
            instruction_url=current_app.config["ESIA_INSTRUCTION_URL"],
        ), 403
    try:
        account = accounts.sign_in(person)
    except accounts.NotInRegistry:
        db.session.commit()  # the audit event
        return render_template("esia/not_in_registry.html", person=person, esia_logout_url=logout_url()), 403
    login_account(account)
    session[_SIGNED_IN] = True
    db.session.commit()
    return redirect(next_page or url_for("portal.index"))


def logout_redirect(principal) -> str | None:
    """After the local logout of a patient who came through ESIA, ESIA's own logout, so
    the next «Войти через Госуслуги» asks again (SPEC P8)."""
    if not principal.is_patient or not session.get(_SIGNED_IN):
        return None
    return logout_url()


def _failure(message: str, status: int, cancelled: bool = False):
    return render_template("esia/failure.html", message=message, cancelled=cancelled), status
