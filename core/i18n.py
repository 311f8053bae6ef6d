"""Locale selection and the message catalogues.

Message ids are the Russian UI texts (the labels of the user guides); ``translations/en``
holds the English locale. Catalogues are compiled from the ``.po`` files at start-up into
the data folder, so a source checkout needs no build step.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request, session

SOURCE = Path(__file__).parent / "translations"


def catalogue_sources(packages: list[str]) -> list[Path]:
    """The core's catalogue and those of loaded plugins (``<package>/translations``)."""
    import importlib

    sources = [SOURCE]
    for name in packages:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "__file__", None) is None:
            continue
        folder = Path(module.__file__).parent / "translations"
        if folder.is_dir() and folder not in sources:
            sources.append(folder)
    return sources


def compile_catalogues(target: Path, sources: list[Path]) -> list[Path]:
    """Compile each source's ``.po`` files into its own folder under ``target``."""
    compiled = []
    for index, source in enumerate(sources):
        compiled.append(_compile(source, target / f"{index:02d}-{source.parent.name}"))
    return compiled


#: ``.po`` path -> (its modification time, the compiled ``.mo`` bytes): parsing a catalogue
#: is the slow part, and every app of a process (workers, tests) needs the same bytes.
_compiled: dict[Path, tuple[float, bytes]] = {}


def _compile(source: Path, target: Path) -> Path:
    for po_path in source.glob("*/LC_MESSAGES/messages.po"):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        po_mtime = po_path.stat().st_mtime
        if mo_path.exists() and mo_path.stat().st_mtime >= po_mtime:
            continue
        write_catalogue(mo_path, _mo_bytes(po_path, po_mtime))
    return target


def write_catalogue(mo_path: Path, data: bytes) -> None:
    """Put a compiled catalogue in place through a temporary file of this process's own:
    the web processes and workers of a machine share the data folder and start together."""
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=".messages-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(data)
        os.replace(tmp_name, mo_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _mo_bytes(po_path: Path, po_mtime: float) -> bytes:
    cached = _compiled.get(po_path)
    if cached is None or cached[0] != po_mtime:
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        cached = _compiled[po_path] = (po_mtime, buffer.getvalue())
    return cached[1]


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # tasks, CLI: the deployment's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]
