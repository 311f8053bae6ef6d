"""«Завершить с формированием заключения» (seed 002 §7.1) and «Подписать файл».

form → «Далее» (validated; nothing stored on error) → the signing window: the PDF the
doctor sees, the certificates (CryptoPro browser plug-in, or the development signer)
→ the final PDF with the certificate's mark → «Подписать файл» → verification → the
archive → «Далее» back to the card.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import require
from core.db import db
from core.errors import Conflict, InvalidInput
from core.models import Consultation, Document, User
from core.storage import storage
from plugins.esignature import conclusion_fields, service, trust
from plugins.esignature.certs import Certificate
from plugins.esignature.models import Conclusion, Signature

blueprint = Blueprint(
    "esignature", __name__, url_prefix="/esignature", template_folder="templates",
    static_folder="static", static_url_path="/static",
)

VENDOR_FILES = {"cadesplugin_api.js"}


def _consultation(consultation_id: int) -> tuple[Consultation, object]:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        abort(404)
    principal = require("esignature.sign_conclusion", consultation)
    return consultation, principal


def _conclusion(conclusion_id: int) -> tuple[Conclusion, Consultation, object]:
    conclusion = db.session.get(Conclusion, conclusion_id)
    if conclusion is None:
        abort(404)
    consultation, principal = _consultation(conclusion.consultation_id)
    return conclusion, consultation, principal


def _b64(name: str, *, limit: int) -> bytes:
    payload = request.get_json(silent=True) or {}
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_l("Нет подписи в запросе") if name == "signature" else _l("Нет сертификата в запросе"))
    if len(value) > limit * 4 // 3 + 8:
        raise InvalidInput(_l("Файл подписи слишком велик"))
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_l("Подпись должна быть передана в кодировке Base64")) from None


def _document_id() -> int:
    value = (request.get_json(silent=True) or {}).get("document_id")
    if not isinstance(value, int):
        raise InvalidInput(_l("Не указан подписываемый документ"))
    return value


@blueprint.route("/consultations/<int:consultation_id>/conclusion", methods=["GET", "POST"])
def conclusion_form(consultation_id: int):
    consultation, principal = _consultation(consultation_id)
    if consultation.is_closed:
        return redirect(url_for("workplace.application", consultation_id=consultation.id))
    previous = service.latest(consultation)
    values = dict(previous.data) if previous else {}
    errors: dict = {}
    error = None
    if request.method == "POST":
        values = conclusion_fields.read_form(consultation, request.form)
        try:
            conclusion = service.start_conclusion(consultation, principal, values)
        except InvalidInput as problem:
            db.session.rollback()
            error = str(problem.message)
            errors = conclusion_fields.field_errors(problem)
        else:
            db.session.commit()
            return redirect(url_for("esignature.signing", conclusion_id=conclusion.id))
    return (
        render_template(
            "esignature/conclusion_form.html", c=consultation,
            fields=conclusion_fields.form_fields(consultation, values, errors), error=error,
        ),
        422 if error else 200,
    )


def _development_certificates(user: User) -> list[dict]:
    if not trust.development_signer_on():
        return []
    certificate = Certificate(service.development_certificate_der(user))
    return [{
        "id": "development",
        "owner": certificate.owner,
        "issuer": certificate.issuer_text,
        "serial": certificate.serial_hex,
        "not_after": certificate.not_after.strftime("%d.%m.%Y"),
        "test": True,
    }]


@blueprint.route("/conclusions/<int:conclusion_id>/sign")
def signing(conclusion_id: int):
    conclusion, consultation, principal = _conclusion(conclusion_id)
    if conclusion.status == "signed":
        return redirect(url_for("workplace.application", consultation_id=consultation.id))
    user = db.session.get(User, principal.id)
    development = _development_certificates(user)
    db.session.commit()  # the development certificate, made on first use
    return render_template(
        "esignature/signing.html", c=consultation, conclusion=conclusion, development=development,
        pdf_url=url_for("esignature.view_pdf", document_id=conclusion.pdf_document_id),
        prepare_url=url_for("esignature.prepare", conclusion_id=conclusion.id),
        sign_url=url_for("esignature.sign_conclusion", conclusion_id=conclusion.id),
        done_url=url_for("workplace.application", consultation_id=consultation.id),
        items=conclusion_fields.items(consultation, conclusion.data),
    )


@blueprint.route("/conclusions/<int:conclusion_id>/prepare", methods=["POST"])
def prepare(conclusion_id: int):
    """The chosen certificate's mark into the PDF; answers the bytes' address."""
    conclusion, consultation, principal = _conclusion(conclusion_id)
    payload = request.get_json(silent=True) or {}
    if payload.get("development"):
        if not trust.development_signer_on():
            raise InvalidInput(_l("Тестовая подпись выключена"))
        der = service.development_certificate_der(db.session.get(User, principal.id))
    else:
        der = _b64("certificate", limit=64 * 1024)
    document = service.prepare_for_certificate(consultation, conclusion, principal, der)
    db.session.commit()
    return jsonify({
        "document_id": document.id,
        "pdf_url": url_for("esignature.view_pdf", document_id=document.id),
        "sha256": document.sha256,
    })


def _signature_payload(document: Document, user: User) -> tuple[bytes, bool]:
    payload = request.get_json(silent=True) or {}
    if payload.get("development"):
        if not trust.development_signer_on():
            raise InvalidInput(_l("Тестовая подпись выключена"))
        return service.development_sign(document, user)
    return _b64("signature", limit=current_app.config["ESIGNATURE_MAX_SIGNATURE_SIZE"]), False


def _verdict_response(verdict, row):
    if row is None:
        db.session.commit()  # the audit of the refusal
        return jsonify({"ok": False, "status": verdict.status, "code": verdict.code, "message": verdict.message}), 422
    db.session.commit()
    return jsonify({
        "ok": True, "status": verdict.status, "message": verdict.message,
        "signer": verdict.signer.owner, "serial": verdict.signer.serial_hex,
        "archive_url": url_for("esignature.download_archive", document_id=row.archive_document_id),
    })


@blueprint.route("/conclusions/<int:conclusion_id>/signature", methods=["POST"])
def sign_conclusion(conclusion_id: int):
    conclusion, consultation, principal = _conclusion(conclusion_id)
    if consultation.is_closed or conclusion.status != "draft":
        raise Conflict(_l("Эта версия заключения уже подписана или заменена новой"))
    if _document_id() != conclusion.pdf_document_id or conclusion.certificate_thumbprint is None:
        raise Conflict(_l("Документ изменился: выберите сертификат ещё раз и подпишите новую версию"))
    signature, test = _signature_payload(conclusion.pdf, db.session.get(User, principal.id))
    verdict, row = service.accept_signature(
        conclusion.pdf, principal, signature, conclusion=conclusion, consultation=consultation, test=test,
    )
    return _verdict_response(verdict, row)


# --------------------------------------------------------------------------- any file


def _own_document(document_id: int) -> tuple[Document, object]:
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    return document, require("esignature.sign_document", document)


@blueprint.route("/documents/<int:document_id>/sign")
def document_signing(document_id: int):
    document, principal = _own_document(document_id)
    development = _development_certificates(db.session.get(User, principal.id))
    db.session.commit()
    signatures = list(db.session.scalars(sa.select(Signature).where(Signature.document_id == document.id).order_by(Signature.id.desc())))
    return render_template(
        "esignature/sign_document.html", document=document, development=development, signatures=signatures,
        content_url=url_for("esignature.document_content", document_id=document.id),
        sign_url=url_for("esignature.sign_document", document_id=document.id),
        done_url=url_for("workplace.documents"),
    )


@blueprint.route("/documents/<int:document_id>/content")
def document_content(document_id: int):
    document, _principal = _own_document(document_id)
    return send_file(storage().open(document.storage_key), mimetype="application/octet-stream", max_age=0)


@blueprint.route("/documents/<int:document_id>/signature", methods=["POST"])
def sign_document(document_id: int):
    document, principal = _own_document(document_id)
    signature, test = _signature_payload(document, db.session.get(User, principal.id))
    verdict, row = service.accept_signature(document, principal, signature, test=test)
    return _verdict_response(verdict, row)


# --------------------------------------------------------------------------- files


@blueprint.route("/pdf/<int:document_id>")
def view_pdf(document_id: int):
    """A conclusion PDF shown inline (the preview, and the patient's view)."""
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "conclusion_pdf":
        abort(404)
    require("document.view", document)
    return send_file(
        storage().open(document.storage_key), mimetype="application/pdf", as_attachment=request.args.get("download") == "1",
        download_name=document.filename, max_age=0,
    )


@blueprint.route("/archives/<int:document_id>")
def download_archive(document_id: int):
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "signed_archive":
        abort(404)
    require("document.view", document)
    audit.record("esignature.archive_downloaded", document)
    db.session.commit()
    return send_file(
        storage().open(document.storage_key), mimetype="application/zip", as_attachment=True,
        download_name=document.filename, max_age=0,
    )


@blueprint.route("/vendor/<path:filename>")
def vendor(filename: str):
    """CryptoPro's cadesplugin_api.js from node_modules (npm package cadesplugin_api.js)."""
    if filename not in VENDOR_FILES:
        abort(404)
    folder = Path(current_app.config["ESIGNATURE_NODE_MODULES"]) / "cadesplugin_api.js" / "dist"
    return send_from_directory(folder, filename, max_age=3600)
