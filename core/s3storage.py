"""Files in an S3-compatible object store (Ceph radosgw, MinIO, the region's S3).

Named in ``STORAGE_BACKEND = "core.s3storage:S3Storage"``; it implements the
``core.storage.Storage`` interface, so every caller works unchanged. Files are streamed:
an upload goes through boto3's managed transfer (multipart above its threshold, parts of
8 MiB), a download is the object's HTTP body read in chunks as the client takes it.

Ceph and MinIO want path-style addressing (``endpoint/bucket/key``: no wildcard DNS for
buckets) and do not all accept the CRC checksums recent boto3 releases add to every
request, hence ``request_checksum_calculation`` / ``response_checksum_validation``
``"when_required"``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from core.settings import SettingsError

_TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024,
                           max_concurrency=4, use_threads=True)
_MISSING = ("404", "NoSuchKey", "NotFound")


class S3Storage:
    def __init__(self, client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> S3Storage:
        bucket = settings.get("STORAGE_S3_BUCKET") or ""
        if not bucket:
            raise SettingsError("STORAGE_BACKEND is the S3 store but STORAGE_S3_BUCKET is empty")
        addressing = settings.get("STORAGE_S3_ADDRESSING") or "path"
        if addressing not in ("path", "virtual"):
            raise SettingsError(f"STORAGE_S3_ADDRESSING must be 'path' or 'virtual', got {addressing!r}")
        config = Config(
            s3={"addressing_style": addressing},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.get("STORAGE_S3_ENDPOINT_URL") or None,
            region_name=settings.get("STORAGE_S3_REGION") or None,
            aws_access_key_id=settings.get("STORAGE_S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=settings.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            verify=bool(settings.get("STORAGE_S3_VERIFY_TLS", True)),
            config=config,
        )
        return cls(client, bucket, settings.get("STORAGE_S3_PREFIX") or "")

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError("storage key escapes the storage prefix")
        return self.prefix + key

    def save(self, key: str, data: bytes | BinaryIO) -> None:
        """Store ``data`` (bytes or a binary file object, read in parts) under ``key``."""
        stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        self.client.upload_fileobj(stream, self.bucket, self._key(key), Config=_TRANSFER)

    def open(self, key: str) -> BinaryIO:
        """The object's body as a file object read from the network as it is read here;
        FileNotFoundError when there is no such object."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from error
            raise
        return answer["Body"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def check(self) -> None:
        """Raise when the bucket cannot be reached (for /healthz)."""
        self.client.head_bucket(Bucket=self.bucket)
