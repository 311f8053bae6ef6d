"""Half-filled «Подать заявку» wizards, kept on the server (SPEC D3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class WizardDraft(db.Model):
    """What a doctor chose and typed so far: ids, the e-mail, the comment.

    The session cookie is signed, not encrypted: it only carries this row's random id, so
    a patient's e-mail or the comment never travel in it. A draft belongs to one user,
    expires a day after its last change and is removed when the application is saved.
    """

    __tablename__ = "wizard_drafts"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
