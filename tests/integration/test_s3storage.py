"""Files on an S3-compatible object store: moto's S3 server on loopback stands in for
Ceph's radosgw or MinIO (path-style addressing, checksums only when required)."""

from __future__ import annotations

import hashlib
import os

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Document
from core.testing import PASSWORD, moto_s3_server
from core.storage import storage, store_document

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 20


@pytest.fixture(scope="module")
def s3_settings():
    with moto_s3_server("consultations") as settings:
        yield settings


def _raw_objects(backend) -> dict[str, bytes]:
    listed = backend.client.list_objects_v2(Bucket=backend.bucket).get("Contents", [])
    return {item["Key"]: backend.client.get_object(Bucket=backend.bucket, Key=item["Key"])["Body"].read()
            for item in listed}


def test_documents_go_to_the_bucket_and_come_back_through_the_download(make_app, s3_settings, tmp_path):
    from core.s3storage import S3Storage

    app = make_app(config={**s3_settings, "STORAGE_S3_PREFIX": "region-a/"})
    with app.app_context():
        backend = storage()
        assert isinstance(backend, S3Storage)
        assert backend.client.meta.config.s3["addressing_style"] == "path"
        from core.testing import Factory

        doctor = Factory(app).doctor(login="s3doctor")
        document = store_document("скан.png", PNG, owner_user_id=doctor.id)
        db.session.commit()
        key = document.storage_key
        assert _raw_objects(backend)[f"region-a/{key}"] == PNG
        assert not any(p.is_file() for p in tmp_path.rglob("files/**/*"))  # nothing on local disk
        document_id = document.id

    client = app.test_client()
    client.login("s3doctor", PASSWORD)
    download = client.get(f"/workplace/documents/{document_id}/download")
    assert download.status_code == 200
    assert download.is_streamed  # sent as the store hands it over, not read into memory first
    assert download.get_data() == PNG


def test_rollback_deletes_the_object_and_a_missing_one_is_not_found(make_app, s3_settings):
    app = make_app(config=s3_settings)
    with app.app_context():
        backend = storage()
        before = set(_raw_objects(backend))
        store_document("a.pdf", b"%PDF-1.4\n%%EOF\n")
        assert len(set(_raw_objects(backend)) - before) == 1
        db.session.rollback()
        assert set(_raw_objects(backend)) == before
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
        assert not backend.exists("2026/01/nothing-here")
        with pytest.raises(FileNotFoundError):
            backend.open("2026/01/nothing-here")
        with pytest.raises(ValueError):
            backend.save("../escape", b"x")


def test_a_large_file_is_streamed_in_parts_both_ways(s3_settings, tmp_path):
    """20 MiB from a file object: uploaded in 8 MiB parts, read back in chunks."""
    from core.s3storage import S3Storage

    backend = S3Storage.from_settings(s3_settings)
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(20 * 1024 * 1024 + 123))
    with source.open("rb") as handle:
        backend.save("big/one", handle)
    head = backend.client.head_object(Bucket=backend.bucket, Key="big/one")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    digest, largest = hashlib.sha256(), 0
    with backend.open("big/one") as body:
        for chunk in iter(lambda: body.read(64 * 1024), b""):
            largest = max(largest, len(chunk))
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    assert largest <= 64 * 1024
    backend.delete("big/one")
    assert not backend.exists("big/one")


def test_an_s3_store_without_a_bucket_stops_the_start(make_app):
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match="STORAGE_S3_BUCKET"):
        make_app(config={"STORAGE_BACKEND": "core.s3storage:S3Storage"})
