"""The ESIA client: OAuth 2.0 / OpenID Connect authorization code flow through Authlib.

Authlib does the protocol (the state kept in the session and checked on the callback,
the nonce checked in the ID token, the token request, the ID token signature against
the provider's keys); this module adds what ESIA asks on top of it:

- ``client_secret`` is not a shared secret but a signature of the request parameters,
  made anew for the authorization request and for the token request (``signing``), with
  ``timestamp`` and ``client_certificate_hash`` beside it;
- ``state`` is a UUID;
- the person's data does not come from a userinfo endpoint but from the ESIA REST
  service: ``/rs/prns/{oid}``, its contacts ``/ctts``, children ``/kids`` and, for the
  account level, the verification status of the identity document ``/docs/{rIdDoc}``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from authlib.common.urls import url_decode, url_encode
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from authlib.oidc.core import CodeIDToken
from flask import current_app, request, url_for

from plugins.esia.signing import client_secret, load_signer

AUTHORIZE_PATH = "/aas/oauth2/v2/ac"
TOKEN_PATH = "/aas/oauth2/v3/te"
PERSON_PATH = "/rs/prns/{oid}"
CONTACTS_PATH = "/rs/prns/{oid}/ctts?embed=(elements)"
KIDS_PATH = "/rs/prns/{oid}/kids?embed=(elements)"
KID_DOCUMENTS_PATH = "/rs/prns/{oid}/kids/{kid_id}/docs?embed=(elements)"
# ESIA's document type of an OMS policy (a child's one is read with ``kid_medical_doc``).
OMS_POLICY_TYPE = "MDCL_PLCY"
DOCUMENT_PATH = "/rs/prns/{oid}/docs/{document_id}"
LOGOUT_PATH = "/idp/ext/Logout"
DEV_PREFIX = "/esia-dev"

# ESIA's names of the data the portal asks for (ESIA methodological recommendations,
# the scope list): the person's name, birth date, sex, SNILS and contacts, the identity
# document (only its verification status is read, nothing of it is kept), and for a
# legal representative the children's name, birth date, SNILS and OMS policy (a child is
# matched to the registry by SNILS, or by the OMS policy with the birth date).
DEFAULT_SCOPES = (
    "openid fullname birthdate gender snils id_doc contacts"
    " kid_fullname kid_birthdate kid_snils kid_medical_doc"
)
# Scopes without which the portal cannot tell who may come in.
REQUIRED_SCOPES = ("openid", "snils", "id_doc")

SIMPLIFIED, STANDARD, CONFIRMED = "simplified", "standard", "confirmed"
ADMITTED_TRUST_LEVELS = frozenset({STANDARD, CONFIRMED})
# ESIA's ``vrfStu`` of a document: checked by the state registers, being checked, or not.
VERIFIED, VERIFYING = "VERIFIED", "VERIFYING"


def timestamp(now: datetime | None = None) -> str:
    """ESIA's timestamp format: ``yyyy.MM.dd HH:mm:ss Z``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y.%m.%d %H:%M:%S %z")


def base_url() -> str:
    """Where the browser goes for ESIA: the configured one, else this app's development IdP."""
    configured = current_app.config.get("ESIA_URL")
    if configured:
        return configured.rstrip("/")
    return request.url_root.rstrip("/") + DEV_PREFIX


def backchannel_url() -> str:
    """Where the server reaches ESIA (token, REST, keys); the same as the browser's unless set."""
    return (current_app.config.get("ESIA_BACKCHANNEL_URL") or base_url()).rstrip("/")


def redirect_uri() -> str:
    return current_app.config.get("ESIA_REDIRECT_URI") or url_for("esia.callback", _external=True)


def logout_url() -> str:
    """ESIA's logout, which ends the person's ESIA session and sends the browser back."""
    config = current_app.config
    back = config.get("ESIA_LOGOUT_REDIRECT_URI") or url_for("esia.login", _external=True)
    address = config.get("ESIA_LOGOUT_URL") or base_url() + LOGOUT_PATH
    return f"{address}?{url_encode([('client_id', config['ESIA_CLIENT_ID']), ('redirect_url', back)])}"


def scopes() -> str:
    return " ".join(current_app.config.get("ESIA_SCOPES", DEFAULT_SCOPES).split())


class EsiaIDToken(CodeIDToken):
    """ESIA's ID token: ``amr`` is one string (``"PWD"``, ``"DS"``), not the list OIDC has."""

    def validate_amr(self):
        amr = self.get("amr")
        if amr is not None and not isinstance(amr, str | list):
            super().validate_amr()


def make_client() -> FlaskOAuth2App:
    """A client for this request, built from the settings (cheap: no network)."""
    config = current_app.config
    signer = load_signer(config)
    client_id = config["ESIA_CLIENT_ID"]
    scope = scopes()
    back = backchannel_url()

    def esia_signed_secret(auth, method, uri, headers, body):
        """Token endpoint authentication the ESIA way: a fresh signed ``client_secret``."""
        params = dict(url_decode(body))
        state, stamp = str(uuid.uuid4()), timestamp()
        params.update(
            client_id=client_id,
            state=state,
            scope=scope,
            timestamp=stamp,
            token_type="Bearer",
            client_certificate_hash=signer.certificate_hash,
            client_secret=client_secret(
                signer, client_id, scope, stamp, state, params.get("redirect_uri", ""), params.get("code", "")
            ),
        )
        return uri, headers, url_encode(params.items())

    metadata: dict[str, Any] = {"issuer": config["ESIA_ISSUER"]}
    if config.get("ESIA_JWKS"):
        metadata["jwks"] = config["ESIA_JWKS"]
    else:
        metadata["jwks_uri"] = config.get("ESIA_JWKS_URL") or back + "/jwks"
    client = FlaskOAuth2App(
        FlaskIntegration("esia"),
        name="esia",
        client_id=client_id,
        client_secret=None,
        authorize_url=base_url() + AUTHORIZE_PATH,
        access_token_url=back + TOKEN_PATH,
        api_base_url=back,
        client_kwargs={
            "scope": scope,
            "token_endpoint_auth_method": "esia_signed_secret",
            "timeout": config.get("ESIA_TIMEOUT", 10),
        },
        client_auth_methods=[("esia_signed_secret", esia_signed_secret)],
        **metadata,
    )
    client.teleconsult_signer = signer
    return client


def authorization_params(client: FlaskOAuth2App, redirect: str) -> dict[str, str]:
    """The ESIA additions to the authorization request, signed over its parameters."""
    signer = client.teleconsult_signer
    state, stamp = str(uuid.uuid4()), timestamp()
    scope = scopes()
    return {
        "state": state,
        "timestamp": stamp,
        "access_type": "online",
        "client_certificate_hash": signer.certificate_hash,
        "client_secret": client_secret(signer, client.client_id, scope, stamp, state, redirect),
    }


# --------------------------------------------------------------------------- the person


@dataclass(frozen=True)
class EsiaChild:
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date | None
    snils: str | None
    oms_policy: str | None = None


@dataclass(frozen=True)
class EsiaPerson:
    oid: str
    trust_level: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date | None
    snils: str | None
    email: str | None
    phone: str | None
    children: tuple[EsiaChild, ...] = field(default=())
    # Whether ESIA was asked for the children (kid_* scopes): without it the list says nothing.
    children_known: bool = False
    # The identity document is entered but its check by the state registers is not over.
    document_pending: bool = False

    @property
    def admitted(self) -> bool:
        return self.trust_level in ADMITTED_TRUST_LEVELS


def _flag(value: Any) -> bool:
    """ESIA's booleans come as JSON ``true`` or, in older schemas, as the string ``"true"``."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def trust_level(person: dict[str, Any], identity_document: dict[str, Any] | None = None) -> str:
    """The ESIA account level from the person record and its identity document.

    «Подтверждённая» is ``trusted``; «Стандартная» has the SNILS and the identity document
    (``rIdDoc``) verified by the state registers (the document's ``vrfStu`` is
    ``VERIFIED``); anything less, a check still running included, is «Упрощённая».
    """
    if _flag(person.get("trusted")):
        return CONFIRMED
    document = identity_document or {}
    if person.get("snils") and person.get("rIdDoc") and document.get("vrfStu") == VERIFIED:
        return STANDARD
    return SIMPLIFIED


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d.%m.%Y").date()
    except ValueError:
        return None


def _digits(value: str | None) -> str | None:
    digits = "".join(ch for ch in value or "" if ch in "0123456789")  # not "²", which isdigit() admits
    return digits or None


def _elements(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in payload.get("elements", []) if isinstance(e, dict)]


def fetch_person(client: FlaskOAuth2App, token: dict[str, Any], oid: str) -> EsiaPerson:
    """Read the person, their identity document's check, contacts and children from the
    ESIA REST service."""

    def get(path: str, **values: Any) -> dict[str, Any]:
        response = client.get(backchannel_url() + path.format(oid=oid, **values), token=token)
        response.raise_for_status()
        return response.json()

    person = get(PERSON_PATH)
    granted = token.get("scope", scopes()).split()
    document = None
    if not _flag(person.get("trusted")) and person.get("rIdDoc") and "id_doc" in granted:
        document = get(DOCUMENT_PATH, document_id=int(person["rIdDoc"]))
    contacts = _elements(get(CONTACTS_PATH))
    children_known = "kid_fullname" in granted
    kids = _elements(get(KIDS_PATH)) if children_known else []
    policies = {}
    if "kid_medical_doc" in granted:
        for kid in kids:
            if kid.get("id") is not None:
                documents = _elements(get(KID_DOCUMENTS_PATH, kid_id=int(kid["id"])))
                policies[kid["id"]] = next(
                    (_digits(d.get("number")) for d in documents if d.get("type") == OMS_POLICY_TYPE), None
                )
    email = next((c.get("value") for c in contacts if c.get("type") == "EML"), None)
    phone = next((c.get("value") for c in contacts if c.get("type") == "MBT"), None)
    return EsiaPerson(
        oid=str(oid),
        trust_level=trust_level(person, document),
        last_name=person.get("lastName", ""),
        first_name=person.get("firstName", ""),
        middle_name=person.get("middleName") or None,
        birth_date=_date(person.get("birthDate")),
        snils=_digits(person.get("snils")),
        email=email,
        phone=phone,
        children=tuple(
            EsiaChild(
                last_name=kid.get("lastName", ""),
                first_name=kid.get("firstName", ""),
                middle_name=kid.get("middleName") or None,
                birth_date=_date(kid.get("birthDate")),
                snils=_digits(kid.get("snils")),
                oms_policy=policies.get(kid.get("id")),
            )
            for kid in kids
        ),
        children_known=children_known,
        document_pending=(document or {}).get("vrfStu") == VERIFYING,
    )
