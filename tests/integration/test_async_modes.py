"""Flask-SocketIO works in threading mode (embedded default) and in eventlet mode
(production option; PostgreSQL only, never SQLite writers under eventlet)."""

import re
import subprocess
import sys
import time

import pytest
import requests
import socketio

from core.testing import empty_postgres_database, free_port, postgres_admin_url
from tests.integration.test_cli import _env, teleconsult_command

MODES = ["threading"] + (["eventlet"] if postgres_admin_url() else [])


@pytest.fixture
def database(tmp_path, request):
    admin_url = postgres_admin_url()
    if request.node.callspec.params["mode"] == "threading" or admin_url is None:
        yield f"sqlite:///{tmp_path / 'serve.sqlite3'}"
        return
    with empty_postgres_database("teleconsult_serve") as url:
        yield url


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
        for _ in range(100):
            try:
                page = http.get(f"{base}/login", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        from core.demo import DEMO_PASSWORD

        response = http.post(
            f"{base}/login",
            data={"login": "terapevt", "password": DEMO_PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=5,
        )
        assert response.status_code == 302
        assert "Соколова Елена Андреевна" in http.get(f"{base}/workplace/", timeout=5).text

        client = socketio.Client()
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        client.connect(base, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=5)
        assert client.connected
        client.disconnect()
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"({mode})" in output
