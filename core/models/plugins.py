from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class PluginState(db.Model):
    """The operator's on/off switch of a plugin, for the deployment or one organisation.

    A row with ``organisation_id`` NULL applies to the whole deployment; an organisation's
    row overrides it for that organisation's staff and patients.
    """

    __tablename__ = "plugin_states"
    __table_args__ = (
        sa.UniqueConstraint("plugin", "organisation_id"),
        # The constraint above lets any number of deployment rows through (NULLs are
        # distinct in a unique constraint): one per plugin is kept by this index.
        sa.Index(
            "uq_plugin_states_deployment",
            "plugin",
            unique=True,
            postgresql_where=sa.text("organisation_id IS NULL"),
            sqlite_where=sa.text("organisation_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(sa.String(100))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
