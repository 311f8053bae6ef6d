"""Doctor and patient chat live; unread counters; attachments (SPEC D7, P3, P4)."""

from __future__ import annotations

import io
import uuid

import sqlalchemy as sa

from core.db import db
from core.models import Consultation, ConsultationStatus, Document
from plugins.chat.models import ChatMessage
from tests.chat.conftest import Browser, make_cast, wait_for

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_doctor_and_patient_exchange_messages_live(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    doctor_socket, patient_socket = doctor.socket(), patient.socket()
    doctor_tab = doctor.socket()  # another tab of the doctor's, with the chat open too
    sockets += [doctor_socket, patient_socket, doctor_tab]

    joined = patient_socket.call("join", {"chat": cast.consultation_id, "after": 0})
    assert joined["ok"] and joined["messages"] == [] and not joined["closed"]
    assert doctor_socket.call("join", {"chat": cast.consultation_id})["ok"]
    assert doctor_tab.call("join", {"chat": cast.consultation_id})["ok"]

    sent = doctor_socket.send(cast.consultation_id, "Здравствуйте! Как самочувствие?")
    assert sent["ok"] and sent["message"]["seq"] == 1 and sent["message"]["side"] == "staff"
    got = wait_for(lambda: patient_socket.received("message"))
    assert got[0]["text"] == "Здравствуйте! Как самочувствие?"

    reply = patient_socket.send(cast.consultation_id, "<script>alert(1)</script> Лучше, спасибо")
    assert reply["ok"]
    # The sending socket has its own message in the acknowledgement; the sender's other
    # tab gets both, in order.
    wait_for(lambda: len(doctor_tab.received("message")) == 2)
    assert [m["seq"] for m in doctor_tab.received("message")] == [1, 2]
    assert [m["seq"] for m in wait_for(lambda: doctor_socket.received("message"))] == [2]

    # The first real message started the consultation (scheduled → in progress).
    db.session.expire_all()
    assert db.session.get(Consultation, cast.consultation_id).status == ConsultationStatus.IN_PROGRESS

    # History over HTTP, in order; markup is shown as text, never as markup.
    history = doctor.get(f"/chat/{cast.consultation_id}/messages").json()
    assert [m["text"] for m in history["messages"]] == [
        "Здравствуйте! Как самочувствие?", "<script>alert(1)</script> Лучше, спасибо"
    ]
    page = patient.get(f"/chat/{cast.consultation_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Лучше, спасибо" in page
    assert "<script>alert(1)</script>" not in page
    assert doctor.get("/chat/").status_code == 200


def test_resend_with_the_same_client_id_stores_once(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    sock = doctor.socket()
    sockets.append(sock)
    first = sock.send(cast.consultation_id, "Один раз", client_id="fixed-id-1")
    again = sock.send(cast.consultation_id, "Один раз", client_id="fixed-id-1")
    assert first["ok"] and again["ok"] and again["duplicate"]
    assert again["message"]["id"] == first["message"]["id"]
    assert db.session.scalar(sa.select(sa.func.count(ChatMessage.id))) == 1


def test_client_ids_are_short_plain_names_that_never_meet_a_file_upload(app, server, factory, sockets):
    """A text's client id may not look like one of the "<client id>:<index>" ids that the
    messages of an upload take: a resend of such a text would get the file back (SPEC P4)."""
    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id)
    sock = patient.socket()
    sockets.append(sock)
    uploaded = patient.post(
        f"/chat/{cast.consultation_id}/files",
        files=[("files", ("анализ.png", io.BytesIO(PNG), "image/png"))], data={"client_id": "upload-7"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["messages"][0]["client_id"] == "upload-7:0"

    for refused_id in ("upload-7:0", "a" * 57, "line\n", "пробел", "", "a b", None, 7):
        answer = sock.call("send", {"chat": cast.consultation_id, "client_id": refused_id, "text": "Текст"})
        assert not answer["ok"] and answer["status"] == 422, refused_id
        assert "идентификатор" in answer["error"]
    over_http = patient.post(f"/chat/{cast.consultation_id}/messages", json={"client_id": "upload-7:0", "text": "Текст"})
    assert over_http.status_code == 422

    longest = sock.send(cast.consultation_id, "Самый длинный", client_id="A-z_0.9" + "x" * 49)
    assert longest["ok"] and not longest["duplicate"] and longest["message"]["text"] == "Самый длинный"
    texts = db.session.scalars(sa.select(ChatMessage.text).order_by(ChatMessage.seq)).all()
    assert texts == ["", "Самый длинный"]  # the file, then the one text accepted


def test_paging_returns_older_pages_in_order(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    sock = doctor.socket()
    sockets.append(sock)
    for n in range(60):
        assert sock.send(cast.consultation_id, f"сообщение {n}")["ok"]
    page = doctor.get(f"/chat/{cast.consultation_id}/messages").json()
    assert [m["seq"] for m in page["messages"]] == list(range(11, 61)) and page["more"]
    older = doctor.get(f"/chat/{cast.consultation_id}/messages?before=11").json()
    assert [m["seq"] for m in older["messages"]] == list(range(1, 11)) and not older["more"]
    replay = sock.call("history", {"chat": cast.consultation_id, "after": 55})
    assert [m["seq"] for m in replay["messages"]] == [56, 57, 58, 59, 60]


def test_unread_counters_go_up_and_down_in_every_tab(app, server, factory, sockets):
    from core import worklists
    from core.access import principal_for_account
    from core.models import PortalAccount

    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    doctor_socket = doctor.socket()
    # Two tabs of the patient: the chat list and the chat itself.
    list_tab, chat_tab = patient.socket(), patient.socket()
    sockets += [doctor_socket, list_tab, chat_tab]

    doctor_socket.send(cast.consultation_id, "Первое")
    doctor_socket.send(cast.consultation_id, "Второе")
    for tab in (list_tab, chat_tab):
        wait_for(lambda tab=tab: [u for u in tab.received("unread") if u["unread"] == 2])

    account = db.session.get(PortalAccount, cast.account_id)
    consultation = db.session.get(Consultation, cast.consultation_id)
    principal = principal_for_account(account)
    db.session.expire_all()
    assert worklists.badges([consultation], principal) == {cast.consultation_id: 2}
    # The list page shows the blue circle with the number.
    assert 'aria-label="Непрочитанных сообщений: 2">2</span>' in patient.get("/chat/").text

    doctor_socket.call("join", {"chat": cast.consultation_id})
    read = chat_tab.call("read", {"chat": cast.consultation_id, "seq": 2})
    assert read["ok"] and read["unread"] == 0
    for tab in (list_tab, chat_tab):
        wait_for(lambda tab=tab: tab.received("unread")[-1]["unread"] == 0)
    # The doctor sees that the patient has read both messages.
    wait_for(lambda: [r for r in doctor_socket.received("read") if r["side"] == "patient" and r["seq"] == 2])
    db.session.expire_all()
    assert worklists.badges([consultation], principal) == {}


def test_attachments_upload_and_download(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    doctor_socket = doctor.socket()
    sockets.append(doctor_socket)
    doctor_socket.call("join", {"chat": cast.consultation_id})

    response = patient.post(
        f"/chat/{cast.consultation_id}/files",
        files=[("files", ("анализ.png", io.BytesIO(PNG), "image/png")), ("files", ("выписка.pdf", io.BytesIO(PDF), "application/pdf"))],
        data={"client_id": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    stored = response.json()["messages"]
    assert [m["file"]["name"] for m in stored] == ["анализ.png", "выписка.pdf"]
    wait_for(lambda: len(doctor_socket.received("message")) == 2)

    for message, content in zip(stored, (PNG, PDF)):
        download = doctor.get(message["file"]["url"])
        assert download.status_code == 200 and download.content == content
        assert "attachment" in download.headers["Content-Disposition"]

    # A file refused by its content: a clear message, and nothing of the request is kept.
    files_before = db.session.scalar(sa.select(sa.func.count(Document.id)))
    refused = patient.post(
        f"/chat/{cast.consultation_id}/files",
        files=[("files", ("ещё.png", io.BytesIO(PNG), "image/png")), ("files", ("вирус.pdf", io.BytesIO(b"MZ\x90\x00 not a pdf"), "application/pdf"))],
    )
    assert refused.status_code == 422
    assert "вирус.pdf" in refused.json()["error"]["message"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == files_before
    storage_dir = app.config["STORAGE_DIR"]
    import pathlib

    assert len([p for p in pathlib.Path(storage_dir).rglob("*") if p.is_file()]) == files_before


def test_a_patient_sees_no_chat_before_accepting_the_consent(app, server, factory):
    from tests.chat.conftest import make_account

    cast = make_cast(factory)
    newcomer = make_account(factory, factory.patient(), consent=False)
    browser = Browser(server.url, "patient", newcomer.id)
    for path in ("/chat/", f"/chat/{cast.consultation_id}"):
        response = browser.get(path, allow_redirects=False)
        assert response.status_code == 200 and 'id="consent-modal"' in response.text  # the portal's modal


def test_the_page_works_without_script(app, server, factory):
    cast = make_cast(factory)
    patient = Browser(server.url, "patient", cast.account_id)
    response = patient.http.post(
        f"{server.url}/chat/{cast.consultation_id}/messages",
        data={"csrf_token": patient.csrf(), "client_id": uuid.uuid4().hex, "text": "Без скриптов"},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert "Без скриптов" in patient.get(f"/chat/{cast.consultation_id}").text


def test_a_reply_tells_the_other_side_that_the_sender_has_read(app, server, factory, sockets):
    """The patient answers before the window sends `read`: the doctor's «Отправлено» still
    becomes «Прочитано», since writing moves the patient's read mark (D7, P3)."""
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    doctor_socket, patient_socket = doctor.socket(), patient.socket()
    sockets += [doctor_socket, patient_socket]
    assert doctor_socket.call("join", {"chat": cast.consultation_id})["ok"]
    assert patient_socket.call("join", {"chat": cast.consultation_id, "after": 0})["ok"]
    assert doctor_socket.send(cast.consultation_id, "Как вы себя чувствуете?")["ok"]
    wait_for(lambda: patient_socket.received("message"))
    assert patient_socket.send(cast.consultation_id, "Хорошо")["ok"]  # no `read` sent first
    marks = wait_for(lambda: [r for r in doctor_socket.received("read") if r["side"] == "patient"])
    assert marks[-1]["seq"] == 2
