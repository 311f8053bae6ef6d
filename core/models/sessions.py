from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class LoginSession(db.Model):
    """One login of a staff user or a patient (SPEC D1; OWASP ASVS 5.0 §7).

    The signed session cookie carries only ``id``; a request (or a Socket.IO event) is
    logged in while the row is not ended and neither the idle nor the absolute timeout
    has passed (``core.sessions``).
    """

    __tablename__ = "login_sessions"
    __table_args__ = (sa.Index("ix_login_sessions_account", "account_kind", "account_id"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_kind: Mapped[str] = mapped_column(sa.String(10))  # staff | patient
    account_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # logout | password | roles | locked | deactivated
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))
