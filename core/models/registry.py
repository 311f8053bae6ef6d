"""The regional patient registry, portal accounts and the deferred-record journal."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_login import UserMixin

from core.db import UTCDateTime, db, utcnow


def normalize_name(value: str | None) -> str:
    """Case- and «ё»-insensitive form used for search."""
    return (value or "").strip().lower().replace("ё", "е")


class PortalAccount(UserMixin, db.Model):
    """A person who logged in to the patient portal through an identity provider's
    plugin (SPEC P1): the built-in one is ESIA's."""

    __tablename__ = "portal_accounts"
    __table_args__ = (sa.UniqueConstraint("identity_provider", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The plugin that linked the account ("esia") and the person's id at its provider.
    identity_provider: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str] = mapped_column(sa.String(100))
    # «Упрощённая» / «Стандартная» / «Подтверждённая»: simplified, standard, confirmed.
    trust_level: Mapped[str] = mapped_column(sa.String(20))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    birth_date: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient | None] = relationship(back_populates="portal_account", uselist=False)

    def get_id(self) -> str:
        return f"patient:{self.id}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


class Patient(db.Model):
    """A person in the regional registry (ГИС РЕГИЗ), pushed by medical information systems."""

    __tablename__ = "patients"
    __table_args__ = (
        # Surname search is a prefix range on last_name_norm, ordered by surname, name, id:
        # this one index answers both the range and the order (SPEC D3.3, bench/README.md).
        sa.Index("ix_patients_surname_order", "last_name_norm", "first_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    # Byte order ("C") on PostgreSQL, as SQLite's BINARY: a prefix is then an index range
    # whatever the server's locale, and the list order is the same on both databases.
    last_name_norm: Mapped[str] = mapped_column(
        sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")
    )
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(sa.String(10))  # male | female
    snils: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    oms_policy: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    passport: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    # The organisation the patient is attached to by the OMS policy («прикреплён»).
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    portal_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("portal_accounts.id"), unique=True
    )
    source: Mapped[str | None] = mapped_column(sa.String(100))  # the MIS that pushed the record
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    portal_account: Mapped[PortalAccount | None] = relationship(back_populates="patient")

    @sa.orm.validates("last_name")
    def _keep_norm(self, key, value):
        self.last_name_norm = normalize_name(value)
        return value

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    def __str__(self) -> str:
        return self.full_name


class RecordRequest(db.Model):
    """A request left in the organisation's deferred-record journal (SPEC P7)."""

    __tablename__ = "record_requests"

    NEW = "new"
    REGISTERED = "registered"
    REJECTED = "rejected"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("portal_accounts.id"), index=True)
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    birth_date: Mapped[date]
    oms_policy: Mapped[str] = mapped_column(sa.String(16))
    phone: Mapped[str] = mapped_column(sa.String(50))
    email: Mapped[str] = mapped_column(sa.String(200))
    child_last_name: Mapped[str | None] = mapped_column(sa.String(100))
    child_first_name: Mapped[str | None] = mapped_column(sa.String(100))
    child_middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    child_birth_date: Mapped[date | None]
    child_oms_policy: Mapped[str | None] = mapped_column(sa.String(16))
    profile_id: Mapped[int | None] = mapped_column(sa.ForeignKey("medical_profiles.id"))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default=NEW, index=True)
    consultation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("consultations.id"))
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why staff turned the request down, shown to the patient («Отклонена»).
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def for_child(self) -> bool:
        return bool(self.child_last_name)
