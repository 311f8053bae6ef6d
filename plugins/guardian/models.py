"""The link of a legal representative and the child they act for (SPEC D5).

The table keeps the name the core gave it (``guardianships``, created by the core's
migrations 0001, 0003 and 0007 before legal representatives became this plugin): moving
a table that holds live links into another Alembic branch would mean rewriting applied
revisions. New changes to it go into this plugin's own branch (``migrations/``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models import Patient


class Guardianship(db.Model):
    """A legal representative («законный представитель») and the child they act for (SPEC D5).

    A link grants access only with a basis the access policy can check: ESIA lists the
    child among the representative's children (``basis = "esia"``, re-read at every login),
    or an operator attached a document (``basis = "document"``). A link without a basis
    (from a registry import or the wizard) is a claim: it is shown to staff and grants
    nothing. A child of full age is never a ward, whatever the link says.
    """

    __tablename__ = "guardianships"
    __table_args__ = (sa.UniqueConstraint("representative_id", "child_id"),)

    ESIA = "esia"
    DOCUMENT = "document"
    BASES = (ESIA, DOCUMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    representative_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30), default="parent")  # parent | guardian
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the link stopped giving access (ESIA no longer lists the child, who came of age...).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the access policy checks: "esia", "document", or None (a claim, no access).
    basis: Mapped[str | None] = mapped_column(sa.String(20))
    # Where the link came from: import | wizard | esia | operator | demo.
    source: Mapped[str | None] = mapped_column(sa.String(20))
    # The document an operator attached as the basis, who did it and when.
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    representative: Mapped[Patient] = relationship(foreign_keys=[representative_id])
    child: Mapped[Patient] = relationship(foreign_keys=[child_id])

    @classmethod
    def in_force(cls) -> sa.ColumnElement[bool]:
        """The condition of a link that has not ended (with or without a basis)."""
        return cls.ended_at.is_(None)

    @classmethod
    def grants_access(cls) -> sa.ColumnElement[bool]:
        """The condition of a link that lets the representative act for the child (the
        child's age is checked beside it: ``plugins.guardian.links.wards``)."""
        return sa.and_(cls.ended_at.is_(None), cls.basis.in_(cls.BASES))

    @property
    def verified(self) -> bool:
        return self.basis in self.BASES
