"""Shared helpers of the notification tests."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_text(moment: datetime) -> tuple[str, str]:
    """The date and time as the patient must read them: «25 ноября 2026», «14:30»."""
    from babel.dates import format_date

    local = moment.astimezone(MOSCOW)
    return format_date(local.date(), "d MMMM y", locale="ru"), local.strftime("%H:%M")


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["DATA_DIR"]) / "outbox"
    return [parse(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.is_dir() else []


def notifications(**where):
    from core.db import db
    from plugins.notifications.models import Notification

    query = sa.select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    db.session.expire_all()
    return list(db.session.scalars(query))


def exact_slot(doctor, starts_in: timedelta):
    """A slot starting at an exact moment (the factory rounds to the minute)."""
    from core.db import db
    from core.models import Slot

    start = datetime.now(timezone.utc) + starts_in
    slot = Slot(doctor_id=doctor.id, starts_at=start, ends_at=start + timedelta(minutes=20))
    db.session.add(slot)
    db.session.commit()
    return slot


def conclusion_document(consultation):
    import uuid

    from core.db import db
    from core.models import Document

    document = Document(
        consultation_id=consultation.id,
        filename="conclusion.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        storage_key=f"test/{uuid.uuid4().hex}",
        kind="conclusion",
    )
    db.session.add(document)
    db.session.flush()
    return document


def reason(code=None):
    from core.db import db
    from core.models import CompletionReason

    query = sa.select(CompletionReason).where(CompletionReason.active.is_(True)).order_by(CompletionReason.sort_order)
    if code:
        query = query.where(CompletionReason.code == code)
    return db.session.scalars(query).first()


def header(message, name: str) -> str:
    """A header as a mail client shows it (the standard parser puts a space between the
    adjacent encoded words of a long display name, which RFC 2047 says to ignore)."""
    from email.header import decode_header, make_header

    raw = next(value for key, value in message.raw_items() if key.lower() == name.lower())
    return str(make_header(decode_header(raw)))
