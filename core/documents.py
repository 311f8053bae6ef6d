"""Handing a stored document's file to the browser, with the audit event of who took it.

Used by the workplace, the portal, the REST API, the console and plugins alike.
"""

from __future__ import annotations

from flask import abort, send_file

from core import audit
from core.db import db
from core.models import Document
from core.storage import storage, typed_filename


def send_document(document: Document):
    """Send a stored file as an attachment; an audit event records who took it."""
    try:
        handle = storage().open(document.storage_key)
    except FileNotFoundError:
        abort(404)
    audit.record("document.downloaded", document)
    db.session.commit()
    return send_file(
        handle,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=typed_filename(document.filename, document.content_type),
        max_age=0,
    )
