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


class MemoryStorage:
    """A storage backend a deployment could name in STORAGE_BACKEND (an object store)."""

    instances: list["MemoryStorage"] = []

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.files: dict[str, bytes] = {}
        MemoryStorage.instances.append(self)

    @classmethod
    def from_settings(cls, settings):
        return cls(settings["MEMORY_BUCKET"])

    def save(self, key, data):
        self.files[key] = data

    def open(self, key):
        import io

        return io.BytesIO(self.files[key])

    def delete(self, key):
        self.files.pop(key, None)

    def exists(self, key):
        return key in self.files


def test_the_storage_backend_is_a_setting(make_app):
    from core.storage import LocalStorage, storage

    default = make_app()
    assert isinstance(default.extensions["teleconsult.storage"], LocalStorage)
    MemoryStorage.instances.clear()
    app = make_app(config={"STORAGE_BACKEND": f"{__name__}:MemoryStorage", "MEMORY_BUCKET": "consultations"})
    with app.app_context():
        document = store_document("scan.png", PNG)
        db.session.commit()
        [backend] = MemoryStorage.instances
        assert storage() is backend and backend.bucket == "consultations"
        assert backend.files == {document.storage_key: PNG}
        assert _files(app) == []  # nothing in the local folder


@pytest.mark.parametrize("backend, message", [
    ("local", "must look like 'package.module:Class'"),
    ("core.storage:NoSuchStorage", "cannot import 'core.storage:NoSuchStorage'"),
    ("core.storage:check_file", "has no from_settings"),
])
def test_a_storage_backend_that_is_not_one_stops_the_start(make_app, backend, message):
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        make_app(config={"STORAGE_BACKEND": backend})
