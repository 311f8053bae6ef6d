"""Fixtures for the chat tests: a live server, logged-in HTTP sessions and Socket.IO clients."""

from __future__ import annotations

import functools
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import socketio

from core.db import db
import sqlalchemy as sa

from core.models import ConsentAcceptance, ConsentVersion, PortalAccount
from core.testing import Factory, LiveServer, enable_test_login, free_port, require_or_skip

ROOT = Path(__file__).resolve().parents[2]
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_ids = itertools.count(1)


def wait_for(predicate, timeout: float = 30.0, step: float = 0.02):
    """Poll until ``predicate()`` is truthy; the value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


class Browser:
    """A logged-in HTTP session against a live server (cookies, CSRF token)."""

    def __init__(self, url: str, kind: str | None = None, person_id: int | None = None):
        self.url = url
        self.http = requests.Session()
        if kind:
            response = self.http.get(f"{url}/_test/login/{kind}/{person_id}", timeout=10)
            assert response.status_code == 200

    def csrf(self) -> str:
        page = self.http.get(f"{self.url}/login", timeout=10).text
        return _CSRF.search(page).group(1)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=10, **kw)

    def post(self, path, **kw):
        headers = {"X-CSRFToken": self.csrf(), "Accept": "application/json", **kw.pop("headers", {})}
        return self.http.post(self.url + path, headers=headers, timeout=10, **kw)

    def socket(self, **kw) -> ChatSocket:
        return ChatSocket(self, **kw)


class ChatSocket:
    """A python-socketio client on /chat that records everything it receives."""

    def __init__(
        self, browser: Browser, connect: bool = True, origin: str | None = None, url: str | None = None, auth=None
    ):
        self.browser = browser
        self.auth = auth  # what a page's client sends with the connection (a list page: its chats)
        self.url = url or browser.url
        self.origin = origin  # None: the page's own origin, as a browser sends it
        self.headers: dict = {}
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.sio = self._client()
        if connect:
            self.connect()

    def _client(self):
        options = {"origin": self.origin} if self.origin else {}
        sio = socketio.Client(reconnection=False, websocket_extra_options=options)
        for name in ("message", "unread", "counts", "read", "closed", "session_ended", "access_lost", "resync"):
            sio.on(name, self._recorder(name), namespace="/chat")
        return sio

    def _recorder(self, name):
        def record(data=None):
            with self.lock:
                self.events.append((name, data))

        return record

    def connect(self):
        # The same User-Agent as the HTTP session: Flask-Login's strong session protection
        # ties the session to it, as a browser's page and socket share one.
        headers = {
            "Cookie": self.browser.cookie_header(),
            "User-Agent": self.browser.http.headers["User-Agent"],
            **self.headers,
        }
        self.sio.connect(
            self.url, namespaces=["/chat"], headers=headers, auth=self.auth, transports=["websocket"], wait_timeout=10
        )

    @property
    def connected(self) -> bool:
        return self.sio.connected and "/chat" in self.sio.namespaces

    def call(self, event: str, data=None, timeout: float = 10):
        return self.sio.call(event, data, namespace="/chat", timeout=timeout)

    def send(self, chat: int, text: str, client_id: str | None = None):
        return self.call("send", {"chat": chat, "client_id": client_id or uuid.uuid4().hex, "text": text})

    def received(self, name: str) -> list:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def close(self):
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:  # do not wait 3 s for the closing handshake's answer
            ws.close = functools.partial(type(ws).close, ws, timeout=0.2)
        try:
            self.sio.disconnect()
        except Exception:
            pass


@dataclass
class Cast:
    """A consultation with a doctor (author and consultant) and a patient with a portal account."""

    consultation_id: int
    doctor_id: int
    patient_id: int
    account_id: int
    organisation_id: int


def make_account(factory: Factory, patient, consent: bool = True) -> PortalAccount:
    n = next(_ids)
    account = PortalAccount(
        identity_provider="esia", external_id=f"oid-{uuid.uuid4().hex[:10]}-{n}", trust_level="confirmed",
        last_name=patient.last_name, first_name=patient.first_name, middle_name=patient.middle_name,
    )
    factory.commit(account)
    patient.portal_account_id = account.id
    factory.commit(patient)
    if consent:  # the informed consent of SPEC P2, accepted as the portal asks
        version = db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.version.desc()))
        factory.commit(ConsentAcceptance(account_id=account.id, version_id=version.id))
    return account


def make_cast(factory: Factory, organisation=None, doctor=None, **kw) -> Cast:
    organisation = organisation or (doctor.organisation if doctor else factory.organisation())
    doctor = doctor or factory.doctor(organisation=organisation)
    patient = factory.patient(organisation=organisation)
    account = make_account(factory, patient)
    consultation = factory.consultation(author=doctor, patient=patient, **kw)
    return Cast(consultation.id, doctor.id, patient.id, account.id, organisation.id)


class ProcessServer:
    """The app in a web process of its own (``tests.chat.chat_server``) in ``mode``, on the
    test's database: what a deployment runs, for the chat's tests in the gevent mode."""

    def __init__(self, app, mode: str, data_dir) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TELECONSULT_DATABASE_URL": app.config["DATABASE_URL"],
            "TELECONSULT_DATA_DIR": str(data_dir),
            "TELECONSULT_SECRET_KEY": app.config["SECRET_KEY"],
            "TELECONSULT_STORAGE_DIR": app.config["STORAGE_DIR"],
            "TELECONSULT_CHAT_RECHECK_SECONDS": str(app.config.get("CHAT_RECHECK_SECONDS", 2)),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.chat.chat_server", str(self.port), mode],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("the web process stopped: " + self.process.stdout.read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the web process did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


# TELECONSULT_TEST_CHAT_SERVER_MODE=gevent runs every chat test that uses ``server``
# against a gevent web process (PostgreSQL only); tests/chat/test_gevent_mode.py does it
# for the delivery tests in every run.
SERVER_MODE = os.environ.get("TELECONSULT_TEST_CHAT_SERVER_MODE", "threading")


@pytest.fixture
def server(app, tmp_path):
    enable_test_login(app)
    if SERVER_MODE == "threading":
        live = LiveServer(app).start()
    else:
        if app.config["DATABASE_URL"].startswith("sqlite"):
            pytest.skip(f"the {SERVER_MODE} mode runs on PostgreSQL only")
        live = ProcessServer(app, SERVER_MODE, tmp_path / "web")
    yield live
    live.stop()


@pytest.fixture
def browser(chromium):
    """Chromium, with socket.io-client's browser build installed (`npm ci`)."""
    require_or_skip([] if (ROOT / "node_modules" / "socket.io-client").is_dir() else ["node_modules (npm ci)"])
    return chromium


@pytest.fixture
def sockets():
    """Closes every socket a test opened."""
    opened: list[ChatSocket] = []
    yield opened
    for sock in opened:
        sock.close()
