"""Hostile values over Socket.IO never give a 5xx acknowledgement or a traceback (issue 12;
charter: «a clear message in Russian and a 4xx»).

The walk finds its events in the namespaces the app registered (every ``on_<event>``
method of every plugin's namespace), and the fields each event reads in the handler's
source (``data.get("x")``, ``data["x"]``): a new plugin's events are walked without
touching this file. Each event is sent, as a doctor and as a patient who both take part in
a consultation, with every field hostile in turn (the others valid), with the hostile value
as the whole argument, and as a raw frame whose event name is not a string; the connection
itself gets the hostile values in its ``auth``.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import logging
import re

import time

import pytest
import socketio
from socketio import packet

from core.testing import LiveServer, enable_test_login
from tests.chat.conftest import Browser, make_cast

# Past the transport's limit (engine.io's max_http_buffer_size, 1 MB): the server drops
# the connection, which the walk then opens again.
MEGABYTE = "x" * 1_000_000
HOSTILE = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "x" * 100_000,
    float("inf"),
    float("-inf"),
    float("nan"),
    1e300,
    2**31,
    2**63,
    2**64,
    -1,
    -(2**31) - 1,
    0,
    True,
    None,
    [],
    [1, 2],
    {},
    {"a": "\ud800"},
    "1e400",
    "",
    "٣",
]
# The refusal of 1e400 is the JSON parser's (it reads inf): sent as raw text below.
_FIELD = re.compile(r"""(?:data|auth|args)(?:\.get\(|\[)\s*["']([a-z_]+)["']""")
_NOT_STRING_EVENTS = [123, None, ["join"], {"a": 1}, 2**64, 1.5, True]


def _namespaces(app) -> dict[str, object]:
    return dict(app.extensions["socketio"].server.namespace_handlers)


def _events(handler) -> dict[str, list[str]]:
    """``{event: [fields it reads]}`` of one namespace object."""
    found = {}
    for name, method in inspect.getmembers(handler, callable):
        if not name.startswith("on_") or name in ("on_disconnect",):
            continue
        source = inspect.getsource(inspect.unwrap(method))
        found[name[3:]] = sorted(set(_FIELD.findall(source)))
    return found


class _Tracebacks(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def tracebacks():
    handler = _Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)


def _client(browser: Browser, url: str, namespace: str, auth=None) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    headers = {"Cookie": browser.cookie_header(), "User-Agent": browser.http.headers["User-Agent"]}
    sio.connect(url, namespaces=[namespace], headers=headers, auth=auth, transports=["websocket"], wait_timeout=10)
    return sio


def _raw(sio: socketio.Client, namespace: str, event, data) -> None:
    """A frame a browser library would never send: the event name as given."""
    sio._send_packet(sio.packet_class(packet.EVENT, namespace=namespace, data=[event, data]))


def test_every_socket_event_survives_hostile_values(app, factory, tracebacks):
    enable_test_login(app)
    server = LiveServer(app).start()
    answers: list = []
    sent = 0
    try:
        cast = make_cast(factory)
        valid = {"chat": cast.consultation_id, "consultation_id": cast.consultation_id, "seq": 1,
                 "after": 0, "before": 5, "client_id": "walk-1", "text": "Здравствуйте"}
        people = [Browser(server.url, "staff", cast.doctor_id), Browser(server.url, "patient", cast.account_id)]
        namespaces = _namespaces(app)
        assert "/chat" in namespaces, "the walk finds the namespaces the plugins registered"
        for namespace, handler in namespaces.items():
            events = _events(handler)
            assert events, f"no events found in {namespace}"
            for person in people:
                def connect_with(value, person=person, namespace=namespace):
                    try:  # the connection's own argument
                        _client(person, server.url, namespace, auth={"chats": [value]}).disconnect()
                    except socketio.exceptions.ConnectionError:
                        pass  # refused: fine, as long as nothing crashed

                # Each attempt mostly waits for its handshake: they go at once.
                values = HOSTILE[:8] + [{"chats": [2**63]}, {"chats": "\ud800"}]
                with concurrent.futures.ThreadPoolExecutor(len(values)) as pool:
                    list(pool.map(connect_with, values))
                sent += len(values)
                sio = _client(person, server.url, namespace)
                for event, fields in events.items():
                    if event == "connect":
                        continue
                    payloads = [MEGABYTE, *HOSTILE]
                    for field in fields or ["chat"]:
                        payloads += [valid | {field: value} for value in HOSTILE]
                    for payload in payloads:
                        if not sio.connected:
                            sio = _client(person, server.url, namespace)
                        if payload is MEGABYTE:
                            # Over the frame limit the server drops the connection instead of
                            # answering: wait for either, not for a timeout.
                            acked: list = []
                            sio.emit(event, payload, namespace=namespace, callback=lambda *a: acked.append(a))
                            deadline = time.monotonic() + 60
                            while sio.connected and not acked and time.monotonic() < deadline:
                                time.sleep(0.02)
                            answers += [(namespace, event, a[0] if a else None) for a in acked]
                            sent += 1
                            continue
                        try:
                            answer = sio.call(event, payload, namespace=namespace, timeout=20)
                            answers.append((namespace, event, answer))
                        except socketio.exceptions.TimeoutError:
                            answers.append((namespace, event, "no answer"))
                        except socketio.exceptions.BadNamespaceError:
                            sio = _client(person, server.url, namespace)
                        sent += 1
                    # 1e400 as the client's JSON text: Python's parser reads it as infinity.
                    sio.eio.send(f'2{namespace},9999["{event}",{{"chat":1e400,"seq":1e400,"text":NaN}}]')
                    sent += 1
                for name in _NOT_STRING_EVENTS:
                    if not sio.connected:
                        sio = _client(person, server.url, namespace)
                    _raw(sio, namespace, name, {"chat": cast.consultation_id})
                    sent += 1
                # Still alive and answering after all of it.
                if not sio.connected:
                    sio = _client(person, server.url, namespace)
                first = next(iter(e for e in events if e != "connect"))
                answers.append((namespace, first, sio.call(first, valid, namespace=namespace, timeout=20)))
                sio.disconnect()
    finally:
        server.stop()
    server_errors = [a for a in answers if a[2] == "no answer" or (isinstance(a[2], dict) and (a[2].get("status") or 0) >= 500)]
    assert sent > 100 and not server_errors, server_errors[:5]
    assert any(isinstance(a[2], dict) and a[2].get("ok") for a in answers), "valid events were answered"
    crashes = [r for r in tracebacks if r.exc_info or "Traceback" in r.getMessage()]
    assert not crashes, [r.getMessage() for r in crashes[:3]]
