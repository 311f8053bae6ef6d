"""Doctors' schedule templates and the slots generated from them (SPEC D2 «Расписание», D3.6)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models.users import User


class ScheduleTemplate(db.Model):
    """Weekly working pattern of a consultant; times are local (the deployment's timezone)."""

    __tablename__ = "schedule_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # ISO weekdays, 1 = Monday.
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [1, 2, 3, 4, 5])
    start_time: Mapped[time]
    end_time: Mapped[time]
    slot_minutes: Mapped[int] = mapped_column(default=20)
    # [["13:00", "14:00"], ...]: no slots start inside a break.
    breaks: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    doctor: Mapped[User] = relationship()


class Slot(db.Model):
    """A bookable time of a consultant. Booked when a consultation references it."""

    __tablename__ = "slots"
    __table_args__ = (sa.UniqueConstraint("doctor_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("schedule_templates.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked: Mapped[bool] = mapped_column(default=False)

    doctor: Mapped[User] = relationship()
