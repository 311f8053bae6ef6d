"""One design system (issue 18): every stylesheet of the workplace, the portal and the
plugins names its colours by the tokens of core/static/css/tokens.css, never by a raw
value, and uses no token the file does not define."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKENS = ROOT / "core" / "static" / "css" / "tokens.css"
RAW_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(", re.IGNORECASE)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _stylesheets() -> list[Path]:
    found = [*(ROOT / "core" / "static").rglob("*.css"), *(ROOT / "plugins").glob("*/static/**/*.css")]
    return sorted(p for p in found if p != TOKENS)


def test_the_stylesheets_are_found():
    names = {p.name for p in _stylesheets()}
    assert {"teleconsult.css", "chat.css"} <= names


def test_no_stylesheet_uses_a_raw_colour():
    offenders = []
    for sheet in _stylesheets():
        for number, line in enumerate(COMMENT.sub("", sheet.read_text(encoding="utf-8")).splitlines(), 1):
            if RAW_COLOUR.search(line):
                offenders.append(f"{sheet.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "name a token of core/static/css/tokens.css:\n" + "\n".join(offenders)


def test_every_token_used_is_defined():
    defined = set(re.findall(r"(--[\w-]+)\s*:", TOKENS.read_text(encoding="utf-8")))
    for sheet in _stylesheets():
        text = sheet.read_text(encoding="utf-8")
        local = set(re.findall(r"(--[\w-]+)\s*:", text))
        unknown = set(re.findall(r"var\((--[\w-]+)", text)) - defined - local
        assert not unknown, f"{sheet.relative_to(ROOT)}: {sorted(unknown)}"
