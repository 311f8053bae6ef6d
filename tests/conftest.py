from pathlib import Path

import pytest

pytest_plugins = ["core.testing"]

# With PostgreSQL in the run (CI), these also run on SQLite: the walks through every page,
# flow and input of the embedded default, and the places where the dialects differ
# (Cyrillic search, locking and races, migrations, refused statements, storage).
EMBEDDED_TOO = {
    "api/test_doctor_flow.py",
    "chat/test_live.py",
    "esignature/test_flow.py",
    "integration/test_database_refusals.py",
    "integration/test_hostile_input.py",
    "integration/test_lifecycle.py",
    "integration/test_migrations.py",
    "integration/test_storage.py",
    "portal/test_portal.py",
    "registry/test_import_api.py",
    "ui/test_pages.py",
    "workplace/test_booking_race.py",
    "workplace/test_concurrent_writes.py",
    "workplace/test_wizard.py",
}
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.relative_to(_TESTS).as_posix() in EMBEDDED_TOO:
            item.add_marker(pytest.mark.embedded)
