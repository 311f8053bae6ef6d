"""Audit events: every change to consultations, participants, documents and signatures.

``record`` adds the event to the current transaction, so an event exists exactly when
the change it describes was committed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from core.access import Principal, current_principal
from core.db import db, utcnow
from core.models import AuditEvent

# Never stored in an audit event, whatever a caller passes (patient identifiers).
SENSITIVE_KEYS = {"snils", "passport", "oms_policy", "policy", "password", "token"}


_INSERT = sa.insert(AuditEvent.__table__)


def _clean(data: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key.lower() in SENSITIVE_KEYS:
            continue
        if isinstance(value, dict):
            value = _clean(value)
        elif not isinstance(value, str | int | float | bool | list | type(None)):
            value = str(value)
        clean[key] = value
    return clean


def record(
    action: str,
    obj: Any = None,
    *,
    consultation_id: int | None = None,
    data: dict[str, Any] | None = None,
    principal: Principal | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
) -> None:
    """Record ``action`` (``"consultation.created"``) on ``obj`` by ``principal``."""
    principal = principal or current_principal()
    if obj is not None:
        if getattr(obj, "id", None) is None:
            db.session.flush()
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
        if consultation_id is None and object_type == "consultations":
            consultation_id = obj.id
        if consultation_id is None:
            consultation_id = getattr(obj, "consultation_id", None)
    # A plain INSERT in the session's transaction, its statement compiled once: an event
    # is written on every request that reads personal data too, and the unit of work of
    # an ORM object would cost more than the lookup it records.
    db.session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor_type": principal.kind,
            "actor_id": principal.id,
            "actor_name": principal.name,
            "action": action,
            "object_type": object_type or "",
            "object_id": object_id,
            "consultation_id": consultation_id,
            "data": _clean(data),
            "client_address": request.remote_addr if has_request_context() else None,
        },
    )
