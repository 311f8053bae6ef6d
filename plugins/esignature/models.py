"""Tables of the e-signature plugin (prefix ``esignature_``).

A signed medical document is kept with its signature (Приказ Минздрава 947н): the
conclusion is never edited, a new «Далее» makes a new version; a signature row holds
the detached CMS, the signer's certificate and the verdict it got, and points to the
archive (zip) that carries all of them together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.models import Document


class TrustList(db.Model):
    """One imported version of the list of accredited certification centres."""

    __tablename__ = "esignature_trust_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(50))  # the list's own version number
    source_name: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    centre_count: Mapped[int] = mapped_column(default=0)
    certificate_count: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=False)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roots: Mapped[list[TrustRoot]] = relationship(back_populates="trust_list", cascade="all, delete-orphan")


class TrustRoot(db.Model):
    """A certificate of an accredited centre, from a trust list version."""

    __tablename__ = "esignature_trust_roots"

    id: Mapped[int] = mapped_column(primary_key=True)
    trust_list_id: Mapped[int] = mapped_column(sa.ForeignKey("esignature_trust_lists.id", ondelete="CASCADE"), index=True)
    centre_name: Mapped[str] = mapped_column(sa.String(500))
    ogrn: Mapped[str | None] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(1000))
    thumbprint: Mapped[str] = mapped_column(sa.String(40), index=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    der: Mapped[bytes] = mapped_column(sa.LargeBinary)

    trust_list: Mapped[TrustList] = relationship(back_populates="roots")


class RevocationListCache(db.Model):
    """The last CRL fetched from one distribution point (or made by the development CA)."""

    __tablename__ = "esignature_crls"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(1000), unique=True)
    issuer: Mapped[str] = mapped_column(sa.String(1000))
    this_update: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_update: Mapped[datetime | None] = mapped_column(UTCDateTime)
    der: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))


class DoctorSigner(db.Model):
    """A doctor's SNILS, entered by the operator: the certificate must carry it."""

    __tablename__ = "esignature_doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    snils: Mapped[str] = mapped_column(sa.String(11))

    user = relationship("User")


class DevelopmentKey(db.Model):
    """Keys of the development signer: its CA and one certificate per doctor.

    Development and testing only (production refuses to start with the signer on);
    the private keys are test keys of a test CA that nothing outside trusts.
    """

    __tablename__ = "esignature_dev_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # ca | doctor
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    paramset: Mapped[str] = mapped_column(sa.String(40))
    private_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    certificate: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conclusion(db.Model):
    """One version of a consultation's conclusion and the PDF rendered from it."""

    __tablename__ = "esignature_conclusions"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    certificate_thumbprint: Mapped[str | None] = mapped_column(sa.String(40))
    test: Mapped[bool] = mapped_column(default=False)  # rendered for the development signer
    pdf_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")  # draft | signed | superseded
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pdf: Mapped[Document | None] = relationship(foreign_keys=[pdf_document_id])


class Signature(db.Model):
    """A detached signature received for a document, with the verdict it got."""

    __tablename__ = "esignature_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id"), index=True)
    conclusion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("esignature_conclusions.id"))
    signer_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cms: Mapped[bytes] = mapped_column(sa.LargeBinary)
    certificate: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(30))  # valid | revocation_unknown | invalid
    code: Mapped[str] = mapped_column(sa.String(40))
    verdict: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    test: Mapped[bool] = mapped_column(default=False)
    archive_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    document: Mapped[Document] = relationship(foreign_keys=[document_id])
    archive: Mapped[Document | None] = relationship(foreign_keys=[archive_document_id])
