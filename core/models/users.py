from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from flask_login import UserMixin

from core.db import UTCDateTime, db, utcnow
from core.models.organisations import Organisation

user_roles = sa.Table(
    "user_roles",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model):
    """A staff role: ``doctor``, ``operator`` (runs the deployment), ``registrar``."""

    __tablename__ = "roles"

    DOCTOR = "doctor"
    OPERATOR = "operator"
    REGISTRAR = "registrar"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    """A staff account of the workplace (doctor, registrar) or the admin console (operator)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    position: Mapped[str | None] = mapped_column(sa.String(200))  # «врач-кардиолог»
    specialty: Mapped[str | None] = mapped_column(sa.String(100))  # «кардиолог»
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")

    def get_id(self) -> str:
        return f"staff:{self.id}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, code: str) -> bool:
        return any(role.code == code for role in self.roles)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def short_name(self) -> str:
        initials = "".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def __str__(self) -> str:
        return self.full_name


class ApiToken(db.Model):
    """A bearer token of a machine client (a medical information system)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    # Space-separated scopes: "registry:read registry:write consultations:read ..."
    scopes: Mapped[str] = mapped_column(sa.String(500), default="")
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        # Tokens are long random strings: a plain digest is enough and keeps lookup O(1).
        return hashlib.sha256(token.encode()).hexdigest()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class FaqEntry(db.Model):
    """An entry of «Помощь» (SPEC D2), managed by the operator."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(20), default="doctor")  # doctor | patient
    question: Mapped[str] = mapped_column(sa.String(500))
    answer: Mapped[str] = mapped_column(sa.Text)
    sort_order: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=True)
