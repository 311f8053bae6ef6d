"""After completion the chat is read-only with a notice of the outcome (SPEC D9, P3, P6);
sockets stop receiving when the login ends or access is lost (SPEC P8)."""

from __future__ import annotations

import io
import uuid

import pytest
import socketio
import sqlalchemy as sa

from core import lifecycle
from core.access import principal_for_user
from core.db import db
from core.models import CompletionReason, Consultation, Outcome, Patient, User
from core.storage import store_document
from plugins.chat.models import ChatMessage, ChatRevokedLogin
from tests.chat.conftest import Browser, ChatSocket, make_cast, wait_for
from tests.chat.test_live import PDF, PNG


def _complete_without_conclusion(cast):
    consultation = db.session.get(Consultation, cast.consultation_id)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
    db.session.commit()
    return reason


def test_writes_after_completion_are_refused_with_the_reason(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    patient_socket, doctor_socket = patient.socket(), doctor.socket()
    sockets += [patient_socket, doctor_socket]
    patient_socket.call("join", {"chat": cast.consultation_id})
    assert patient_socket.send(cast.consultation_id, "Спасибо, доктор")["ok"]

    reason = _complete_without_conclusion(cast)
    notice = wait_for(lambda: [m for m in patient_socket.received("message") if m["kind"] == "system"])[0]
    assert reason.name in notice["text"] and "без заключения" in notice["text"]
    wait_for(lambda: patient_socket.received("closed"))
    # The list turns grey for everyone: the unread event says so, the page shows it.
    wait_for(lambda: [u for u in doctor_socket.received("unread") if u.get("closed")])
    assert 'class="chat-item closed"' in doctor.get("/chat/").text

    for sock in (patient_socket, doctor_socket):
        refused = sock.send(cast.consultation_id, "Ещё вопрос")
        assert refused["ok"] is False and refused["status"] == 409
        assert "только для чтения" in refused["error"]
    over_http = patient.post(f"/chat/{cast.consultation_id}/messages", json={"client_id": uuid.uuid4().hex, "text": "x"})
    assert over_http.status_code == 409 and "только для чтения" in over_http.json()["error"]["message"]
    upload = doctor.post(f"/chat/{cast.consultation_id}/files", files=[("files", ("a.png", io.BytesIO(PNG), "image/png"))])
    assert upload.status_code == 409 and "только для чтения" in upload.json()["error"]["message"]
    db.session.expire_all()
    texts = [m.text for m in db.session.scalars(sa.select(ChatMessage).where(ChatMessage.kind == "text"))]
    assert texts == ["Спасибо, доктор"]
    # Reading still works.
    history = patient.get(f"/chat/{cast.consultation_id}/messages").json()
    assert history["closed"] and len(history["messages"]) == 2


def test_the_conclusion_is_offered_in_the_chat(app, server, factory, sockets):
    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id)
    patient_socket = patient.socket()
    sockets.append(patient_socket)
    patient_socket.call("join", {"chat": cast.consultation_id})

    consultation = db.session.get(Consultation, cast.consultation_id)
    document = store_document("заключение.pdf", PDF, kind="conclusion", consultation_id=consultation.id,
                              owner_user_id=cast.doctor_id)
    lifecycle.complete(consultation, Outcome.UPLOADED_CONCLUSION, principal_for_user(consultation.consultant), document=document)
    db.session.commit()

    notice = wait_for(lambda: [m for m in patient_socket.received("message") if m["kind"] == "system"])[0]
    assert "Заключение" in notice["text"] and notice["file"]["name"] == "заключение.pdf"
    view = patient.get(notice["file"]["view_url"])
    assert view.status_code == 200 and view.content == PDF and "inline" in view.headers["Content-Disposition"]
    download = patient.get(notice["file"]["url"])
    assert download.content == PDF and "attachment" in download.headers["Content-Disposition"]
    page = patient.get(f"/chat/{cast.consultation_id}").text
    assert "Просмотреть заключение" in page and "Скачать заключение" in page and "chat-window closed" in page


def test_logout_stops_the_socket_at_once(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    patient_socket, doctor_socket = patient.socket(), doctor.socket()
    sockets += [patient_socket, doctor_socket]
    patient_socket.call("join", {"chat": cast.consultation_id})
    old_cookie = patient.cookie_header()

    response = patient.http.post(f"{server.url}/logout", data={"csrf_token": patient.csrf()}, allow_redirects=False)
    assert response.status_code == 302
    wait_for(lambda: not patient_socket.connected, timeout=30)
    doctor_socket.send(cast.consultation_id, "После выхода")
    doctor_socket.call("history", {"chat": cast.consultation_id})
    assert patient_socket.received("message") == []

    # The old cookie (kept by an attacker or a stale tab) no longer opens a socket.
    stale = Browser(server.url)
    stale.http.headers["Cookie"] = old_cookie
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatSocket(stale)


def test_a_login_ended_in_another_process_stops_within_seconds(make_app, factory, sockets):
    from core.testing import LiveServer, enable_test_login
    from plugins.chat import sessions

    app = factory.app
    app.config["CHAT_RECHECK_SECONDS"] = 0.3
    enable_test_login(app)
    server = LiveServer(app).start()
    try:
        cast = make_cast(factory)
        patient = Browser(server.url, "patient", cast.account_id)
        sock = patient.socket()
        sockets.append(sock)
        sock.call("join", {"chat": cast.consultation_id})
        token = sessions.connections(app).snapshot()[0].token
        # What another web process writes when the user logs out there.
        db.session.add(ChatRevokedLogin(token=token))
        db.session.commit()
        wait_for(lambda: not sock.connected, timeout=30)
        assert sock.received("session_ended")
    finally:
        server.stop()


def test_losing_access_stops_the_chat_within_seconds(app, factory, sockets):
    from core.testing import LiveServer, enable_test_login

    app.config["CHAT_RECHECK_SECONDS"] = 0.3
    enable_test_login(app)
    server = LiveServer(app).start()
    try:
        cast = make_cast(factory)
        doctor = Browser(server.url, "staff", cast.doctor_id)
        patient = Browser(server.url, "patient", cast.account_id)
        patient_socket, doctor_socket = patient.socket(), doctor.socket()
        sockets += [patient_socket, doctor_socket]
        patient_socket.call("join", {"chat": cast.consultation_id})

        # The registry record is unlinked from the portal account: the chat is no longer theirs.
        person = db.session.get(Patient, cast.patient_id)
        person.portal_account_id = None
        db.session.commit()
        wait_for(lambda: patient_socket.received("access_lost"), timeout=30)
        doctor_socket.send(cast.consultation_id, "Уже не для вас")
        doctor_socket.call("history", {"chat": cast.consultation_id})
        assert patient_socket.received("message") == []
        refused = patient_socket.call("history", {"chat": cast.consultation_id})
        assert refused["ok"] is False

        # A deactivated staff account is disconnected altogether.
        user = db.session.get(User, cast.doctor_id)
        user.is_active = False
        db.session.commit()
        wait_for(lambda: not doctor_socket.connected, timeout=30)
    finally:
        server.stop()
