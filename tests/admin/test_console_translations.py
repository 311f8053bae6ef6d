"""Every text of the console has its English translation (house rule: Russian msgids)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import admin

ROOT = Path(admin.__file__).parent
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def test_every_console_text_is_translated_to_english():
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="en")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string}
    used = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
        keywords=KEYWORDS,
    ):
        used.add(message if isinstance(message, str) else message[0])
    assert len(used) > 100, "nothing extracted"
    assert sorted(used - translated) == []
