from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class Document(db.Model):
    """A stored file: attachment, conclusion scan, signed conclusion, signature, archive.

    The bytes live in the storage backend under ``storage_key``; the row is written in the
    same transaction as whatever the file belongs to, and only after validation.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="SET NULL"), index=True
    )
    # Who uploaded it: a staff user or a portal account.
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    owner_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("portal_accounts.id"))
    kind: Mapped[str] = mapped_column(sa.String(40), default="attachment")
    folder: Mapped[str] = mapped_column(sa.String(200), default="")
    filename: Mapped[str] = mapped_column(sa.String(300))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner_user = relationship("User")
