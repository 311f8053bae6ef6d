"""The signed conclusion for medical information systems (SPEC F4, D9):
``GET /api/v1/consultations/<id>/signed-conclusion`` and its PDF and archive."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, send_file
from marshmallow import Schema, fields

from core import audit
from core.access import require
from core.api.base import consultation_or_404, operation
from core.db import db
from core.models import Outcome
from core.storage import storage
from plugins.esignature.models import Conclusion, Signature

blueprint = Blueprint("esignature", __name__)


class SignedConclusionSchema(Schema):
    consultation_id = fields.Integer()
    version = fields.Integer()
    data = fields.Dict(metadata={"description": "Поля заключения по схеме маршрута"})
    test = fields.Boolean(metadata={"description": "Подписано тестовой подписью (режим разработки)"})
    pdf_document_id = fields.Integer()
    archive_document_id = fields.Integer()
    verdict = fields.Dict(metadata={"description": "Результат проверки подписи на сервере"})


def _signed(consultation_id: int) -> tuple[Conclusion, Signature]:
    consultation = consultation_or_404(consultation_id)
    require("consultation.view", consultation)
    if consultation.outcome != Outcome.SIGNED_CONCLUSION:
        abort(404)
    row = db.session.execute(
        sa.select(Conclusion, Signature)
        .join(Signature, Signature.conclusion_id == Conclusion.id)
        .where(Conclusion.consultation_id == consultation.id, Conclusion.status == "signed")
        .order_by(Conclusion.version.desc()).limit(1)
    ).first()
    if row is None:
        abort(404)
    return row[0], row[1]


@blueprint.get("/consultations/<int:consultation_id>/signed-conclusion")
@operation("Подписанное заключение", action="consultation.view", response=SignedConclusionSchema, errors=(401, 403, 404))
def signed_conclusion(consultation_id: int):
    conclusion, signature = _signed(consultation_id)
    return jsonify(SignedConclusionSchema().dump({
        "consultation_id": conclusion.consultation_id, "version": conclusion.version, "data": conclusion.data,
        "test": conclusion.test, "pdf_document_id": conclusion.pdf_document_id,
        "archive_document_id": signature.archive_document_id, "verdict": signature.verdict,
    }))


def _send(document, mimetype: str):
    audit.record("esignature.archive_downloaded" if mimetype == "application/zip" else "document.downloaded", document)
    db.session.commit()
    return send_file(storage().open(document.storage_key), mimetype=mimetype, as_attachment=True,
                     download_name=document.filename, max_age=0)


@blueprint.get("/consultations/<int:consultation_id>/signed-conclusion/pdf")
@operation("PDF подписанного заключения", action="consultation.view", file_types=("application/pdf",), errors=(401, 403, 404))
def signed_conclusion_pdf(consultation_id: int):
    conclusion, _signature = _signed(consultation_id)
    return _send(conclusion.pdf, "application/pdf")


@blueprint.get("/consultations/<int:consultation_id>/signed-conclusion/archive")
@operation(
    "Архив подписанного заключения", action="consultation.view", file_types=("application/zip",), errors=(401, 403, 404),
    description="ZIP: PDF заключения, отсоединённая подпись CAdES-BES (.sig, DER), сертификат подписанта (.cer), "
    "цепочка, список отзыва и опись manifest.json с хэшами и результатом проверки.",
)
def signed_conclusion_archive(consultation_id: int):
    _conclusion, signature = _signed(consultation_id)
    return _send(signature.archive, "application/zip")
