"""Consultation types (the routes a consultation follows) and medical-care profiles."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db

consultation_type_profiles = sa.Table(
    "consultation_type_profiles",
    db.metadata,
    sa.Column("type_id", sa.ForeignKey("consultation_types.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("profile_id", sa.ForeignKey("medical_profiles.id", ondelete="CASCADE"), primary_key=True),
)


class MedicalProfile(db.Model):
    """An entry of the federal dictionary «Профили медицинской помощи»."""

    __tablename__ = "medical_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    # What a patient types to find the chat: «кардиолог», «терапевт», «педиатр».
    specialty: Mapped[str | None] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.name


class ConsultationType(db.Model):
    """A consultation type the wizard offers; ``route`` names the RouteSpec that drives it."""

    __tablename__ = "consultation_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    route: Mapped[str] = mapped_column(sa.String(100), default="default")
    for_representative: Mapped[bool] = mapped_column(default=False)
    # The «ВНИМАНИЕ!» note of seed 002 §4.1/§5.1 shown in the wizard's type step.
    attention_text: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=100)

    profiles: Mapped[list[MedicalProfile]] = relationship(
        secondary=consultation_type_profiles, lazy="selectin", order_by=MedicalProfile.name
    )

    def __str__(self) -> str:
        return self.name
