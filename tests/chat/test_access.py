"""Nobody outside a consultation reads or writes its chat: every HTTP endpoint of the plugin
and every event of the /chat namespace is checked for a third user of the same
organisation, a doctor of another organisation, an unrelated patient and an anonymous
client (SPEC D7, P3; house rule: every view and event goes through core.access)."""

from __future__ import annotations

import inspect
import io
import re
import uuid

import pytest
import socketio
import sqlalchemy as sa

from plugins.chat.events import ChatNamespace
from plugins.chat.models import ChatMessage
from tests.chat.conftest import Browser, ChatSocket, make_account, make_cast, wait_for
from tests.chat.test_live import PNG

SECRET = "Секретный текст консультации"

# Endpoints that carry no chat data at all.
PUBLIC = {"chat.vendor": "the socket.io-client browser build", "chat.static": "the plugin's CSS and JS"}


def _outsiders(factory, cast, url):
    from core.db import db
    from core.models import Organisation

    organisation = db.session.get(Organisation, cast.organisation_id)
    same_org_doctor = factory.doctor(organisation=organisation)
    other_org_doctor = factory.doctor(organisation=factory.organisation())
    stranger = factory.patient(organisation=organisation)
    stranger_account = make_account(factory, stranger)
    return {
        "third user of the organisation": Browser(url, "staff", same_org_doctor.id),
        "doctor of another organisation": Browser(url, "staff", other_org_doctor.id),
        "another patient": Browser(url, "patient", stranger_account.id),
        "anonymous": Browser(url),
    }


def _url_for_rule(rule, consultation_id, document_id):
    values = {"consultation_id": consultation_id, "document_id": document_id, "filename": "x"}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_outsiders_can_neither_read_nor_write_over_http(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    sock = doctor.socket()
    sockets.append(sock)
    assert sock.send(cast.consultation_id, SECRET)["ok"]
    uploaded = doctor.post(f"/chat/{cast.consultation_id}/files", files=[("files", ("скан.png", io.BytesIO(PNG), "image/png"))])
    document_id = uploaded.json()["messages"][0]["file"]["id"]
    from core.db import db

    messages_before = db.session.scalar(sa.select(sa.func.count(ChatMessage.id)))

    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("chat.")]
    checked = set()
    for name, outsider in _outsiders(factory, cast, server.url).items():
        for rule in rules:
            if rule.endpoint in PUBLIC:
                continue
            url = _url_for_rule(rule, cast.consultation_id, document_id)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = outsider.get(url, allow_redirects=False, headers={"Accept": "application/json"})
                else:
                    response = outsider.post(
                        url, json={"client_id": uuid.uuid4().hex, "text": "вторжение", "seq": 99},
                        allow_redirects=False,
                    )
                    files = outsider.post(url, files=[("files", ("x.png", io.BytesIO(PNG), "image/png"))], allow_redirects=False)
                    assert files.status_code in (302, 401, 403, 404), (name, url, files.status_code)
                checked.add((rule.endpoint, method))
                body = response.text
                assert SECRET not in body and "скан.png" not in body, (name, method, url)
                if rule.endpoint == "chat.index":
                    # Their own (empty) list: it must not show this consultation.
                    assert response.status_code in (200, 302, 401, 403)
                    assert f'data-consultation="{cast.consultation_id}"' not in body
                else:
                    assert response.status_code in (302, 401, 403, 404), (name, method, url, response.status_code)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(ChatMessage.id))) == messages_before
    endpoints = {endpoint for endpoint, _ in checked}
    assert endpoints == {r.endpoint for r in rules} - set(PUBLIC)
    assert ("chat.send", "POST") in checked and ("chat.upload", "POST") in checked


def _events() -> list[str]:
    return sorted(
        name[3:] for name, _ in inspect.getmembers(ChatNamespace, inspect.isfunction)
        if name.startswith("on_") and name not in ("on_connect", "on_disconnect")
    )


def test_outsiders_can_neither_read_nor_write_over_the_socket(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    doctor_socket = doctor.socket()
    sockets.append(doctor_socket)
    doctor_socket.call("join", {"chat": cast.consultation_id})
    second_tab = doctor.socket()  # the sender's own socket has the message in its ack only
    sockets.append(second_tab)
    second_tab.call("join", {"chat": cast.consultation_id})
    assert set(_events()) >= {"join", "send", "history", "read", "leave"}

    outsiders = _outsiders(factory, cast, server.url)
    anonymous = outsiders.pop("anonymous")
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatSocket(anonymous)

    watchers = []
    for name, outsider in outsiders.items():
        sock = outsider.socket()
        sockets.append(sock)
        watchers.append(sock)
        for event in _events():
            reply = sock.call(event, {"chat": cast.consultation_id, "client_id": uuid.uuid4().hex, "text": "вторжение", "seq": 1, "after": 0})
            assert reply["ok"] is False and reply["status"] in (403, 404), (name, event, reply)
            assert "messages" not in reply and "message" not in reply

    assert doctor_socket.send(cast.consultation_id, SECRET)["ok"]
    wait_for(lambda: second_tab.received("message"))
    # Nothing of the chat reached the outsiders' sockets, and nothing of theirs was stored.
    doctor_socket.call("history", {"chat": cast.consultation_id})
    for sock in watchers:
        assert sock.received("message") == [] and sock.received("read") == []
        assert all(u["chat"] != cast.consultation_id for u in sock.received("unread"))
    from core.db import db

    texts = list(db.session.scalars(sa.select(ChatMessage.text)))
    assert texts == [SECRET]


def test_a_foreign_origin_is_refused(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatSocket(doctor, origin="https://evil.example")
    same = ChatSocket(doctor, origin=server.url)
    sockets.append(same)
    assert same.connected


def test_nul_bytes_and_deep_nesting_in_events_are_refused_in_russian(app, server, factory, sockets):
    cast = make_cast(factory)
    sock = Browser(server.url, "staff", cast.doctor_id).socket()
    sockets.append(sock)
    assert sock.call("join", {"chat": cast.consultation_id})["ok"]
    deep: dict = {"chat": cast.consultation_id}
    for _ in range(40):
        deep = {"nested": deep}
    for data in (
        {"chat": cast.consultation_id, "client_id": uuid.uuid4().hex, "text": "Добрый\x00день"},
        {"chat": cast.consultation_id, "client_id": "id\x00", "text": "Добрый день"},
        {"chat": cast.consultation_id, "client_id": uuid.uuid4().hex, "text": "Добрый день", "\x00": 1},
        deep,
    ):
        reply = sock.call("send", data)
        assert reply["ok"] is False and reply["status"] == 400, reply
        assert "символ" in reply["error"] or "вложенность" in reply["error"]
    from core.db import db

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(ChatMessage.id))) == 0
    assert sock.send(cast.consultation_id, "Добрый день")["ok"]  # the socket still works
