"""A development identity provider that speaks ESIA's protocol (SPEC P1).

It answers the same endpoints as ESIA (authorization page, token endpoint, the REST
service of persons, identity documents, contacts and children, logout) plus a JWKS with
the key of its ID tokens, with the persons of ``core.demo_data.PORTAL_PERSONS``. It checks what
ESIA checks: the client, the redirect address, the signed ``client_secret`` of both
requests, a UUID state, and a code that is good once, for a few minutes, for the client
and redirect it was issued to. Like ESIA it keeps its own session (a cookie of its own):
a second login in the same browser does not ask again until ESIA's logout ends it.

It exists only when the development or testing settings enable it (``ESIA_DEV_IDP``);
production refuses to start with it enabled. Codes and tokens are kept in the process's
memory: the development server is a single process.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from urllib.parse import urlencode
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.jwk import RSAKey

from core.access import require
from core.demo_data import PORTAL_PERSONS, PortalPerson
from core.extensions import csrf
from core.validators import format_snils
from plugins.esia.client import CONFIRMED, SIMPLIFIED, STANDARD, VERIFYING
from plugins.esia.signing import DevelopmentSigner, load_signer

blueprint = Blueprint("esia_dev", __name__, url_prefix="/esia-dev", template_folder="templates")

CODE_LIFETIME = 300
TOKEN_LIFETIME = 3600
TIMESTAMP_SKEW = 3600
SESSION_LIFETIME = 3600
SESSION_COOKIE = "esia_dev_session"

TRUST_TITLES = {
    SIMPLIFIED: "Упрощённая",
    STANDARD: "Стандартная",
    CONFIRMED: "Подтверждённая",
}


@dataclass
class _Grant:
    oid: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    expires: float


@dataclass
class _State:
    key: RSAKey
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, _Grant] = field(default_factory=dict)
    # The IdP's own login sessions: cookie value -> (oid, expiry).
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_creation_lock = threading.Lock()


def _state(app: Flask | None = None) -> _State:
    app = app or current_app._get_current_object()
    with _creation_lock:
        state = app.extensions.get("esia_dev.state")
        if state is None:
            key = RSAKey.generate_key(2048, parameters={"kid": "esia-dev-1", "use": "sig", "alg": "RS256"})
            state = app.extensions["esia_dev.state"] = _State(key=key)
    return state


def _person(oid: str) -> PortalPerson | None:
    return next((p for p in PORTAL_PERSONS if p.external_id == oid), None)


def _signer() -> DevelopmentSigner:
    signer = load_signer(current_app.config)
    if not isinstance(signer, DevelopmentSigner):
        abort(400)
    return signer


@blueprint.before_request
def _enabled_only():
    require("esia_dev.use")


# --------------------------------------------------------------------------- authorization


class _BadRequest(Exception):
    pass


def _check_timestamp(value: str) -> None:
    try:
        stamp = time.mktime(time.strptime(value[:19], "%Y.%m.%d %H:%M:%S"))
    except (TypeError, ValueError):
        raise _BadRequest("timestamp") from None
    offset = value[20:] if len(value) > 20 else "+0000"
    if offset != "+0000" or abs(stamp - time.mktime(time.gmtime())) > TIMESTAMP_SKEW:
        raise _BadRequest("timestamp")


def _check_authorization(params: dict[str, str]) -> None:
    config = current_app.config
    if params.get("client_id") != config["ESIA_CLIENT_ID"]:
        raise _BadRequest("client_id")
    allowed = {url_for("esia.callback", _external=True), config.get("ESIA_REDIRECT_URI")}
    if params.get("redirect_uri") not in allowed:
        raise _BadRequest("redirect_uri")
    if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
        raise _BadRequest("response_type")
    try:
        uuid.UUID(params.get("state", ""))
    except ValueError:
        raise _BadRequest("state") from None
    _check_timestamp(params.get("timestamp", ""))
    signed = "".join(params.get(k, "") for k in ("client_id", "scope", "timestamp", "state", "redirect_uri"))
    if not _signer().verify(signed.encode(), params.get("client_secret", "")):
        raise _BadRequest("client_secret")


AUTHORIZATION_PARAMS = (
    "client_id", "client_secret", "redirect_uri", "scope", "response_type", "state", "nonce",
    "timestamp", "access_type", "client_certificate_hash",
)


def _signed_in_person() -> PortalPerson | None:
    """The person this browser is logged in to the IdP as, if its session is still on."""
    state = _state()
    with state.lock:
        oid, expires = state.sessions.get(request.cookies.get(SESSION_COOKIE, ""), ("", 0.0))
    return _person(oid) if expires > time.time() else None


def _issue_code(person: PortalPerson, params: dict[str, str]):
    code = secrets.token_urlsafe(32)
    target = params["redirect_uri"]
    state = _state()
    with state.lock:
        state.codes[code] = _Grant(
            oid=person.external_id, client_id=params["client_id"], redirect_uri=target,
            scope=params["scope"], nonce=params["nonce"] or None, expires=time.time() + CODE_LIFETIME,
        )
    return redirect(f"{target}?{urlencode({'code': code, 'state': params['state']})}")


@blueprint.route("/aas/oauth2/v2/ac", methods=["GET", "POST"])
def authorize():
    """ESIA's login page: pick a demo person (or cancel); a browser still logged in to
    the IdP goes straight back with a code, as with ESIA."""
    source = request.form if request.method == "POST" else request.args
    params = {k: source.get(k, "") for k in AUTHORIZATION_PARAMS}
    try:
        _check_authorization(params)
    except _BadRequest as error:
        return render_template("esia/dev_error.html", field=str(error)), 400
    if request.method == "GET":
        remembered = _signed_in_person()
        if remembered is not None:
            return _issue_code(remembered, params)
        return render_template(
            "esia/dev_authorize.html", persons=PORTAL_PERSONS, params=params, trust_titles=TRUST_TITLES
        )
    if request.form.get("action") == "cancel":
        return redirect(f"{params['redirect_uri']}?{urlencode({'error': 'access_denied', 'state': params['state']})}")
    person = _person(request.form.get("oid", ""))
    if person is None:
        abort(400)
    session_id = secrets.token_urlsafe(32)
    state = _state()
    with state.lock:
        state.sessions[session_id] = (person.external_id, time.time() + SESSION_LIFETIME)
    response = _issue_code(person, params)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=SESSION_LIFETIME, path=blueprint.url_prefix,
        httponly=True, samesite="Lax", secure=request.is_secure,
    )
    return response


@blueprint.route("/idp/ext/Logout")
def logout():
    """ESIA's logout: forget the IdP session, then back to the client's address."""
    back = request.args.get("redirect_url", "")
    if request.args.get("client_id") != current_app.config["ESIA_CLIENT_ID"]:
        return render_template("esia/dev_error.html", field="client_id"), 400
    allowed_roots = {request.url_root, current_app.config.get("ESIA_LOGOUT_REDIRECT_URI") or request.url_root}
    if back and not any(back.startswith(root) for root in allowed_roots):
        return render_template("esia/dev_error.html", field="redirect_url"), 400
    state = _state()
    with state.lock:
        state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    response = redirect(back or url_for("esia.login"))
    response.delete_cookie(SESSION_COOKIE, path=blueprint.url_prefix)
    return response


# --------------------------------------------------------------------------- token


def _token_error(error: str, status: int = 400):
    descriptions = {
        "unsupported_grant_type": _("Поддерживается только grant_type=authorization_code"),
        "invalid_request": _("Неверный или просроченный timestamp запроса"),
        "invalid_client": _("Подпись client_secret не сходится"),
        "invalid_grant": _("Код авторизации неверен, просрочен или уже использован"),
    }
    return jsonify({"error": error, "error_description": descriptions[error]}), status


@blueprint.route("/aas/oauth2/v3/te", methods=["POST"])
@csrf.exempt
def token():
    """Exchange a code for an access token and an ID token; a code works once."""
    form = request.form
    if form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type")
    code = form.get("code", "")
    signed = "".join(
        form.get(k, "") for k in ("client_id", "scope", "timestamp", "state", "redirect_uri", "code")
    )
    try:
        _check_timestamp(form.get("timestamp", ""))
    except _BadRequest:
        return _token_error("invalid_request")
    if not _signer().verify(signed.encode(), form.get("client_secret", "")):
        return _token_error("invalid_client", 401)
    state = _state()
    with state.lock:
        grant = state.codes.pop(code, None)  # once only, whatever happens next
    if (
        grant is None
        or grant.expires < time.time()
        or grant.client_id != form.get("client_id")
        or grant.redirect_uri != form.get("redirect_uri")
    ):
        return _token_error("invalid_grant")
    person = _person(grant.oid)
    now = int(time.time())
    access_token = secrets.token_urlsafe(32)
    with state.lock:
        state.tokens[access_token] = _Grant(
            oid=grant.oid, client_id=grant.client_id, redirect_uri=grant.redirect_uri,
            scope=grant.scope, nonce=None, expires=time.time() + TOKEN_LIFETIME,
        )
    claims: dict[str, Any] = {
        "iss": current_app.config["ESIA_ISSUER"],
        "sub": grant.oid,
        "aud": grant.client_id,
        "iat": now,
        "auth_time": now,
        "exp": now + TOKEN_LIFETIME,
        "amr": "PWD",
        "urn:esia:amd": "PWD",
        "urn:esia:sbj_id": grant.oid,
        "urn:esia:sbj": {
            "urn:esia:sbj:typ": "P",
            "urn:esia:sbj:oid": grant.oid,
            "urn:esia:sbj:is_tru": person.trust_level == CONFIRMED,
        },
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    id_token = jwt.encode({"alg": "RS256", "kid": state.key.kid}, claims, state.key)
    return jsonify(
        access_token=access_token,
        id_token=id_token,
        token_type="Bearer",
        expires_in=TOKEN_LIFETIME,
        scope=grant.scope,
        state=form.get("state"),
    )


@blueprint.route("/jwks")
def jwks():
    return jsonify(keys=[_state().key.as_dict(private=False)])


# --------------------------------------------------------------------------- REST service


def _bearer(oid: str) -> _Grant:
    header = request.headers.get("Authorization", "")
    value = header[7:] if header.lower().startswith("bearer ") else ""
    state = _state()
    with state.lock:
        grant = state.tokens.get(value)
    if grant is None or grant.expires < time.time():
        abort(401)
    if grant.oid != oid:
        abort(403)
    return grant


def _date(value) -> str:
    return value.strftime("%d.%m.%Y")


@blueprint.route("/rs/prns/<oid>")
def person(oid: str):
    grant = _bearer(oid)
    who = _person(oid) or abort(404)
    scopes = set(grant.scope.split())
    data: dict[str, Any] = {"oid": int(oid), "trusted": who.trust_level == CONFIRMED, "status": "REGISTERED"}
    if "fullname" in scopes:
        data.update(firstName=who.first_name, lastName=who.last_name, middleName=who.middle_name)
    if "birthdate" in scopes:
        data["birthDate"] = _date(who.birth_date)
    if "gender" in scopes:
        data["gender"] = "M" if who.sex == "male" else "F"
    # A person who entered no identity document has no SNILS checked either.
    if who.document_check is not None:
        data["rIdDoc"] = _document_id(who)
        if "snils" in scopes:
            data["snils"] = format_snils(who.snils)
    return jsonify(data)


def _document_id(who: PortalPerson) -> int:
    return int(who.external_id) * 10 + 1


@blueprint.route("/rs/prns/<oid>/docs/<int:document_id>")
def document(oid: str, document_id: int):
    """The identity document; the portal reads only its check status (``vrfStu``)."""
    grant = _bearer(oid)
    who = _person(oid) or abort(404)
    if "id_doc" not in grant.scope.split():
        abort(403)
    if who.document_check is None or document_id != _document_id(who):
        abort(404)
    return jsonify(id=document_id, type="RF_PASSPORT", vrfStu=who.document_check)


@blueprint.route("/rs/prns/<oid>/ctts")
def contacts(oid: str):
    grant = _bearer(oid)
    who = _person(oid) or abort(404)
    elements = []
    if "contacts" in grant.scope.split():
        elements = [
            {"type": "EML", "vrfStu": "VERIFIED", "value": who.email},
            {"type": "MBT", "vrfStu": "VERIFIED", "value": who.phone},
        ]
    return jsonify(size=len(elements), elements=elements)


@blueprint.route("/rs/prns/<oid>/kids")
def kids(oid: str):
    grant = _bearer(oid)
    who = _person(oid) or abort(404)
    scopes = set(grant.scope.split())
    elements = []
    if "kid_fullname" in scopes:
        for index, (last, first, middle, birth, sex, snils, _oms) in enumerate(who.children, start=1):
            kid: dict[str, Any] = {"id": int(oid) * 100 + index, "lastName": last, "firstName": first, "middleName": middle}
            if "kid_birthdate" in scopes:
                kid["birthDate"] = _date(birth)
            if "kid_snils" in scopes:
                kid["snils"] = format_snils(snils)
            elements.append(kid)
    return jsonify(size=len(elements), elements=elements)


@blueprint.route("/rs/prns/<oid>/kids/<int:kid_id>/docs")
def kid_documents(oid: str, kid_id: int):
    """A child's documents: the OMS policy (``MDCL_PLCY``) with ``kid_medical_doc``."""
    grant = _bearer(oid)
    who = _person(oid) or abort(404)
    index = kid_id - int(oid) * 100
    if not 1 <= index <= len(who.children):
        abort(404)
    elements = []
    oms = who.children[index - 1][6]
    if "kid_medical_doc" in grant.scope.split() and oms:
        elements.append({"id": kid_id * 10 + 1, "type": "MDCL_PLCY", "number": oms, "vrfStu": "VERIFIED"})
    return jsonify(size=len(elements), elements=elements)


def person_notes(person: PortalPerson) -> list[str]:
    notes = [_("Учётная запись: %(level)s", level=TRUST_TITLES[person.trust_level])]
    if person.document_check == VERIFYING:
        notes.append(_("Паспорт ещё на проверке"))
    if person.children:
        notes.append(_("Есть ребёнок: %(name)s", name=" ".join(person.children[0][:2])))
    if not person.in_registry:
        notes.append(_("Нет в регистре пациентов"))
    return notes


@blueprint.app_template_global("esia_dev_person_notes")
def _person_notes(person: PortalPerson) -> list[str]:
    return person_notes(person)
