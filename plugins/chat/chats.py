"""Finding a consultation's chat and the principal's member row in it, creating them,
and the one lock under which this process writes to the chats on SQLite."""

from __future__ import annotations

import contextlib
import threading

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from core import params
from core.access import Principal, require
from core.db import db
from core.errors import Conflict, InvalidInput
from core.models import Consultation, ParticipantRole
from plugins.chat.models import Chat, ChatMember

READ_ONLY = _l("Консультация завершена: чат доступен только для чтения, новые сообщения и файлы не принимаются")


def load(consultation_id) -> tuple[Chat, Consultation]:
    """The chat of a consultation, or 404 (also for a malformed id)."""
    consultation_id = params.to_id(consultation_id)
    if consultation_id is None:
        raise NotFound()
    # Only what the access rule needs is loaded now; the rest lazily, when a page wants it.
    consultation = db.session.get(Consultation, consultation_id, options=[sa.orm.lazyload("*")])
    if consultation is None:
        raise NotFound()
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:
        raise NotFound()
    return chat, consultation


def open_for(consultation_id, principal: Principal, action: str = "chat.view") -> tuple[Chat, Consultation]:
    chat, consultation = load(consultation_id)
    require(action, consultation, principal)
    return chat, consultation


def open_for_writing(consultation_id, principal: Principal) -> tuple[Chat, Consultation]:
    chat, consultation = open_for(consultation_id, principal)
    check_writable(chat, consultation, principal)
    return chat, consultation


def check_writable(chat: Chat, consultation: Consultation, principal: Principal) -> None:
    """Closed: refused with the reason, whatever the client sends (SPEC P3, D9)."""
    if chat.is_closed or consultation.is_closed:
        raise Conflict(READ_ONLY)
    require("chat.write", consultation, principal)


def member_for(chat: Chat, principal: Principal) -> ChatMember | None:
    for member in chat.members:
        if principal.is_staff and member.user_id == principal.id:
            return member
        if principal.is_patient and member.patient_id in principal.patient_ids:
            return member
    return None


def ensure_member(chat: Chat, consultation: Consultation, principal: Principal) -> ChatMember:
    """The principal's member row; someone who takes part but has none gets one."""
    member = member_for(chat, principal)
    if member is not None:
        return member
    if principal.is_staff:
        member = ChatMember(chat=chat, user_id=principal.id, role=ParticipantRole.OBSERVER)
    else:
        patient_id = consultation.portal_patient.id
        if patient_id not in principal.patient_ids:
            patient_id = consultation.patient_id
        member = ChatMember(chat=chat, patient_id=patient_id, role=ParticipantRole.PATIENT)
    db.session.add(member)
    db.session.flush()
    return member


def create_chat(consultation: Consultation) -> Chat:
    """The chat of a new consultation: author, consultant, patient or representative."""
    chat = Chat(consultation_id=consultation.id)
    db.session.add(chat)
    seen: set[tuple] = set()
    for participant in consultation.participants:
        key = (participant.user_id, participant.patient_id)
        if key in seen or participant.role == ParticipantRole.OBSERVER:
            continue
        seen.add(key)
        chat.members.append(
            ChatMember(user_id=participant.user_id, patient_id=participant.patient_id, role=participant.role)
        )
    db.session.flush()
    return chat


def add_member(consultation: Consultation, participant) -> None:
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:  # participants of a new consultation arrive before the chat
        return
    for member in chat.members:
        if (member.user_id, member.patient_id) == (participant.user_id, participant.patient_id):
            return
    chat.members.append(
        ChatMember(user_id=participant.user_id, patient_id=participant.patient_id, role=participant.role)
    )
    db.session.flush()


def parse_seq(value, name: str = "seq") -> int | None:
    if value is None or value == "":
        return None
    number = params.to_int(value, 0)
    if number is None:
        raise InvalidInput(_l("Некорректный номер сообщения"))
    return number


_NO_LOCK = contextlib.nullcontext()


def writing():
    """On SQLite, this process's chat writers take turns on a lock: SQLite admits one
    writer at a time and makes the others poll with growing sleeps, which under a burst
    of messages costs far more than waiting in line. PostgreSQL needs no such thing."""
    app = current_app._get_current_object()
    lock = app.extensions.get("chat.sqlite_writer")
    if lock is None:
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            return _NO_LOCK
        lock = app.extensions.setdefault("chat.sqlite_writer", threading.Lock())
    return lock
