"""Fixtures for the video tests: a live server, logged-in sessions and /video Socket.IO clients."""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid

import pytest
import socketio

from core.access import principal_for_user
from core.consultations import add_participant
from core.db import db
from core.models import Consultation, User
from core.testing import LiveServer, enable_test_login
from plugins.video import connections
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


def client_id() -> str:
    return uuid.uuid4().hex
