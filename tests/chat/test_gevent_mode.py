"""The chat's guarantees in the gevent production mode (issue 19; SPEC D7, P4).

The chat's own tests, against a web process patched by gevent (psycopg's Python
implementation, PostgreSQL): two clients talk live; a resend stores once; an upload
reads back. The process refuses SQLite, aiortc and psycopg's C build. (The 5,000-message
test over dropping connections, tests/chat/test_no_loss.py, runs against this mode with
TELECONSULT_TEST_CHAT_SERVER_MODE=gevent; see docs/deployment.md for its state.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.testing import free_port, postgres_admin_url
from tests.chat.conftest import ProcessServer, enable_test_login
from tests.chat.test_live import test_attachments_upload_and_download as _attachments
from tests.chat.test_live import test_doctor_and_patient_exchange_messages_live as _live
from tests.chat.test_live import test_resend_with_the_same_client_id_stores_once as _resend

pytestmark = pytest.mark.skipif(postgres_admin_url() is None, reason="the gevent mode runs on PostgreSQL")


@pytest.fixture
def database_backend() -> str:
    return "postgresql"


@pytest.fixture
def server(app, tmp_path):
    enable_test_login(app)
    live = ProcessServer(app, "gevent", tmp_path / "web")
    yield live
    live.stop()
    output = live.process.stdout.read()
    assert "(gevent; psycopg python)" in output, output


def test_live_exchange_in_gevent_mode(app, server, factory, sockets):
    _live(app, server, factory, sockets)


def test_resend_in_gevent_mode(app, server, factory, sockets):
    _resend(app, server, factory, sockets)


def test_attachments_in_gevent_mode(app, server, factory, sockets):
    _attachments(app, server, factory, sockets)


PATCHED = """
import sys, types
from gevent import monkey
monkey.patch_all()
{extra}
from core.app import create_app
from core.settings import SettingsError
try:
    create_app({{"DATA_DIR": sys.argv[1], "SOCKETIO_ASYNC_MODE": "gevent", "DATABASE_URL": sys.argv[2]}},
               environment="testing")
except SettingsError as error:
    print(error)
"""


@pytest.mark.parametrize("extra, database, message", [
    ("", "sqlite:///{tmp}/x.sqlite3", "gevent needs PostgreSQL"),
    ("import os; os.environ['PSYCOPG_IMPL'] = 'python'; sys.modules['aiortc'] = types.ModuleType('aiortc')",
     "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "aiortc is loaded in a gevent-patched process"),
    ("import os; os.environ['PSYCOPG_IMPL'] = 'binary'; import psycopg",
     "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "blocks the gevent hub"),
])
def test_a_patched_process_refuses_what_blocks_or_deadlocks(tmp_path, extra, database, message):
    result = subprocess.run(
        [sys.executable, "-c", PATCHED.format(extra=extra), str(tmp_path), database.format(tmp=tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert message in result.stdout, result.stdout + result.stderr


def test_gunicorn_serves_the_gevent_mode(tmp_path):
    """gunicorn's gevent worker with config/gunicorn.py answers pages and /healthz."""
    import requests

    from core.testing import empty_postgres_database
    from tests.integration.test_async_modes import _gunicorn, _wait_for_login_page
    from tests.integration.test_cli import _env, teleconsult_command

    with empty_postgres_database("teleconsult_gevent") as url:
        env = {**_env(tmp_path), "TELECONSULT_DATABASE_URL": url, "TELECONSULT_SOCKETIO_ASYNC_MODE": "gevent"}
        subprocess.run([*teleconsult_command(), "db", "upgrade"], env=env, cwd=tmp_path, check=True,
                       capture_output=True, timeout=180)
        port = free_port()
        server = _gunicorn(tmp_path, env, port)
        try:
            page = _wait_for_login_page(requests.Session(), f"http://127.0.0.1:{port}")
            assert page.status_code == 200 and "Войти" in page.text
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["database"] == "ok"
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0]
        assert "gevent" in output
