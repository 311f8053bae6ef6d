"""Slots from schedule templates (SPEC D2 «Расписание», D3.6)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app

from core.db import db
from core.models import Consultation, ScheduleTemplate, Slot


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _in_break(start: time, breaks: list) -> bool:
    for begin, end in breaks or ():
        if time.fromisoformat(begin) <= start < time.fromisoformat(end):
            return True
    return False


def template_times(template: ScheduleTemplate, day: date, zone: ZoneInfo) -> list[datetime]:
    """Start times (aware, UTC) of the template's slots on ``day``."""
    if day.isoweekday() not in template.weekdays:
        return []
    if day < template.valid_from or (template.valid_until and day > template.valid_until):
        return []
    step = timedelta(minutes=template.slot_minutes)
    current = datetime.combine(day, template.start_time, zone)
    end = datetime.combine(day, template.end_time, zone)
    starts = []
    while current + step <= end:
        if not _in_break(current.timetz().replace(tzinfo=None), template.breaks):
            starts.append(current.astimezone(ZoneInfo("UTC")))
        current += step
    return starts


def generate_slots(template: ScheduleTemplate, first_day: date, days: int) -> int:
    """Create the template's missing slots for ``days`` days from ``first_day``."""
    zone = local_zone()
    step = timedelta(minutes=template.slot_minutes)
    last_day = first_day + timedelta(days=days)
    existing = set(
        db.session.scalars(
            sa.select(Slot.starts_at).where(
                Slot.doctor_id == template.doctor_id,
                Slot.starts_at >= datetime.combine(first_day, time(), zone),
                Slot.starts_at < datetime.combine(last_day + timedelta(days=1), time(), zone),
            )
        )
    )
    rows = []
    for offset in range(days):
        for start in template_times(template, first_day + timedelta(days=offset), zone):
            if start in existing:
                continue
            rows.append(dict(doctor_id=template.doctor_id, template_id=template.id, starts_at=start, ends_at=start + step))
    if not rows:
        return 0
    # A slot made meanwhile by a second click (or another worker) is skipped, not an error:
    # the unique (doctor, start) constraint decides, and RETURNING counts what was made.
    insert = _dialect_insert()(Slot).on_conflict_do_nothing(index_elements=["doctor_id", "starts_at"])
    return len(db.session.execute(insert.returning(Slot.id), rows).all())


def _dialect_insert():
    name = db.session.get_bind().dialect.name
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[name]


def free_slots(doctor_id: int, after: datetime, limit: int = 200) -> list[Slot]:
    # NOT EXISTS walks the unique index on consultations.slot_id per candidate slot; NOT IN
    # would read every booked slot of the region first.
    booked = sa.select(Consultation.id).where(Consultation.slot_id == Slot.id).exists()
    return list(
        db.session.scalars(
            sa.select(Slot)
            .where(
                Slot.doctor_id == doctor_id,
                Slot.starts_at > after,
                Slot.blocked.is_(False),
                ~booked,
            )
            .order_by(Slot.starts_at)
            .limit(limit)
        )
    )
