"""«Чат с врачом»: the consultations a patient sees (SPEC P3).

The patient's own consultations and, for a legal representative, their children's
(``Principal.patient_ids``), open ones first. «Поиск по названию» matches the title
(type and the consultant's specialty) case- and «ё»-insensitively; titles are
computed, so the match is done here in Python, which also lowercases Cyrillic
correctly whatever the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for

from core import worklists
from core.access import Principal, takes_part
from core.db import db
from core.models import Consultation
from core.models.registry import normalize_name


def consultations_of(principal: Principal) -> list[Consultation]:
    ids = principal.patient_ids
    if not principal.is_patient or not ids:
        return []
    rows = db.session.scalars(
        sa.select(Consultation).where(
            # Whom it is about decides (``takes_part``): a representative's consultation for
            # a child is listed only while they act for the child.
            Consultation.patient_id.in_(ids)
        )
    ).unique()
    found = [c for c in rows if takes_part(principal, c)]
    far_past = float("-inf")
    found.sort(key=lambda c: (c.scheduled_at.timestamp() if c.scheduled_at else far_past, c.id), reverse=True)
    found.sort(key=lambda c: c.is_closed)  # stable: open first, each group newest first
    return found


def matches(consultation: Consultation, query: str) -> bool:
    words = normalize_name(query).split()
    title = normalize_name(consultation.title)
    return all(word in title for word in words)


@dataclass(frozen=True)
class ChatItem:
    consultation: Consultation
    url: str
    unread: int
    # Whose consultation it is when not the account holder's own (a child's).
    for_person: str | None


def chat_items(principal: Principal, own_patient_id: int | None, query: str = "") -> list[ChatItem]:
    consultations = [c for c in consultations_of(principal) if matches(c, query)]
    if not consultations:
        return []
    unread = worklists.badges(consultations, principal)
    items = []
    for consultation in consultations:
        link = worklists.link(consultation, principal)
        items.append(
            ChatItem(
                consultation=consultation,
                url=link or url_for("portal.consultation", consultation_id=consultation.id),
                unread=unread.get(consultation.id, 0),
                for_person=None if consultation.patient_id == own_patient_id else consultation.patient.full_name,
            )
        )
    return items
