"""Handing a stored document's file to the browser, with the audit event of who took it.

Used by the workplace, the portal, the REST API, the console and plugins alike.
"""

from __future__ import annotations

from flask import abort, send_file

from core import audit
from core.db import db
from core.models import Document
from core.storage import storage, typed_filename


# Types a browser shows itself (a thumbnail, a page in a tab) when asked ``inline``.
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")
IMAGE_TYPES = ("image/png", "image/jpeg")


def is_image(document: Document) -> bool:
    """Whether the file is shown as a picture (a thumbnail on the card and in the chat)."""
    return document.content_type in IMAGE_TYPES


def send_document(document: Document, *, inline: bool = False):
    """Send a stored file as an attachment, or (``inline``, for images and PDFs) to be
    shown by the browser; an audit event records who took it either way."""
    try:
        handle = storage().open(document.storage_key)
    except FileNotFoundError:
        abort(404)
    audit.record("document.downloaded", document)
    db.session.commit()
    return send_file(
        handle,
        mimetype=document.content_type,
        as_attachment=not (inline and document.content_type in INLINE_TYPES),
        download_name=typed_filename(document.filename, document.content_type),
        max_age=0,
    )
