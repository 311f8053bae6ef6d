"""Bearer tokens of machine clients."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import request

from core.access import ANONYMOUS, Principal, principal_for_token, set_principal
from core.db import db, utcnow
from core.models import ApiToken

SCOPES = ("registry:read", "registry:write", "consultations:read", "consultations:write")
TOKEN_PREFIX = "tc_"
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_GRANULARITY = timedelta(minutes=5)


# Every API request runs this: a plain query of the columns a principal needs (no ORM
# object, no ORM compile step), built once.
_tokens = ApiToken.__table__.c
_TOKEN = sa.select(
    _tokens.id, _tokens.name, _tokens.organisation_id, _tokens.scopes, _tokens.revoked, _tokens.last_used_at
).where(_tokens.token_hash == sa.bindparam("token_hash"))


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(name: str, organisation_id: int, scopes: list[str]) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    value = new_token_value()
    token = ApiToken(
        name=name,
        organisation_id=organisation_id,
        token_hash=ApiToken.hash(value),
        scopes=" ".join(s for s in SCOPES if s in scopes),
    )
    db.session.add(token)
    db.session.flush()
    return token, value


def bearer_value() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate() -> Principal:
    """Set the request's principal from its bearer token (anonymous without a valid one)."""
    principal = ANONYMOUS
    value = bearer_value()
    if value is not None:
        token = db.session.execute(_TOKEN, {"token_hash": ApiToken.hash(value)}).first()
        if token is not None and not token.revoked and token.organisation_id is not None:
            principal = principal_for_token(token)
            now = utcnow()
            if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
                db.session.execute(
                    sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                )
                db.session.commit()
    set_principal(principal)
    return principal
