"""Fixtures for the video tests: a live server, logged-in sessions and /video Socket.IO clients."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import socket
import subprocess
import threading
import time
import uuid

import pytest
import socketio

from core.access import principal_for_user
from core.consultations import add_participant
from core.db import db
from core.models import Consultation, User
from core.testing import LiveServer, enable_test_login, free_port, require_or_skip
from plugins.video import connections
from plugins.video.janus import LocalJanus
from tests.chat.conftest import Browser, Cast, make_account, make_cast, wait_for  # noqa: F401  (re-exported)

NS = "/video"
SERVER_EVENTS = ("ringing", "ring_over", "call_over", "state", "signal", "message", "muted", "removed", "files_changed",
                 "session_ended", "board_op")


class VideoSocket:
    """A python-socketio client on /video that records everything it receives."""

    def __init__(self, browser: Browser, connect: bool = True):
        self.browser = browser
        self.events: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name), namespace=NS)
        if connect:
            self.connect()

    def _recorder(self, name):
        def record(data=None):
            with self.lock:
                self.events.append((name, data))

        return record

    def connect(self):
        headers = {"Cookie": self.browser.cookie_header(), "User-Agent": self.browser.http.headers["User-Agent"]}
        self.sio.connect(self.browser.url, namespaces=[NS], headers=headers, transports=["websocket"], wait_timeout=10)

    @property
    def connected(self) -> bool:
        return self.sio.connected and NS in self.sio.namespaces

    def call(self, event: str, data=None, timeout: float = 15):
        return self.sio.call(event, data, namespace=NS, timeout=timeout)

    def received(self, name: str) -> list:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def clear(self):
        with self.lock:
            self.events.clear()

    def close(self):
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:
            ws.close = functools.partial(type(ws).close, ws, timeout=0.2)
        try:
            self.sio.disconnect()
        except Exception:
            pass


@pytest.fixture
def app(make_app):
    """The app of the test (``factory`` works in it too), with short re-check intervals."""
    app = make_app(config={"VIDEO_RECHECK_SECONDS": 0.5, "VIDEO_RECONNECT_SECONDS": 3.0})
    yield app
    connections.stop(app)  # no task of this test outlives it into the next


@pytest.fixture
def server(app):
    enable_test_login(app)
    live = LiveServer(app).start()
    yield live
    live.stop()


@contextlib.contextmanager
def live_server_of(app):
    """A live server of another app of the test; its video tasks end with it."""
    enable_test_login(app)
    live = LiveServer(app).start()
    try:
        yield live
    finally:
        live.stop()
        connections.stop(app)


@pytest.fixture
def sockets():
    opened: list[VideoSocket] = []
    yield opened
    for sock in opened:
        sock.close()


def add_doctor(factory, consultation_id: int, organisation=None) -> User:
    """A second doctor of the consultation's organisation added as a consultant participant."""
    consultation = db.session.get(Consultation, consultation_id)
    doctor = factory.doctor(organisation=organisation or consultation.organisation)
    add_participant(consultation, "consultant", principal_for_user(consultation.author), user=doctor)
    db.session.commit()
    return doctor


def login(web, kind: str, person_id: int) -> None:
    """Log a test client in as a staff user or a portal account (``/_test/login``)."""
    web._csrf = None
    assert web.get(f"/_test/login/{kind}/{person_id}").status_code == 200


def client_id() -> str:
    return uuid.uuid4().hex


JANUS = "/usr/bin/janus"


@pytest.fixture(scope="session")
def janus(tmp_path_factory):
    """Janus of the tests on loopback: a generated minimal configuration, free ports,
    stopped at the end of the session (required in CI)."""
    require_or_skip([] if os.path.exists(JANUS) else [f"Janus ({JANUS})"])
    server = LocalJanus(tmp_path_factory.mktemp("janus"), free_port(), free_port(), JANUS).start()
    yield server
    server.stop()


@pytest.fixture
def coturn(tmp_path):
    """Debian's coturn on a free loopback port with a fresh secret."""
    require_or_skip([] if os.path.exists("/usr/bin/turnserver") else ["coturn (/usr/bin/turnserver)"])
    port, plain_port, secret = free_port(), free_port(), secrets.token_hex(16)
    cert, key = tmp_path / "turn.crt", tmp_path / "turn.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    config = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "coturn", "turnserver-test.conf")
    process = subprocess.Popen(
        ["/usr/bin/turnserver", "-c", config, "--tls-listening-port", str(port), "--listening-port", str(plain_port),
         "--cert", str(cert), "--pkey", str(key), "--static-auth-secret", secret,
         "--log-file", str(tmp_path / "turn.log"), "--pidfile", str(tmp_path / "turn.pid"),
         "--userdb", str(tmp_path / "turndb")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:  # ready when it answers on TCP
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "coturn did not start"
            time.sleep(0.1)
    yield port, secret
    process.terminate()
    process.wait(10)


class EchoProcess:
    """The echo test's server peer (``python -m plugins.video.echo``) on a free loopback
    port, as a process of its own; ready when ``/health`` answers."""

    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def __init__(self, log_path, *arguments: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.arguments = arguments
        self.process = None

    def start(self) -> "EchoProcess":
        import sys

        env = {**os.environ, "PYTHONPATH": self.ROOT}
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plugins.video.echo", "--port", str(self.port), *self.arguments],
            cwd=self.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.health()
                return self
            except OSError:
                assert self.process.poll() is None, f"the echo process ended: {self.log_path.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the echo process did not answer"
                time.sleep(0.2)

    def health(self) -> dict:
        import json
        import urllib.request

        with urllib.request.urlopen(self.url + "/health", timeout=2) as reply:
            return json.load(reply)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def echo_process(tmp_path):
    """A real echo process for the test (loopback host candidate only), stopped at teardown."""
    echo = EchoProcess(tmp_path / "echo.log", "--host-address", "127.0.0.1", "--max-sessions", "2",
                       "--seconds", "120").start()
    yield echo
    echo.stop()
