"""The conclusion's versions, their PDFs, signatures and archives (SPEC D9, P6).

One path for every signature: ``accept_signature`` verifies it (``verify_detached``
with the server's trust context and the doctor's SNILS), records it, and only a valid
one forms the archive and, for a conclusion, completes the consultation through
``core.lifecycle`` with the signed-conclusion outcome.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from core import audit, lifecycle
from core.access import Principal
from core.db import db
from core.errors import Conflict, InvalidInput
from core.models import Consultation, Document, Outcome, User
from core.storage import storage, store_document
from core.tx import after_commit
from plugins.esignature import archive, conclusion_fields, devsigner, pdf, trust
from plugins.esignature.certs import Certificate, CertificateError, RevocationList
from plugins.esignature.models import Conclusion, DevelopmentKey, Signature
from plugins.esignature.verify import REVOCATION_UNKNOWN, VALID, Verdict, verify_detached

FOLDER = "Заключение"


def _local(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%d.%m.%Y")


def certificate_info(certificate: Certificate | None) -> dict:
    """The mark's lines (ГОСТ Р 7.0.97): certificate number, owner, validity."""
    if certificate is None:
        pending = str(_l("будет указан при подписании"))
        return {"serial": pending, "owner": pending, "not_before": "…", "not_after": "…"}
    return {
        "serial": certificate.serial_hex,
        "owner": certificate.owner,
        "not_before": _local(certificate.not_before),
        "not_after": _local(certificate.not_after),
    }


def latest(consultation: Consultation) -> Conclusion | None:
    return db.session.scalar(
        sa.select(Conclusion).where(Conclusion.consultation_id == consultation.id).order_by(Conclusion.version.desc()).limit(1)
    )


def _render(consultation: Consultation, conclusion: Conclusion, certificate: Certificate | None) -> bytes:
    now = datetime.now(timezone.utc)
    # The conclusion is the patient's document: in Russian whatever the doctor's screen shows.
    with force_locale("ru"):
        html = _html(consultation, conclusion, certificate, now)
    return pdf.render_pdf(html)


def _html(consultation, conclusion, certificate, now) -> str:
    return pdf.render_html(
        {
            "c": consultation,
            "organisation": consultation.organisation,
            "doctor": consultation.consultant,
            "items": conclusion_fields.items(consultation, conclusion.data),
            "version": conclusion.version,
            "issued_on": _local(conclusion.created_at or now),
            "consulted_on": _local(consultation.started_at or consultation.scheduled_at or now),
            "created_iso": (conclusion.created_at or now).replace(microsecond=0).isoformat(),
            "certificate": certificate_info(certificate),
            "test": conclusion.test,
        }
    )


def _replace_pdf(consultation: Consultation, conclusion: Conclusion, data: bytes, principal: Principal) -> Document:
    old = conclusion.pdf
    document = store_document(
        f"Заключение {consultation.number} (версия {conclusion.version}).pdf", data, kind="conclusion_pdf",
        consultation_id=consultation.id, owner_user_id=principal.id, folder=FOLDER, content_type="application/pdf",
    )
    db.session.flush()
    conclusion.pdf_document_id = document.id
    if old is not None:
        # A draft's earlier rendering was never signed: it is no medical document.
        key = old.storage_key
        db.session.delete(old)
        after_commit(lambda: storage().delete(key))
    audit.record(
        "esignature.pdf_rendered", conclusion, principal=principal, consultation_id=consultation.id,
        data={"version": conclusion.version, "document_id": document.id, "size": len(data), "test": conclusion.test},
    )
    return document


def start_conclusion(consultation: Consultation, principal: Principal, typed: dict) -> Conclusion:
    """«Далее»: validate the form (InvalidInput with field errors, nothing written),
    then a new version of the conclusion and its preview PDF."""
    if consultation.is_closed:
        raise Conflict(_l("Заявка уже закрыта"))
    data = conclusion_fields.load(consultation, typed)
    previous = latest(consultation)
    for row in db.session.scalars(
        sa.select(Conclusion).where(Conclusion.consultation_id == consultation.id, Conclusion.status == "draft")
    ):
        row.status = "superseded"
    conclusion = Conclusion(
        consultation_id=consultation.id, version=(previous.version + 1) if previous else 1, data=data,
        created_by_id=principal.id, created_at=datetime.now(timezone.utc), status="draft",
        test=trust.development_signer_on(),
    )
    db.session.add(conclusion)
    db.session.flush()
    _replace_pdf(consultation, conclusion, _render(consultation, conclusion, None), principal)
    return conclusion


def prepare_for_certificate(consultation: Consultation, conclusion: Conclusion, principal: Principal, certificate_der: bytes) -> Document:
    """The doctor chose a certificate: render the final PDF with its mark, the bytes to sign."""
    if conclusion.status != "draft":
        raise Conflict(_l("Эта версия заключения уже подписана или заменена новой"))
    try:
        certificate = Certificate.load(certificate_der)
    except CertificateError:
        raise InvalidInput(_l("Сертификат повреждён")) from None
    conclusion.certificate_thumbprint = certificate.thumbprint
    return _replace_pdf(consultation, conclusion, _render(consultation, conclusion, certificate), principal)


def read_document(document: Document) -> bytes:
    with storage().open(document.storage_key) as handle:
        return handle.read()


def _crl_for(verdict: Verdict) -> bytes | None:
    if verdict.signer is None:
        return None
    from plugins.esignature.models import RevocationListCache

    for der in db.session.scalars(sa.select(RevocationListCache.der).where(RevocationListCache.der.is_not(None))):
        try:
            candidate = RevocationList(der)
        except CertificateError:
            continue
        if candidate.issuer == verdict.signer.issuer:
            return der
    return None


def accept_signature(
    document: Document, principal: Principal, signature: bytes, *, conclusion: Conclusion | None = None,
    consultation: Consultation | None = None, test: bool = False,
) -> tuple[Verdict, Signature | None]:
    """Verify a detached signature of ``document`` by the doctor ``principal``.

    A refused one is audited with its reason and stored nowhere else; a valid one is
    stored with its archive, and a conclusion's completes the consultation."""
    audit.record(
        "esignature.signature_received", document, principal=principal,
        data={"size": len(signature), "conclusion_id": conclusion.id if conclusion else None, "test": test},
    )
    snils = trust.doctor_snils(principal.id)
    data = read_document(document)
    verdict = verify_detached(data, signature, trust.trust_context(), expected_snils=snils or "")
    if snils is None and verdict.code == "snils_mismatch":
        verdict.code = "doctor_without_snils"
    accepted = verdict.status == VALID or (
        verdict.status == REVOCATION_UNKNOWN and current_app.config["ESIGNATURE_ACCEPT_UNKNOWN_REVOCATION"]
    )
    if not accepted:
        audit.record(
            "esignature.signature_refused", document, principal=principal,
            data={"code": verdict.code, "reason": verdict.message, "status": verdict.status},
        )
        return verdict, None
    audit.record(
        "esignature.signature_verified", document, principal=principal,
        data={"status": verdict.status, "signer": verdict.signer.owner, "serial": verdict.signer.serial_hex,
              "revocation": verdict.revocation},
    )
    owner = consultation.consultant_id if consultation is not None else principal.id
    zip_bytes = archive.build(
        document_name=document.filename, document=data, signature=signature, verdict=verdict,
        crl=_crl_for(verdict), test=test,
        extra={"consultation": consultation.number if consultation else None,
               "conclusion_version": conclusion.version if conclusion else None},
    )
    stem = document.filename.rsplit(".", 1)[0]
    archive_document = store_document(
        f"{stem} — подписанный архив.zip", zip_bytes, kind="signed_archive",
        consultation_id=document.consultation_id, owner_user_id=owner, folder=document.folder or FOLDER,
        content_type="application/zip",
    )
    db.session.flush()
    row = Signature(
        document_id=document.id, conclusion_id=conclusion.id if conclusion else None, signer_user_id=principal.id,
        cms=signature, certificate=verdict.signer.der, status=verdict.status, code=verdict.code,
        verdict=verdict.as_dict(), test=test, archive_document_id=archive_document.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "esignature.archive_formed", archive_document, principal=principal,
        data={"signature_id": row.id, "document_id": document.id, "size": len(zip_bytes)},
    )
    if conclusion is not None and consultation is not None:
        conclusion.status = "signed"
        lifecycle.complete(
            consultation, Outcome.SIGNED_CONCLUSION, principal, document=document, conclusion_data=conclusion.data,
        )
    return verdict, row


def development_sign(document: Document, user: User) -> tuple[bytes, bool]:
    """Sign with the doctor's development certificate (server-side: its key is a test key)."""
    key = trust.development_certificate(user)
    return devsigner.sign_detached(read_document(document), key.private_key, key.certificate, key.paramset), True


def development_certificate_der(user: User) -> bytes:
    row: DevelopmentKey = trust.development_certificate(user)
    return row.certificate
