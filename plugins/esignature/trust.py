"""What the server trusts: the active list of accredited centres, the development CA
(development only), and the cached CRLs; and the doctor's SNILS."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app

from core.db import db
from core.validators import generate_snils
from plugins.esignature import devsigner
from plugins.esignature.certs import Certificate, CertificateError, RevocationList
from plugins.esignature.models import DevelopmentKey, DoctorSigner, RevocationListCache, TrustList, TrustRoot
from plugins.esignature.verify import TrustContext


def development_signer_on(settings=None) -> bool:
    settings = settings if settings is not None else current_app.config
    return bool(settings.get("ESIGNATURE_DEVELOPMENT_SIGNER")) and settings.get("ENV") != "production"


def doctor_snils(user_id: int) -> str | None:
    row = db.session.scalar(sa.select(DoctorSigner).where(DoctorSigner.user_id == user_id))
    return row.snils if row else None


def development_ca() -> DevelopmentKey:
    """The development CA, made on first use with its first CRL."""
    ca = db.session.scalar(sa.select(DevelopmentKey).where(DevelopmentKey.kind == "ca"))
    if ca is None:
        key, der = devsigner.make_ca()
        ca = DevelopmentKey(kind="ca", paramset=devsigner.PARAMSET, private_key=key, certificate=der)
        db.session.add(ca)
        db.session.flush()
    refresh_development_crl(ca)
    return ca


def refresh_development_crl(ca: DevelopmentKey) -> None:
    row = db.session.scalar(sa.select(RevocationListCache).where(RevocationListCache.url == devsigner.CRL_SOURCE))
    now = datetime.now(timezone.utc)
    if row is not None and row.next_update and row.next_update.replace(tzinfo=timezone.utc) > now:
        return
    der = devsigner.make_crl(ca.private_key, ca.certificate)
    store_crl(devsigner.CRL_SOURCE, der)


def store_crl(url: str, der: bytes) -> RevocationListCache:
    parsed = RevocationList(der)
    row = db.session.scalar(sa.select(RevocationListCache).where(RevocationListCache.url == url))
    if row is None:
        row = RevocationListCache(url=url, issuer="")
        db.session.add(row)
    row.der = der
    row.issuer = parsed.issuer.human_friendly[:1000]
    row.this_update = parsed.this_update
    row.next_update = parsed.next_update
    row.fetched_at = datetime.now(timezone.utc)
    row.last_error = None
    return row


def development_certificate(user) -> DevelopmentKey:
    """The doctor's development certificate, made on first use with the doctor's SNILS
    (a demo doctor without one gets a valid demo SNILS, stored as theirs)."""
    ca = development_ca()
    row = db.session.scalar(sa.select(DevelopmentKey).where(DevelopmentKey.user_id == user.id))
    snils = doctor_snils(user.id)
    if snils is None:
        snils = generate_snils(random.Random(f"esignature-demo-{user.id}")).replace("-", "").replace(" ", "")
        db.session.add(DoctorSigner(user_id=user.id, snils=snils))
    if row is not None and Certificate(row.certificate).snils == snils:
        return row
    key, der = devsigner.make_doctor_certificate(
        ca.private_key, ca.certificate, last_name=user.last_name,
        first_names=" ".join(p for p in (user.first_name, user.middle_name) if p), snils=snils,
    )
    if row is None:
        row = DevelopmentKey(kind="doctor", user_id=user.id, paramset=devsigner.PARAMSET, private_key=key, certificate=der)
        db.session.add(row)
    else:
        row.private_key, row.certificate = key, der
    db.session.flush()
    return row


def trusted_roots() -> list[Certificate]:
    roots = []
    active = db.session.scalar(sa.select(TrustList).where(TrustList.active.is_(True)).order_by(TrustList.id.desc()).limit(1))
    if active is not None:
        for row in db.session.scalars(sa.select(TrustRoot).where(TrustRoot.trust_list_id == active.id)):
            try:
                roots.append(Certificate(row.der))
            except CertificateError:
                continue
    if development_signer_on():
        roots.append(Certificate(development_ca().certificate))
    return roots


def cached_crls() -> list[RevocationList]:
    out = []
    for der in db.session.scalars(sa.select(RevocationListCache.der).where(RevocationListCache.der.is_not(None))):
        try:
            out.append(RevocationList(der))
        except CertificateError:
            continue
    return out


def trust_context() -> TrustContext:
    return TrustContext(roots=trusted_roots(), crls=cached_crls())
