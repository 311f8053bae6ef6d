"""Pages of the video plugin: the call window, its «Файлы», the browser libraries (SPEC D8, P5).

Every view asks ``core.access``; the Socket.IO namespace uses the same rules.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, jsonify, render_template, request, send_file, send_from_directory,
                   url_for)
from flask_babel import lazy_gettext as _l
from flask_login import user_logged_out

from core import audit
from core.access import current_principal, require
from core.db import db
from core.errors import Conflict, InvalidInput
from core.models import Document
from core.storage import storage, store_document
from plugins.video import calls, connections, precheck, rooms

blueprint = Blueprint("video", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/video/static")
user_logged_out.connect(connections.on_logout)

# Browser packages installed from the npm registry by `npm ci`: {served name: path in node_modules}.
VENDOR_FILES = {
    "adapter.js": ("webrtc-adapter", "out", "adapter.js"),
    "socket.io.min.js": ("socket.io-client", "dist", "socket.io.min.js"),
    "janus.es.js": ("janus-gateway", "npm", "dist", "janus.es.js"),
}

# «Файлы» folders: documents of the consultation by where they came from.
FOLDERS = {
    "chat": _l("Вложения чата"),
    "conclusion": _l("Заключения"),
    "video": _l("Загружено в ВКС"),
    "other": _l("Документы заявки"),
}


def _layout(principal) -> str:
    return "workplace/layout.html" if principal.is_staff else "portal/layout.html"


@blueprint.route("/video/<int:consultation_id>")
def room(consultation_id: int):
    """The call window (Socket.IO joins the room from it)."""
    principal = current_principal()
    consultation = calls.consultation_for(consultation_id, principal)
    # The doctor sees the patient's last «Проверка связи» before and while calling.
    found = precheck.latest_of_patient(consultation) if principal.is_staff else None
    return render_template("video/room.html", layout=_layout(principal), consultation=consultation,
                           ring=request.args.get("ring") == "1", room_assets=rooms.room_assets(),
                           patient_check=precheck.for_doctor(found) if found else None,
                           patient_check_ok=found is not None and found.cause == precheck.OK,
                           check_url=rooms.check_url(consultation.id),
                           chat_url=url_for("chat.window", consultation_id=consultation.id)
                           if "chat.window" in current_app.view_functions else None,
                           max_size_mb=round(current_app.config["DOCUMENT_MAX_SIZE"] / 1024 / 1024))


def _folder_of(document: Document, conclusion_id: int | None) -> str:
    if document.id == conclusion_id or document.kind.startswith("conclusion"):
        return "conclusion"
    if document.folder in ("chat", "video"):
        return document.folder
    return "other"


def _document_view(document: Document, consultation_id: int) -> dict:
    return {"id": document.id, "name": document.filename, "size": document.size, "type": document.content_type,
            "url": url_for("video.download", consultation_id=consultation_id, document_id=document.id)}


@blueprint.route("/video/<int:consultation_id>/files")
def files(consultation_id: int):
    """The application's files by folder: ``{folders: [{code, title, files: [...]}]}``."""
    principal = current_principal()
    consultation = calls.consultation_for(consultation_id, principal, "video.view")
    documents = db.session.scalars(
        sa.select(Document).where(Document.consultation_id == consultation.id).order_by(Document.id)
    )
    grouped: dict[str, list[dict]] = {code: [] for code in FOLDERS}
    for document in documents:
        grouped[_folder_of(document, consultation.conclusion_document_id)].append(
            _document_view(document, consultation.id))
    return jsonify({"folders": [{"code": code, "title": str(title), "files": grouped[code]}
                                for code, title in FOLDERS.items()]})


@blueprint.route("/video/<int:consultation_id>/files", methods=["POST"])
def upload(consultation_id: int):
    """A file uploaded from the call window: checked and stored as every document is."""
    principal = current_principal()
    consultation = calls.consultation_for(consultation_id, principal)
    call = calls.live_call(consultation)
    me = calls.participant_of(call, principal, consultation) if call else None
    if me is None or not me.in_room:
        raise Conflict(_l("Вы не в видеоконсультации"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(_l("Выберите файл для загрузки"))
    owner = {"owner_user_id": principal.id} if principal.is_staff else {"owner_account_id": principal.id}
    document = store_document(upload.filename, upload.read(), kind="video_upload", consultation_id=consultation.id,
                              folder="video", **owner)
    db.session.flush()
    audit.record("document.uploaded", document, consultation_id=consultation.id, principal=principal,
                 data={"call": call.id})
    calls.file_shared(call, me, document)
    db.session.commit()
    return jsonify({"file": _document_view(document, consultation.id)}), 201


@blueprint.route("/video/<int:consultation_id>/files/<int:document_id>")
def download(consultation_id: int, document_id: int):
    principal = current_principal()
    consultation = calls.consultation_for(consultation_id, principal, "video.view")
    document = db.session.get(Document, document_id)
    if document is None or document.consultation_id != consultation.id:
        abort(404)
    require("document.view", document, principal)
    return send_file(storage().open(document.storage_key), mimetype=document.content_type,
                     as_attachment=True, download_name=document.filename)


@blueprint.route("/video/vendor/<path:filename>")
def vendor(filename: str):
    if filename not in VENDOR_FILES:
        abort(404)
    *folder, name = VENDOR_FILES[filename]
    return send_from_directory(Path(current_app.config["VIDEO_NODE_MODULES"]).joinpath(*folder), name, max_age=3600)
