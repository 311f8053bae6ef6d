"""Pages of the chat: «Сообщения» (workplace), the chat window, history, files (SPEC D7, P3, P4, P6).

Every view asks ``core.access``; the same functions serve the Socket.IO events.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, send_from_directory, url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import user_logged_out

from core import params
from core.access import can, current_principal, require
from core.db import db
from core.errors import InvalidInput
from core.models import Consultation, Document
from core.models.registry import normalize_name
from core import consent
from core.storage import storage, typed_filename
from core.worklists import ALL, worklist_query
from plugins.chat import grouped, sessions
from plugins.chat.chats import ensure_member, open_for, open_for_writing
from plugins.chat.history import history, opening_page
from plugins.chat.messages import FILES_PER_UPLOAD, post_files
from plugins.chat.models import Chat, ChatMessage
from plugins.chat.unread import mark_read, read_marks, unread_counts

blueprint = Blueprint("chat", __name__, template_folder="templates", static_folder="static", static_url_path="/chat/static")

blueprint.after_app_request(sessions.ensure_token)
user_logged_out.connect(sessions.on_logout)

# socket.io-client's browser build, installed from the npm registry by `npm ci`.
VENDOR_FILES = {"socket.io.min.js", "socket.io.min.js.map"}


@blueprint.before_request
def _consent_first():
    """A patient sees nothing of the chats before accepting the current consent (SPEC P2):
    pages show the portal's consent modal, everything else is refused."""
    if request.endpoint in ("chat.vendor", "chat.static"):
        return None
    principal = current_principal()
    if not principal.is_patient or can("portal.chat", None, principal):
        return None
    if request.method == "GET" and request.endpoint in ("chat.index", "chat.window"):
        return consent.gate()
    require("portal.chat", None, principal)
    return None


def _layout(principal) -> str:
    return "workplace/layout.html" if principal.is_staff else "portal/layout.html"


@blueprint.route("/chat/")
def index():
    """The chat list: «Сообщения» for staff (search by patient surname), the patient's chats."""
    principal = require("chat.connect")
    search = request.args.get("q", "").strip()[:100]
    if principal.is_staff:
        require("workplace.use")
        query = worklist_query(ALL, principal.id, search, show_closed=True)
        query = query.join(Chat, Chat.consultation_id == Consultation.id)
        consultations = list(db.session.scalars(query.limit(300)))
    else:
        ids = principal.patient_ids or {-1}
        query = (
            sa.select(Consultation)
            .join(Chat, Chat.consultation_id == Consultation.id)
            # Whom it is about decides (``takes_part``): a representative's own row in a child's
            # consultation counts only while they act for the child.
            .where(Consultation.patient_id.in_(ids))
            .order_by(Consultation.id.desc())
        )
        consultations = list(db.session.scalars(query.limit(300)))
        words = normalize_name(search).split()
        if words:  # title and specialty: «кардиолог», «терапевт», «педиатр» (SPEC P3)
            def haystack(c):
                return normalize_name(" ".join(filter(None, [c.title, c.profile.name, c.profile.specialty or ""])))

            consultations = [c for c in consultations if all(w in haystack(c) for w in words)]
    # Open chats first, then closed (grey) ones.
    consultations.sort(key=lambda c: c.is_closed)
    unread = unread_counts([c.id for c in consultations], principal)
    return render_template(
        "chat/index.html", layout=_layout(principal), consultations=consultations, unread=unread, search=search
    )


@blueprint.route("/chat/<int:consultation_id>")
def window(consultation_id: int):
    principal = require("chat.connect")
    chat, consultation = open_for(consultation_id, principal)
    member = ensure_member(chat, consultation, principal)
    messages, more, first_unread = opening_page(chat, consultation, member)
    card_url = None
    if principal.is_staff and "workplace.application" in current_app.view_functions:
        card_url = url_for("workplace.application", consultation_id=consultation.id)
    db.session.commit()
    return render_template(
        "chat/window.html",
        layout=_layout(principal),
        chat=chat,
        consultation=consultation,
        member=member,
        messages=messages,
        more=more,
        card_url=card_url,
        first_unread=first_unread,
        read=read_marks(chat),
        max_files=FILES_PER_UPLOAD,
        max_size_mb=round(current_app.config["DOCUMENT_MAX_SIZE"] / 1024 / 1024),
        new_client_id=lambda: uuid.uuid4().hex,
        header_actions=_header_actions(consultation, principal),
    )


def _header_actions(consultation, principal) -> list[dict]:
    """Buttons other plugins put into the header (hook teleconsult_register_chat_header_actions)."""
    from core.plugins import hooks_for

    found = [a for group in hooks_for(consultation).teleconsult_register_chat_header_actions(
        consultation=consultation, principal=principal) for a in group or ()]
    return sorted(found, key=lambda a: (a.get("order", 100), str(a["title"])))


@blueprint.route("/chat/<int:consultation_id>/messages")
def messages(consultation_id: int):
    """History with paging: ``?before=<seq>`` older page, ``?after=<seq>`` replay."""
    principal = require("chat.connect")
    chat, consultation = open_for(consultation_id, principal)
    before, after = (
        params.bounded_int(request.args.get(name), 0, params.INTEGER_MAX, _l("Некорректный номер сообщения"), required=False)
        for name in ("before", "after")
    )
    found, more = history(chat, consultation, before=before, after=after)
    return jsonify({"messages": found, "more": more, "closed": chat.is_closed})


@blueprint.route("/chat/<int:consultation_id>/messages", methods=["POST"])
def send(consultation_id: int):
    """Sending without a socket (fallback): ``{client_id, text}``; idempotent by client id."""
    principal = require("chat.connect")
    payload = request.get_json(silent=True) or request.form
    message, created = grouped.post_text(consultation_id, principal, payload.get("client_id"), payload.get("text"))
    if not request.is_json and "application/json" not in request.headers.get("Accept", ""):
        return redirect(url_for("chat.window", consultation_id=consultation_id))  # the page without script
    return jsonify({"message": message, "duplicate": not created}), 201 if created else 200


@blueprint.route("/chat/<int:consultation_id>/read", methods=["POST"])
def read(consultation_id: int):
    principal = require("chat.connect")
    payload = request.get_json(silent=True) or request.form
    return jsonify(mark_read(consultation_id, principal, payload.get("seq")))


@blueprint.route("/chat/<int:consultation_id>/files", methods=["POST"])
def upload(consultation_id: int):
    """«+» → «Загрузить файлы»: several files at once, all accepted or none (SPEC P4)."""
    principal = require("chat.connect")
    open_for_writing(consultation_id, principal)
    files = [(f.filename or "file", f.read()) for f in request.files.getlist("files") if f]
    if not files:
        raise InvalidInput(_l("Выберите файлы для загрузки"))
    stored = post_files(consultation_id, principal, files, client_id=request.form.get("client_id") or None)
    return jsonify({"messages": stored}), 201


@blueprint.route("/chat/<int:consultation_id>/files/<int:document_id>")
def download(consultation_id: int, document_id: int):
    """An attachment or the conclusion, to download (or view with ``?inline=1``, SPEC P6)."""
    principal = require("chat.connect")
    chat, consultation = open_for(consultation_id, principal)
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    in_chat = db.session.scalar(
        sa.select(ChatMessage.id).where(ChatMessage.chat_id == chat.id, ChatMessage.document_id == document.id).limit(1)
    )
    if in_chat is None and document.id != consultation.conclusion_document_id:
        abort(404)
    require("document.view", document, principal)
    inline = request.args.get("inline") == "1" and document.content_type in ("application/pdf", "image/png", "image/jpeg")
    return send_file(
        storage().open(document.storage_key),
        mimetype=document.content_type,
        as_attachment=not inline,
        download_name=typed_filename(document.filename, document.content_type),
        max_age=0,
    )


@blueprint.route("/vendor/socket.io-client/<path:filename>")
def vendor(filename: str):
    """The browser build of socket.io-client from node_modules (public, like static files)."""
    if filename not in VENDOR_FILES:
        abort(404)
    folder = Path(current_app.config["CHAT_NODE_MODULES"]) / "socket.io-client" / "dist"
    return send_from_directory(folder, filename, max_age=3600)
