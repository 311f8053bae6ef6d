"""Slots from schedule templates (SPEC D2 «Расписание», D3.6)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app

from core.db import db, utcnow
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


def generate_slots(template: ScheduleTemplate, first_day: date, days: int, after: datetime | None = None) -> int:
    """Create the template's missing slots for ``days`` days from ``first_day`` (starting
    later than ``after`` if given); a time already covered by another slot is skipped."""
    zone = local_zone()
    step = timedelta(minutes=template.slot_minutes)
    last_day = first_day + timedelta(days=days)
    existing = db.session.execute(
        sa.select(Slot.starts_at, Slot.ends_at)
        .where(
            Slot.doctor_id == template.doctor_id,
            # A day earlier: a long slot of the evening before may reach into the window.
            Slot.starts_at >= datetime.combine(first_day - timedelta(days=1), time(), zone),
            Slot.starts_at < datetime.combine(last_day + timedelta(days=1), time(), zone),
        )
        .order_by(Slot.starts_at)
    ).all()
    starts = [row.starts_at for row in existing]
    rows = []
    for offset in range(days):
        for start in template_times(template, first_day + timedelta(days=offset), zone):
            if after is not None and start <= after:
                continue
            # A kept (booked) slot of an older pattern may cover the time partly.
            before = bisect.bisect_left(starts, start + step)
            if before and existing[before - 1].ends_at > start:
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


def _booked():
    # NOT EXISTS walks the unique index on consultations.slot_id per candidate slot; NOT IN
    # would read every booked slot of the region first.
    return sa.select(Consultation.id).where(Consultation.slot_id == Slot.id).exists()


def free_slots(doctor_id: int, after: datetime, limit: int = 200, before: datetime | None = None) -> list[Slot]:
    booked = _booked()
    return list(
        db.session.scalars(
            sa.select(Slot)
            .where(
                Slot.doctor_id == doctor_id,
                Slot.starts_at > after,
                Slot.starts_at < before if before is not None else sa.true(),
                Slot.blocked.is_(False),
                ~booked,
            )
            .order_by(Slot.starts_at)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class SlotSync:
    removed: int  # future free slots the edited template no longer has
    created: int  # slots it has now and did not before
    kept_booked: int  # booked slots outside the new pattern, left as they are


def sync_future_slots(template: ScheduleTemplate) -> SlotSync:
    """After an edit: the template's future free slots that it no longer produces (days,
    hours, length, switched off) are removed, and its new times are created up to the
    furthest day it had slots for. Booked slots are never touched; past ones neither."""
    zone = local_zone()
    now = utcnow()
    step = timedelta(minutes=template.slot_minutes)
    rows = db.session.execute(
        sa.select(Slot, _booked().label("booked"))
        .where(Slot.template_id == template.id, Slot.starts_at > now)
        .order_by(Slot.starts_at)
    ).all()
    wanted: dict[date, set[datetime]] = {}
    removed = kept_booked = 0
    horizon: date | None = None
    for slot, booked in rows:
        day = slot.starts_at.astimezone(zone).date()
        horizon = day
        if day not in wanted:
            wanted[day] = set(template_times(template, day, zone)) if template.active else set()
        if slot.starts_at in wanted[day] and slot.ends_at - slot.starts_at == step:
            continue
        if booked:
            kept_booked += 1
        else:
            db.session.delete(slot)
            removed += 1
    db.session.flush()
    created = 0
    if template.active and horizon is not None:
        today = now.astimezone(zone).date()
        created = generate_slots(template, today, (horizon - today).days + 1, after=now)
    return SlotSync(removed, created, kept_booked)


def overlapping_template(template: ScheduleTemplate) -> ScheduleTemplate | None:
    """Another active template of the same doctor sharing a weekday and hours within a
    common period: the two would offer the same time twice."""
    if not template.active:
        return None
    query = sa.select(ScheduleTemplate).where(
        ScheduleTemplate.doctor_id == template.doctor_id, ScheduleTemplate.active.is_(True)
    )
    if template.id is not None:
        query = query.where(ScheduleTemplate.id != template.id)
    for other in db.session.scalars(query.order_by(ScheduleTemplate.id)):
        if not set(other.weekdays) & set(template.weekdays):
            continue
        if other.start_time >= template.end_time or template.start_time >= other.end_time:
            continue
        if other.valid_from > (template.valid_until or date.max) or template.valid_from > (other.valid_until or date.max):
            continue
        return other
    return None


def set_slot_closed(slot: Slot, closed: bool) -> bool:
    """Close a free future slot to booking, or open it again; False if it is booked.

    One conditional UPDATE, so a booking that commits first wins and the slot is not closed
    under it."""
    result = db.session.execute(
        sa.update(Slot).where(Slot.id == slot.id, ~_booked()).values(blocked=closed).execution_options(synchronize_session=False)
    )
    db.session.refresh(slot)
    return result.rowcount == 1
