from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class ConsentVersion(db.Model):
    """A published version of the informed voluntary consent text (SPEC P2)."""

    __tablename__ = "consent_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentAcceptance(db.Model):
    __tablename__ = "consent_acceptances"
    __table_args__ = (sa.UniqueConstraint("account_id", "version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("portal_accounts.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_versions.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    version: Mapped[ConsentVersion] = relationship(lazy="joined")
