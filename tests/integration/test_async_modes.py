"""Flask-SocketIO works in threading mode (embedded default) and in the gevent and
eventlet modes (production options; PostgreSQL only, never SQLite writers under them)."""

import os
import re
import subprocess
import sys
import time

import pytest
import requests
import socketio

from core.testing import empty_postgres_database, free_port, postgres_admin_url
from tests.integration.test_cli import _env, teleconsult_command

MODES = ["threading"] + (["gevent", "eventlet"] if postgres_admin_url() else [])


@pytest.fixture
def database(tmp_path, request):
    admin_url = postgres_admin_url()
    if request.node.callspec.params["mode"] == "threading" or admin_url is None:
        yield f"sqlite:///{tmp_path / 'serve.sqlite3'}"
        return
    with empty_postgres_database("teleconsult_serve") as url:
        yield url


def _wait_for_login_page(http, base: str):
    """The login page once the server answers. A gunicorn master listens at once while
    its worker still builds the app, hence the long read timeout."""
    deadline = time.monotonic() + 300  # only ends a hung start; a busy machine is slow
    while time.monotonic() < deadline:
        try:
            return http.get(f"{base}/login", timeout=60)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{base} did not answer")


@pytest.mark.parametrize("mode", MODES)
def test_login_and_socketio_connection(mode, database, tmp_path):
    env = {**_env(tmp_path), "TELECONSULT_DATABASE_URL": database}
    subprocess.run([*teleconsult_command(), "demo-data", "--patients", "10"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "core.serve", "--async-mode", mode, "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        http = requests.Session()
        page = _wait_for_login_page(http, base)
        # One Server header, naming neither the WSGI server nor Python (issue 12).
        assert page.headers.get("Server") == "teleconsult", page.headers
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        from core.demo import DEMO_PASSWORD

        response = http.post(
            f"{base}/login",
            data={"login": "terapevt", "password": DEMO_PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        assert response.status_code == 302
        assert "Соколова Елена Андреевна" in http.get(f"{base}/workplace/", timeout=60).text

        client = socketio.Client()
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        client.connect(base, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=60)
        assert client.connected
        client.disconnect()
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"({mode}" in output
    if mode in ("gevent", "eventlet"):
        # The C build of psycopg would block the hub during every query.
        assert "psycopg python" in output


def test_create_app_refuses_eventlet_with_sqlite(tmp_path):
    from core.app import create_app
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match="eventlet needs PostgreSQL"):
        create_app({"DATA_DIR": str(tmp_path), "SOCKETIO_ASYNC_MODE": "eventlet"}, environment="testing")
    with pytest.raises(SettingsError, match="gevent needs PostgreSQL"):
        create_app({"DATA_DIR": str(tmp_path), "SOCKETIO_ASYNC_MODE": "gevent"}, environment="testing")
    with pytest.raises(SettingsError, match="SOCKETIO_ASYNC_MODE must be one of threading, gevent, eventlet"):
        create_app({"DATA_DIR": str(tmp_path), "SOCKETIO_ASYNC_MODE": "asyncio"}, environment="testing")


def test_teleconsult_run_refuses_eventlet_with_sqlite(tmp_path):
    env = {**_env(tmp_path), "TELECONSULT_SOCKETIO_ASYNC_MODE": "eventlet"}
    result = subprocess.run(
        [*teleconsult_command(), "run", "--port", str(free_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "eventlet needs PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "instance" / "teleconsult.sqlite3").exists()  # nothing was created


def test_core_serve_refuses_eventlet_with_sqlite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core.serve", "--async-mode", "eventlet", "--port", str(free_port())],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "cannot serve: SOCKETIO_ASYNC_MODE=eventlet needs PostgreSQL" in result.stderr


def _gunicorn(tmp_path, env, port):
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_gunicorn_config_refuses_eventlet_with_sqlite(tmp_path):
    env = {**_env(tmp_path), "TELECONSULT_SOCKETIO_ASYNC_MODE": "eventlet"}
    output = _gunicorn(tmp_path, env, free_port()).communicate(timeout=60)[0]
    assert "eventlet needs PostgreSQL" in output


def test_gunicorn_config_refuses_eventlet_without_an_eventlet_worker(tmp_path):
    env = {
        **_env(tmp_path),
        "TELECONSULT_SOCKETIO_ASYNC_MODE": "eventlet",
        "TELECONSULT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/unused",
    }
    output = _gunicorn(tmp_path, env, free_port()).communicate(timeout=60)[0]
    assert "has no eventlet worker" in output and "python -m core.serve --async-mode eventlet" in output


def test_gunicorn_config_in_eventlet_mode_picks_psycopgs_python_build(monkeypatch):
    """Where gunicorn still has the eventlet worker (before 26), the config chooses it and
    sets PSYCOPG_IMPL before any worker imports the app."""
    import importlib

    import gunicorn.workers

    monkeypatch.setitem(gunicorn.workers.SUPPORTED_WORKERS, "eventlet", "gunicorn.workers.geventlet.EventletWorker")
    monkeypatch.delenv("PSYCOPG_IMPL", raising=False)
    monkeypatch.setenv("TELECONSULT_SOCKETIO_ASYNC_MODE", "eventlet")
    monkeypatch.setenv("TELECONSULT_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/unused")
    sys.modules.pop("config.gunicorn", None)
    conf = importlib.import_module("config.gunicorn")
    assert conf.worker_class == "eventlet" and conf.workers == 1
    assert os.environ["PSYCOPG_IMPL"] == "python"
    sys.modules.pop("config.gunicorn", None)


def test_gunicorn_config_serves_the_threading_mode(tmp_path):
    env = _env(tmp_path)
    subprocess.run([*teleconsult_command(), "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = _gunicorn(tmp_path, env, port)
    try:
        page = _wait_for_login_page(requests.Session(), f"http://127.0.0.1:{port}")
        assert page.status_code == 200 and "Войти" in page.text
        assert page.headers.get("Server") == "teleconsult", page.headers
        static = requests.get(f"http://127.0.0.1:{port}/static/js/teleconsult.js", timeout=10)
        assert static.status_code == 200 and static.headers.get("Server") == "teleconsult", static.headers
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "gthread" in output
