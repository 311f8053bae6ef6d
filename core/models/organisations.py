from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class Organisation(db.Model):
    """A medical organisation (a polyclinic, a hospital) of the region."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    short_name: Mapped[str] = mapped_column(sa.String(200))
    # OID in the federal register of medical organisations (ФРМО).
    oid: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    address: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.short_name
