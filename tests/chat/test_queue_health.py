"""The watched Socket.IO queue listener (python-socketio #1581), /healthz's view of it,
and a chat that keeps storing messages while Redis is away."""

from __future__ import annotations

import os
import socket
import threading

import pytest
import redis
import socketio

from core.testing import redis_server
from tests.chat.conftest import Browser, make_cast, wait_for

REDIS_DB = os.environ.get("TELECONSULT_TEST_SCALE_REDIS_DB", "13")


class FreezingProxy:
    """A TCP relay in front of Redis that can go silent on the connections that
    subscribed, as a NAT or firewall that dropped them would: nothing arrives, nothing
    fails, while connections opened after that work (python-socketio #1581)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            state = {"subscriber": False, "frozen": False, "old": self.frozen.is_set()}
            threading.Thread(target=self._pipe, args=(client, upstream, state, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, state, False), daemon=True).start()

    def _pipe(self, source, sink, state, outgoing: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                sink.close()
                return
            if outgoing and b"SUBSCRIBE" in data.upper():
                state["subscriber"] = True
            if state["subscriber"] and self.frozen.is_set() and not state["old"]:
                state["frozen"] = True
            if state["frozen"]:
                continue  # swallowed: the connection stays open and silent
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def queued_server(make_app):
    """A live server whose message queue is a redis-server of this test's own, reached
    through a relay the test can make go silent."""
    from core.testing import LiveServer, enable_test_login

    with redis_server() as (port, process):
        proxy = FreezingProxy(port)
        url = f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}"
        app = make_app(config={"SOCKETIO_MESSAGE_QUEUE": url, "SOCKETIO_QUEUE_PROBE_SECONDS": 0.3})
        enable_test_login(app)
        server = LiveServer(app).start()
        app.teleconsult_test_proxy = proxy
        try:
            yield app, server, url, port
        finally:
            server.stop()
            manager = app.extensions["socketio"].server.manager
            if hasattr(manager, "stop"):
                manager.stop()
            proxy.close()


def test_a_silently_dead_subscription_is_seen_mended_and_the_sockets_resync(queued_server, factory, sockets):
    app, server, url, _port = queued_server
    http = app.test_client()
    assert http.get("/healthz").json["listener"] == "idle"  # no socket yet

    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id).socket()
    sockets.append(patient)
    assert patient.call("join", {"chat": cast.consultation_id})["ok"]
    manager = app.extensions["socketio"].server.manager
    wait_for(lambda: http.get("/healthz").json["listener"] == "ok")

    # The subscribed connection goes silent (python-socketio #1581): the listener waits on
    # it for ever, and nothing published reaches this process any more.
    app.teleconsult_test_proxy.frozen.set()
    failing = wait_for(lambda: (r := http.get("/healthz")).status_code == 503 and r.json)
    assert failing["listener"] == "down" and failing["message_queue"] == "ok"
    healthy = wait_for(lambda: (r := http.get("/healthz")).status_code == 200 and r.json["restarts"] >= 1 and r.json,
                       timeout=20)
    assert healthy["listener"] == "ok", healthy
    wait_for(lambda: patient.received("resync"))  # the page asks for what it missed

    # Events published by another process reach this process's sockets again.
    other = socketio.RedisManager(url, channel="flask-socketio", write_only=True)
    other.emit("message", {"text": "из другого процесса"}, namespace="/chat", room=patient.sio.get_sid("/chat"))
    wait_for(lambda: [m for m in patient.received("message") if m.get("text") == "из другого процесса"])
    assert "teleconsult_socketio_queue_listener_up 1.0" in http.get("/metrics").get_data(as_text=True)


def test_redis_down_is_reported_but_keeps_the_process_in_service(queued_server, factory, sockets):
    app, server, _url, port = queued_server
    http = app.test_client()
    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id).socket()
    sockets.append(patient)
    assert patient.call("join", {"chat": cast.consultation_id})["ok"]
    redis.Redis(port=port).shutdown(nosave=True)
    state = wait_for(lambda: (r := http.get("/healthz")).json["message_queue"] == "down" and r)
    assert state.status_code == 200 and state.json["database"] == "ok"
    # A message is still stored and acknowledged while the queue is away.
    assert patient.send(cast.consultation_id, "без Redis")["ok"]


@pytest.fixture
def slow_probe_server(make_app):
    """As ``queued_server`` without the relay, probing every 3 s: a listener that is
    dropped comes back (python-socketio retries after 1 s) well inside three periods."""
    from core.testing import LiveServer, enable_test_login

    with redis_server() as (port, _process):
        url = f"redis://127.0.0.1:{port}/{REDIS_DB}"
        app = make_app(config={"SOCKETIO_MESSAGE_QUEUE": url, "SOCKETIO_QUEUE_PROBE_SECONDS": 3.0})
        enable_test_login(app)
        server = LiveServer(app).start()
        try:
            yield app, server, port
        finally:
            server.stop()
            app.extensions["socketio"].server.manager.stop()


def test_a_listener_that_subscribed_again_by_itself_has_the_sockets_resync(slow_probe_server, factory, sockets):
    app, server, port = slow_probe_server
    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id).socket()
    sockets.append(patient)
    assert patient.call("join", {"chat": cast.consultation_id})["ok"]
    manager = app.extensions["socketio"].server.manager
    wait_for(lambda: manager.last_heard > 0 and manager.started and not manager.missed)
    heard = manager.last_heard
    wait_for(lambda: manager.last_heard > heard, timeout=20)  # a probe came back: subscribed

    # Redis drops the pub/sub connection only: every publish still goes through, and
    # the listener subscribes again by itself after its one-second sleep. What was
    # published in between never reached this process.
    killed = redis.Redis(port=port).client_kill_filter(_type="pubsub")
    assert killed >= 1
    wait_for(lambda: patient.received("resync"), timeout=30)
    assert manager.restarts == 0 and not manager.gap  # no silence long enough to mend
