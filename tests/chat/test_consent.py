"""The informed consent (SPEC P2) closes the chat to a patient everywhere: the Socket.IO
namespace, the HTTP endpoints and the pages, by the core's one rule ``portal.chat``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import socketio
import sqlalchemy as sa

from core.db import db
from core.models import ConsentAcceptance, ConsentVersion
from core.testing import login_session
from plugins.chat.models import ChatMessage
from tests.chat.conftest import Browser, ChatSocket, make_account, wait_for

CONSENT_TITLE = "Информированное добровольное согласие на дистанционное консультирование"


def _patient_without_consent(factory):
    doctor = factory.doctor()
    patient = factory.patient(organisation=doctor.organisation)
    account = make_account(factory, patient, consent=False)
    consultation = factory.consultation(author=doctor, patient=patient)
    return doctor, account, consultation


def _accept_current(browser: Browser) -> None:
    version = db.session.scalar(
        sa.select(ConsentVersion).where(ConsentVersion.published_at <= datetime.now(timezone.utc))
        .order_by(ConsentVersion.version.desc())
    )
    response = browser.post("/portal/consent", data={"version_id": version.id, "agree": "yes"}, allow_redirects=False)
    assert response.status_code == 302, response.text


def _publish_new_version() -> None:
    latest = db.session.scalar(sa.select(sa.func.max(ConsentVersion.version)))
    db.session.add(ConsentVersion(
        version=latest + 1, title=CONSENT_TITLE, text="Новая редакция согласия",
        published_at=datetime.now(timezone.utc) - timedelta(seconds=1),
    ))
    db.session.commit()


def _stored_texts() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ChatMessage.text).order_by(ChatMessage.id)))


def test_the_socket_is_refused_until_the_consent_is_accepted(app, server, factory, sockets):
    doctor, account, consultation = _patient_without_consent(factory)
    patient = Browser(server.url, "patient", account.id)
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatSocket(patient)
    # Nor through the HTTP fallback of the socket.
    refused = patient.post(f"/chat/{consultation.id}/messages", json={"client_id": "c1", "text": "Без согласия"})
    assert refused.status_code == 403
    assert _stored_texts() == []

    _accept_current(patient)
    sock = patient.socket()
    sockets.append(sock)
    assert sock.connected
    assert sock.call("join", {"chat": consultation.id, "after": 0})["ok"]
    assert sock.send(consultation.id, "Согласие принято")["ok"]
    assert _stored_texts() == ["Согласие принято"]

    # A new version of the text: within seconds (the periodic re-check of the socket's
    # login) the socket is taken out of the chat and its events are refused until the new
    # text is accepted.
    _publish_new_version()
    wait_for(lambda: sock.received("access_lost"))
    replies = {
        "join": sock.call("join", {"chat": consultation.id, "after": 0}),
        "history": sock.call("history", {"chat": consultation.id}),
        "send": sock.send(consultation.id, "После новой редакции"),
    }
    for event, reply in replies.items():
        assert reply["ok"] is False and reply["status"] == 403, (event, reply)
        assert "messages" not in reply and "message" not in reply
    # Out of the chat: the doctor's words do not reach it.
    doctor_socket = Browser(server.url, "staff", doctor.id).socket()
    sockets.append(doctor_socket)
    assert doctor_socket.send(consultation.id, "Врач пишет")["ok"]
    assert _stored_texts() == ["Согласие принято", "Врач пишет"]
    assert "Врач пишет" not in [m["text"] for m in sock.received("message")]

    _accept_current(patient)
    joined = sock.call("join", {"chat": consultation.id, "after": 0})
    assert joined["ok"] and [m["text"] for m in joined["messages"]] == ["Согласие принято", "Врач пишет"]
    assert sock.send(consultation.id, "Новую редакцию принял")["ok"]
    assert _stored_texts()[-1] == "Новую редакцию принял"


def test_chat_pages_show_the_portal_consent_modal(app, factory):
    doctor, account, consultation = _patient_without_consent(factory)
    browser = app.test_client()
    login_session(browser, account)
    for url in ("/chat/", f"/chat/{consultation.id}"):
        response = browser.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert 'id="consent-modal"' in page and CONSENT_TITLE in page, url
        assert consultation.title not in page, url
    assert browser.get(f"/chat/{consultation.id}/messages").status_code == 403

    # Staff are never asked.
    staff = app.test_client()
    login_session(staff, doctor)
    assert 'id="consent-modal"' not in staff.get(f"/chat/{consultation.id}").get_data(as_text=True)


def test_a_version_published_for_later_or_none_at_all_lets_nobody_in(app, factory):
    """The chat follows ``consent.current_version()``: only a version already published counts."""
    doctor, account, consultation = _patient_without_consent(factory)
    seeded = db.session.scalar(sa.select(ConsentVersion))
    seeded.published_at = datetime.now(timezone.utc) + timedelta(days=1)
    db.session.commit()
    browser = app.test_client()
    login_session(browser, account)
    page = browser.get(f"/chat/{consultation.id}").get_data(as_text=True)
    assert "Раздел временно недоступен" in page and consultation.title not in page
    assert browser.get(f"/chat/{consultation.id}/messages").status_code == 403

    # Accepting the future text beforehand does not open the chat either.
    db.session.add(ConsentAcceptance(account_id=account.id, version_id=seeded.id))
    db.session.commit()
    assert browser.get(f"/chat/{consultation.id}/messages").status_code == 403
    seeded.published_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    assert browser.get(f"/chat/{consultation.id}/messages").status_code == 200
