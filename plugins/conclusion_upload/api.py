"""«Завершить с загрузкой заключения» for medical information systems: ``POST
/api/v1/consultations/<id>/complete-with-conclusion`` (SPEC D9, F4)."""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, fields

from core import lifecycle, routeforms
from core.access import require
from core.api.schemas import ConsultationSchema
from core.api.base import consultation_or_404, operation
from core.db import db
from core.errors import InvalidInput, UserError
from core.models import Outcome
from core.routing import route_for
from plugins.conclusion_upload.views import store_scan

blueprint = Blueprint("conclusion_upload", __name__)

NOTE_MAX_LENGTH = 2000


class ConclusionUploadSchema(Schema):
    """The multipart form (documented; the file is checked by ``store_scan``)."""

    document = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "Скан заключения: PDF, JPEG или PNG"},
    )
    note = fields.String(metadata={"description": "Примечание к завершению (до 2000 символов)"})
    conclusion_data = fields.String(
        metadata={
            "description": "Поля заключения маршрута — JSON-объект строкой (схема маршрута: "
            "components/schemas/<код маршрута>Conclusion); ошибки — в fields.conclusion_data"
        }
    )


@blueprint.post("/consultations/<int:consultation_id>/complete-with-conclusion")
@operation(
    "Завершение с загрузкой заключения",
    action="consultation.complete",
    form=ConclusionUploadSchema,
    response=ConsultationSchema,
    errors=(401, 403, 404, 409, 413, 422),
    description="Скан подписанного вручную заключения, поле document формы multipart/form-data. Тип "
    "проверяется по содержимому (PDF, JPEG или PNG), размер — по CONCLUSION_UPLOAD_MAX_SIZE (ответ 422 с "
    "причиной; 413 — если весь запрос больше MAX_CONTENT_LENGTH); отклонённый файл не сохраняется. Заявка закрывается, чат становится только для чтения.",
)
def complete_with_conclusion(consultation_id: int):
    consultation = consultation_or_404(consultation_id)
    principal = require("consultation.complete", consultation)
    if request.mimetype != "multipart/form-data":
        raise UserError(_("Отправьте форму multipart/form-data с файлом в поле document"), status=415)
    # An already closed consultation is refused before the file is even read.
    lifecycle.check_transition(consultation, "complete")
    note = request.form.get("note") or None
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        message = _("Примечание не длиннее %(n)s символов", n=NOTE_MAX_LENGTH)
        raise InvalidInput(message, field_errors={"note": [message]})
    conclusion = routeforms.load_conclusion(route_for(consultation.type), _conclusion_data())
    document = store_scan(consultation, principal, request.files.get("document"))
    lifecycle.complete(
        consultation, Outcome.UPLOADED_CONCLUSION, principal, document=document, note=note, conclusion_data=conclusion
    )
    db.session.commit()
    return jsonify(ConsultationSchema().dump(consultation))


def _conclusion_data():
    raw = request.form.get("conclusion_data")
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        message = _("Поле conclusion_data должно быть JSON-объектом")
        raise InvalidInput(message, field_errors={"conclusion_data": [message]}) from None
