"""A login ended on the server stops its sockets too (SPEC D1, P8; issue 12): the core's
socket watch (core.sessions) disconnects them whatever ended the session, without the
chat's own logout path, and the old cookie opens neither a page nor a socket."""

from __future__ import annotations

from datetime import timedelta

import pytest
import socketio

from core.db import db, utcnow
from core.models import User
from core.testing import LiveServer, enable_test_login
from tests.chat.conftest import Browser, ChatSocket, make_cast, wait_for


@pytest.mark.parametrize("change", ["password", "deactivated", "locked"])
def test_an_account_change_disconnects_the_sockets_of_its_sessions(app, factory, sockets, change):
    app.config["CHAT_RECHECK_SECONDS"] = 3600.0  # not the chat's own re-check: the core's
    enable_test_login(app)
    server = LiveServer(app).start()
    try:
        cast = make_cast(factory)
        doctor = Browser(server.url, "staff", cast.doctor_id)
        sock = doctor.socket()
        sockets.append(sock)
        assert sock.call("join", {"chat": cast.consultation_id})["ok"]
        user = db.session.get(User, cast.doctor_id)
        if change == "password":
            user.set_password("another password 42")  # as the admin console does
        elif change == "locked":
            user.locked_until = utcnow() + timedelta(days=1)  # an operator's lock
        else:
            user.is_active = False
        db.session.commit()
        wait_for(lambda: not sock.connected, timeout=15)
        assert sock.received("session_ended")
        page = doctor.get("/workplace/", allow_redirects=False)
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        with pytest.raises(socketio.exceptions.ConnectionError):
            ChatSocket(doctor)
    finally:
        server.stop()


def test_logout_disconnects_the_sockets_of_every_session_of_the_account(app, factory, sockets):
    enable_test_login(app)
    server = LiveServer(app).start()
    try:
        cast = make_cast(factory)
        phone = Browser(server.url, "patient", cast.account_id)
        laptop = Browser(server.url, "patient", cast.account_id)
        phone_socket = phone.socket()
        sockets.append(phone_socket)
        assert phone_socket.call("join", {"chat": cast.consultation_id})["ok"]
        response = laptop.http.post(f"{server.url}/logout", data={"csrf_token": laptop.csrf()}, allow_redirects=False)
        assert response.status_code == 302
        wait_for(lambda: not phone_socket.connected, timeout=15)
        assert phone.get(f"/portal/chats/{cast.consultation_id}", allow_redirects=False).status_code == 302
    finally:
        server.stop()
