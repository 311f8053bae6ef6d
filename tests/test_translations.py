"""Every Russian UI text has its English translation (the second locale).

Each catalogue source (core, admin, each plugin package) is extracted the way
``pybabel extract`` would and compared with its ``translations/en`` catalogue.
"""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def packages():
    found = [ROOT / "core"]
    if (ROOT / "admin").is_dir():
        found.append(ROOT / "admin")
    found += sorted(p for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
    return found


def _extract(package: Path) -> set[str]:
    ids = set()
    skip = {"translations", "migrations"}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(package), METHODS, options_map=OPTIONS, keywords=KEYWORDS,
        directory_filter=lambda d: Path(d).name not in skip and not Path(d).name.startswith("."),
    ):
        if "/plugins/" in f"/{filename}" and package.name == "core":
            continue
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("package", packages(), ids=lambda p: p.name)
def test_english_catalogue_is_complete(package):
    wanted = _extract(package)
    if not wanted:
        return
    po_path = package / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    assert po_path.exists(), f"{package.name} has Russian texts but no English catalogue"
    with po_path.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string}
    missing = sorted(wanted - translated)
    assert not missing, f"{len(missing)} texts of {package.name} lack English: {missing[:15]}"
