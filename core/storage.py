"""File storage behind an interface; a local folder is the embedded default.

``store_document`` validates first and writes second: a refused file leaves nothing, and
a file written for a transaction that is then rolled back is removed again.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l

from core.db import db
from core.errors import InvalidInput
from core.models import Document
from core.tx import on_rollback

# Types a consultation accepts, checked by content, never by the file name.
DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


class Storage(Protocol):
    """A storage backend. ``STORAGE_BACKEND`` names its class (``package.module:Class``);
    the app builds it once with ``Class.from_settings(settings)``."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Storage: ...
    def save(self, key: str, data: bytes) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Files in a local folder (``STORAGE_DIR``), written atomically (temp file, then rename)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LocalStorage:
        return cls(settings["STORAGE_DIR"])

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage folder")
        return path

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def build_storage(settings: Mapping[str, Any]) -> Storage:
    """The backend ``STORAGE_BACKEND`` names, built from the settings."""
    from core.settings import SettingsError, import_named

    backend = import_named(settings, "STORAGE_BACKEND")
    if not callable(getattr(backend, "from_settings", None)):
        raise SettingsError(f"STORAGE_BACKEND {settings['STORAGE_BACKEND']!r} has no from_settings(settings)")
    return backend.from_settings(settings)


def storage() -> Storage:
    return current_app.extensions["teleconsult.storage"]


def sniff_type(data: bytes) -> str | None:
    kind = filetype.guess(data[:8192])
    return kind.mime if kind else None


def check_file(
    filename: str, data: bytes, allowed: Iterable[str] = DOCUMENT_TYPES, max_size: int | None = None
) -> str:
    """Return the content type, or raise InvalidInput with a Russian reason."""
    max_size = max_size or current_app.config["DOCUMENT_MAX_SIZE"]
    if not data:
        raise InvalidInput(_l("Файл «%(name)s» пуст", name=filename))
    if len(data) > max_size:
        raise InvalidInput(
            _l(
                "Файл «%(name)s» больше %(mb)s МБ",
                name=filename,
                mb=round(max_size / 1024 / 1024, 1),
            )
        )
    content_type = sniff_type(data)
    allowed = set(allowed)
    if content_type not in allowed:
        names = ", ".join(sorted(DOCUMENT_TYPES.get(t, t).upper() for t in allowed))
        raise InvalidInput(
            _l("Файл «%(name)s» не принят: допустимы только %(types)s", name=filename, types=names)
        )
    return content_type


def safe_filename(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name[:200] or "file"


def extension_for(content_type: str) -> str:
    """The file name extension of a content type (``pdf``, ``jpg``), or ``bin``."""
    known = DOCUMENT_TYPES.get(content_type)
    if known:
        return known
    guessed = mimetypes.guess_extension(content_type or "", strict=False)
    return guessed.lstrip(".") if guessed else "bin"


def typed_filename(filename: str, content_type: str) -> str:
    """``filename`` with the extension of its detected type: a PDF that is also HTML,
    uploaded as ``invoice.html``, is kept and served as ``invoice.pdf``, never as a page
    a browser would render. A name already ending in one of the type's extensions
    (``scan.jpeg``) is kept."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        stem, extension = filename, ""
    accepted = {e.lstrip(".").lower() for e in mimetypes.guess_all_extensions(content_type or "", strict=False)}
    accepted.add(extension_for(content_type))
    if extension.lower() in accepted:
        return filename
    return f"{stem[:190]}.{extension_for(content_type)}"


def store_document(
    filename: str,
    data: bytes,
    *,
    kind: str = "attachment",
    consultation_id: int | None = None,
    owner_user_id: int | None = None,
    owner_account_id: int | None = None,
    folder: str = "",
    allowed: Iterable[str] = DOCUMENT_TYPES,
    content_type: str | None = None,
) -> Document:
    """Validate, store and add a Document row to the current transaction."""
    filename = safe_filename(filename)
    if content_type is None:
        content_type = check_file(filename, data, allowed)
    # Stored and served under the extension of what the content is, not of what it is called.
    filename = typed_filename(filename, content_type)
    now = datetime.now(timezone.utc)
    key = f"{now:%Y/%m}/{uuid.uuid4().hex}.{extension_for(content_type)}"
    backend = storage()
    backend.save(key, data)
    on_rollback(lambda: backend.delete(key))
    document = Document(
        consultation_id=consultation_id,
        owner_user_id=owner_user_id,
        owner_account_id=owner_account_id,
        kind=kind,
        folder=folder,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
    )
    db.session.add(document)
    return document
