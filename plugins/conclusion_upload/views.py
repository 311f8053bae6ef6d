"""«Завершить с загрузкой заключения» → «Добавить документ» → «Далее» (seed 002 §7.3)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from core import audit, lifecycle, routeforms
from core.access import require
from core.documents import send_document
from core.db import db
from core.errors import InvalidInput
from core.models import Consultation, Document, Outcome
from core.routing import route_for
from core.storage import check_file, store_document

blueprint = Blueprint("conclusion_upload", __name__, url_prefix="/conclusion-upload", template_folder="templates")

# A scan is a PDF or a picture; the type is read from the content, never from the name.
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")


def _consultation(consultation_id: int, action: str) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        abort(404)
    require(action, consultation)
    return consultation


@blueprint.route("/<int:consultation_id>", methods=["GET", "POST"])
def upload(consultation_id: int):
    consultation = _consultation(consultation_id, "consultation.complete")
    principal = require("consultation.complete", consultation)
    if consultation.is_closed:
        flash(_("Заявка уже закрыта"), "error")
        return redirect(url_for("workplace.application", consultation_id=consultation.id))
    max_size = scan_max_size()
    error = None
    route = route_for(consultation.type)
    typed = routeforms.read_form(route.conclusion_schema, request.form, routeforms.CONCLUSION) if request.method == "POST" else {}
    field_errors: dict = {}
    if request.method == "POST":
        # Locked before the scan's row refers to the consultation: two uploads at once
        # would otherwise each hold a reference and wait for the other's lock.
        lifecycle.lock(consultation)
        try:
            # The conclusion's fields first: a refused form stores no file.
            conclusion = routeforms.load_conclusion(route, typed)
            document = store_scan(consultation, principal, request.files.get("document"))
        except InvalidInput as problem:
            db.session.rollback()  # removes nothing: nothing was written before the check
            error = str(problem.message)
            field_errors = routeforms.field_messages(problem, routeforms.CONCLUSION)
        else:
            lifecycle.complete(
                consultation, Outcome.UPLOADED_CONCLUSION, principal, document=document, conclusion_data=conclusion
            )
            db.session.commit()
            flash(_("Консультация завершена: заключение «%(name)s» загружено", name=document.filename), "success")
            return redirect(url_for("workplace.application", consultation_id=consultation.id))
    return (
        render_template(
            "conclusion_upload/upload.html",
            c=consultation,
            error=error,
            max_mb=round(max_size / 1024 / 1024, 1),
            conclusion_fields=routeforms.form_fields(route.conclusion_schema, typed, field_errors, routeforms.CONCLUSION),
        ),
        422 if error else 200,
    )


def scan_max_size() -> int:
    return min(current_app.config["CONCLUSION_UPLOAD_MAX_SIZE"], current_app.config["DOCUMENT_MAX_SIZE"])


def store_scan(consultation: Consultation, principal, upload: FileStorage | None) -> Document:
    """Check the uploaded scan (by content, size) and only then store it; the workplace
    page and the REST API share this, so both refuse the same files the same way."""
    if upload is None or not upload.filename:
        raise InvalidInput(_l("Добавьте документ: скан подписанного заключения (PDF, JPEG или PNG)"))
    max_size = scan_max_size()
    data = upload.read(max_size + 1)
    content_type = check_file(upload.filename, data, SCAN_TYPES, max_size=max_size)
    document = store_document(
        upload.filename,
        data,
        kind="conclusion_scan",
        consultation_id=consultation.id,
        # A machine client's upload has no staff owner: it is in no doctor's «Документы».
        owner_user_id=principal.id if principal.is_staff else None,
        folder="Заключение",
        content_type=content_type,
    )
    db.session.flush()
    audit.record(
        "document.uploaded",
        document,
        principal=principal,
        data={"kind": document.kind, "content_type": content_type, "size": document.size},
    )
    return document


@blueprint.route("/documents/<int:document_id>")
def download(document_id: int):
    """The conclusion scan, for whoever may view the consultation (the patient too)."""
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "conclusion_scan":
        abort(404)
    require("document.view", document)
    return send_document(document)
