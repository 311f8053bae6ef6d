"""Files: checked by content, stored after validation, removed when the transaction fails."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import InvalidInput
from core.models import Document
from core.storage import store_document

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 20


def _files(app):
    return [p for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()]


def test_type_is_checked_by_content_not_by_name(app_context):
    with pytest.raises(InvalidInput, match="допустимы только"):
        store_document("заключение.pdf", b"MZ\x90\x00 not a pdf at all")
    document = store_document("photo.pdf", PNG)
    assert document.content_type == "image/png"


def test_oversize_and_empty_files_are_refused(make_app):
    app = make_app(config={"DOCUMENT_MAX_SIZE": 100})
    with app.app_context():
        with pytest.raises(InvalidInput, match="больше"):
            store_document("big.pdf", b"%PDF-1.4\n" + b"0" * 200)
        with pytest.raises(InvalidInput, match="пуст"):
            store_document("empty.pdf", b"")
        assert _files(app) == []


def test_rollback_removes_the_written_file(app_context):
    store_document("a.pdf", b"%PDF-1.4\n%%EOF\n")
    assert len(_files(app_context)) == 1
    db.session.rollback()
    assert _files(app_context) == []
    store_document("b.pdf", b"%PDF-1.4\n%%EOF\n")
    db.session.commit()
    assert len(_files(app_context)) == 1
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 1


def test_file_names_cannot_escape(app_context):
    document = store_document("../../etc/passwd.pdf", b"%PDF-1.4\n%%EOF\n")
    assert document.filename == "passwd.pdf"
