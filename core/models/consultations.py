"""Consultations («заявки»), their participants and the completion reasons dictionary."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models.organisations import Organisation
from core.models.registry import Patient
from core.models.routes import ConsultationType, MedicalProfile
from core.models.schedule import Slot
from core.models.users import User


class ConsultationStatus(enum.StrEnum):
    CREATED = "created"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    SIGNED_CONCLUSION = "signed_conclusion"
    UPLOADED_CONCLUSION = "uploaded_conclusion"
    NO_CONCLUSION = "no_conclusion"


class ParticipantRole(enum.StrEnum):
    """The core's participant roles (the guardian plugin adds ``representative``,
    ``core.routing.REPRESENTATIVE_ROLE``). Plugins register more through the hook
    ``teleconsult_register_participant_roles`` (``core.participant_roles``), so a
    participant's ``role`` is any registered code, not only these."""

    AUTHOR = "author"
    CONSULTANT = "consultant"
    PATIENT = "patient"
    OBSERVER = "observer"


class CompletionReason(db.Model):
    """Why a consultation was closed without a conclusion (dictionary of the console)."""

    __tablename__ = "completion_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=100)

    def __str__(self) -> str:
        return self.name


class Consultation(db.Model):
    """An application for a remote consultation and its whole life (SPEC D3, D9)."""

    __tablename__ = "consultations"
    __table_args__ = (
        sa.Index("ix_consultations_consultant_status", "consultant_id", "status", "scheduled_at"),
        sa.Index("ix_consultations_author_status", "author_id", "status", "scheduled_at"),
        # «Входящие» / «Исходящие» without the lock: only open consultations, a few hundred
        # of a busy doctor's thousands (bench/README.md).
        sa.Index(
            "ix_consultations_open_by_consultant",
            "consultant_id",
            "scheduled_at",
            "id",
            postgresql_where=sa.text("status != 'closed'"),
            sqlite_where=sa.text("status != 'closed'"),
        ),
        sa.Index(
            "ix_consultations_open_by_author",
            "author_id",
            "scheduled_at",
            "id",
            postgresql_where=sa.text("status != 'closed'"),
            sqlite_where=sa.text("status != 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(sa.ForeignKey("consultation_types.id"))
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("medical_profiles.id"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # The person the consultation is about; for a representative's consultation, the child.
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    # The legal representative who takes part for the child (SPEC D5), if any.
    representative_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    consultant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # Unique: a slot is never booked twice, whatever the concurrency (SPEC D3.6).
    slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("slots.id"), unique=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email: Mapped[str] = mapped_column(sa.String(200))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    # Extra application fields of the route, validated by its marshmallow schema.
    route_data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    conclusion_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(20), default=ConsultationStatus.CREATED, index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(30))
    outcome_reason_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completion_reasons.id"))
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)
    conclusion_document_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("documents.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: two doctors completing at once cannot both win.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    type: Mapped[ConsultationType] = relationship(lazy="joined")
    profile: Mapped[MedicalProfile] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship()
    patient: Mapped[Patient] = relationship(foreign_keys=[patient_id], lazy="joined")
    representative: Mapped[Patient | None] = relationship(foreign_keys=[representative_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    consultant: Mapped[User] = relationship(foreign_keys=[consultant_id], lazy="joined")
    slot: Mapped[Slot | None] = relationship()
    outcome_reason: Mapped[CompletionReason | None] = relationship()
    participants: Mapped[list[Participant]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan", order_by="Participant.id"
    )

    @property
    def is_closed(self) -> bool:
        return self.status == ConsultationStatus.CLOSED

    @property
    def number(self) -> str:
        return f"ТМК-{self.id:06d}"

    @property
    def title(self) -> str:
        """What the patient sees in «Чат с врачом»: the type and the consultant's specialty."""
        specialty = self.consultant.specialty or self.profile.specialty or self.profile.name
        return f"{self.type.name}: {specialty}"

    @property
    def portal_patient(self) -> Patient:
        """Whose portal account holds the chat: the representative's, else the patient's."""
        return self.representative or self.patient


class Participant(db.Model):
    """Someone who takes part: a staff user or a registry person (patient, representative)."""

    __tablename__ = "consultation_participants"
    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "user_id", "patient_id", "role"),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (patient_id IS NULL)", name="exactly_one_person"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(30))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultation: Mapped[Consultation] = relationship(back_populates="participants")
    user: Mapped[User | None] = relationship()
    patient: Mapped[Patient | None] = relationship()

    @property
    def display_name(self) -> str:
        return (self.user or self.patient).full_name
