"""One row per notification: what is sent, to whom, when, and how far it got."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models import Consultation


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its time (``next_attempt_at``)
    SENDING = "sending"  # claimed by a worker until ``lease_until``
    SENT = "sent"
    FAILED = "failed"  # gave up: shown to the operator, who may send it again
    CANCELLED = "cancelled"  # no longer relevant (a reminder of a moved consultation)
    EXPIRED = "expired"  # its time passed before it could go out (a late reminder)
    SKIPPED = "skipped"  # the consultation's organisation has notifications switched off


class NotificationEvent(enum.StrEnum):
    REGISTERED = "registered"
    RESCHEDULED = "rescheduled"
    REMINDER = "reminder"
    CONCLUSION_READY = "conclusion_ready"
    COMPLETED_WITHOUT_CONCLUSION = "completed_without_conclusion"


class Notification(db.Model):
    __tablename__ = "notifications_messages"
    __table_args__ = (sa.Index("ix_notifications_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key: one row, hence one message, per key ("registered:42:email").
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    event: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[str] = mapped_column(sa.String(20))
    consultation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the sweep last handed the row to a task that has not claimed it yet; it is
    # handed over again only after NOTIFICATIONS_DISPATCH_LEASE_SECONDS.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The start of the consultation the message speaks of, as it was when rendered.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Not sent after this moment (a reminder once the consultation has begun).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(64))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultation: Mapped[Consultation | None] = relationship()

    def __str__(self) -> str:
        return self.key
