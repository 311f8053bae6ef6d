"""Locale selection and the message catalogues.

Message ids are the Russian UI texts (the labels of the user guides); ``translations/en``
holds the English locale. Catalogues are compiled from the ``.po`` files at start-up into
the data folder, so a source checkout needs no build step.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request, session

SOURCE = Path(__file__).parent / "translations"


def compile_catalogues(target: Path) -> Path:
    for po_path in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo_path = target / po_path.relative_to(SOURCE).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        tmp = mo_path.with_suffix(".tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)
    return target


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
