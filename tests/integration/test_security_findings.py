"""The smaller findings of issue 12, each as an attacker or a confused user meets it:
polyglot uploads, login timing, the schedule's surnames, the development outbox, the
404-vs-403 oracle on consultation ids, the message for too many files, and the
``Server`` header."""

from __future__ import annotations

import io
import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import werkzeug.security

from core.db import db
from core.models import AuditEvent, Document
from core.storage import store_document
from core.testing import PASSWORD, login_session

# A PDF to a PDF reader, a page with a script to a browser that sniffs it as HTML.
POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"


# --------------------------------------------------------------------------- polyglots


def _disposition_name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition) or re.search(r'filename="?([^";]+)', disposition)
    from urllib.parse import unquote

    return unquote(match.group(1))


def test_a_file_gets_the_extension_of_its_detected_type():
    from core.storage import typed_filename

    assert typed_filename("invoice.html", "application/pdf") == "invoice.pdf"
    assert typed_filename("scan.jpeg", "image/jpeg") == "scan.jpeg"
    assert typed_filename("scan.JPG", "image/jpeg") == "scan.JPG"
    assert typed_filename("снимок", "image/png") == "снимок.png"
    assert typed_filename(".htaccess", "application/pdf") == ".htaccess.pdf"
    assert typed_filename("archive.tar.svg", "application/zip") == "archive.tar.zip"


def test_a_polyglot_uploaded_to_the_chat_is_stored_and_served_as_what_it_is(app, client, factory):
    consultation = factory.consultation()
    login_session(client, consultation.consultant)
    response = client.post(
        f"/chat/{consultation.id}/files",
        data={"files": (io.BytesIO(POLYGLOT), "invoice.html")},
        headers={"X-CSRFToken": client.csrf_token("/workplace/"), "Accept": "application/json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    document = db.session.scalar(sa.select(Document).where(Document.kind == "chat_attachment"))
    assert document.filename == "invoice.pdf" and document.content_type == "application/pdf"
    assert document.storage_key.endswith(".pdf")
    assert [p.suffix for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()] == [".pdf"]
    download = client.get(f"/chat/{consultation.id}/files/{document.id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert _disposition_name(download) == "invoice.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_polyglot_conclusion_is_stored_and_served_as_what_it_is(client, factory):
    from tests.api.conftest import Api
    from core.api.auth import create_token

    consultation = factory.consultation()
    _token, value = create_token("МИС", consultation.organisation_id, ["consultations:read", "consultations:write"])
    db.session.commit()
    api = Api(client, value)
    uploaded = api.client.post(
        f"/api/v1/consultations/{consultation.id}/complete-with-conclusion",
        data={"document": (io.BytesIO(POLYGLOT), "заключение.html")},
        headers={"Authorization": f"Bearer {value}"},
    )
    assert uploaded.status_code == 200, uploaded.get_data(as_text=True)
    assert uploaded.get_json()["conclusion"]["filename"] == "заключение.pdf"
    download = api.get(f"/api/v1/consultations/{consultation.id}/conclusion")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert _disposition_name(download) == "заключение.pdf"


def test_a_file_stored_before_under_another_extension_is_served_under_its_type(client, factory):
    consultation = factory.consultation()
    document = store_document("old.pdf", POLYGLOT, consultation_id=consultation.id, owner_user_id=consultation.author_id)
    document.filename = "old.html"  # as a row written before names followed the type
    db.session.commit()
    login_session(client, consultation.author)
    download = client.get(f"/workplace/documents/{document.id}/download")
    assert download.status_code == 200, download.status_code
    assert _disposition_name(download) == "old.pdf"


# --------------------------------------------------------------------------- login timing


def test_an_unknown_login_costs_the_same_as_a_wrong_password(client, factory, monkeypatch):
    """No clock: both paths hash once with the same method and cost and write one event."""
    factory.doctor(login="timing")
    hashed: list[str] = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        hashed.append(pwhash.split("$", 1)[0])  # "scrypt:32768:8:1": method and cost
        return real(pwhash, password)

    monkeypatch.setattr("core.auth.check_password_hash", counting)
    monkeypatch.setattr("core.models.users.check_password_hash", counting)
    work = {}
    for login in ("timing", "nobody-at-all"):
        hashed.clear()
        before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        assert client.login(login, "wrong password").status_code == 401
        db.session.expire_all()
        events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) - before
        work[login] = (list(hashed), events)
    assert work["timing"] == work["nobody-at-all"], work
    assert len(work["timing"][0]) == 1 and work["timing"][1] == 1
    unknown = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert unknown.action == "auth.login_failed" and "nobody-at-all" not in str(unknown.data)


# --------------------------------------------------------------------------- schedule


def test_colleagues_see_a_booked_slot_as_taken_without_the_surname(client, factory):
    doctor = factory.doctor()
    colleague = factory.doctor(organisation=doctor.organisation)
    patient = factory.patient(organisation=doctor.organisation, last_name="Скрытнова")
    consultation = factory.consultation(author=doctor, consultant=doctor, patient=patient)
    week = consultation.slot.starts_at.date().isoformat()
    url = f"/workplace/schedule?doctor={doctor.id}&week={week}"

    login_session(client, colleague)
    page = client.get(url).get_data(as_text=True)
    assert "Скрытнова" not in page and "занят" in page
    assert f"/workplace/applications/{consultation.id}" not in page

    login_session(client, doctor)
    own = client.get(url).get_data(as_text=True)
    assert "Скрытнова" in own


# --------------------------------------------------------------------------- outbox


def test_the_development_outbox_shows_staff_only_their_organisations_mail(app, client, factory):
    from plugins.notifications.channels import outbox_name
    from plugins.notifications.models import Notification

    consultation = factory.consultation()
    keys = list(db.session.scalars(sa.select(Notification.key).where(Notification.consultation_id == consultation.id)))
    names = [outbox_name(k) for k in keys if (Path(app.config["DATA_DIR"]) / "outbox" / outbox_name(k)).is_file()]
    assert names, "the registration e-mail is in the outbox"
    stranger = factory.doctor()  # another organisation
    colleague = factory.user(("registrar",), consultation.organisation)
    operator = factory.user(("operator",), factory.organisation())

    login_session(client, stranger)
    listing = client.get("/notifications/outbox")
    assert listing.status_code == 200
    assert not any(name in listing.get_data(as_text=True) for name in names)
    assert client.get(f"/notifications/outbox/{names[0]}").status_code == 404

    for reader in (colleague, consultation.author, operator):
        login_session(client, reader)
        assert names[0] in client.get("/notifications/outbox").get_data(as_text=True)
        assert client.get(f"/notifications/outbox/{names[0]}").status_code == 200


# --------------------------------------------------------------------------- 404 vs 403


def test_a_token_without_consultation_scopes_cannot_tell_which_ids_exist(client, factory):
    from core.api.auth import create_token

    consultation = factory.consultation()
    doctor_id = consultation.consultant_id
    tokens = {}
    for scopes in (["registry:read"], ["consultations:write"]):
        for organisation in (consultation.organisation, factory.organisation()):
            _t, value = create_token("МИС", organisation.id, scopes)
            tokens[(tuple(scopes), organisation.id)] = value
    db.session.commit()
    missing = consultation.id + 1000
    paths = [
        ("get", "/api/v1/consultations/{}"),
        ("get", "/api/v1/consultations/{}/conclusion"),
        ("post", "/api/v1/consultations/{}/complete"),
        ("post", "/api/v1/consultations/{}/complete-with-conclusion"),
        ("get", "/api/v1/consultations/{}/signed-conclusion"),
    ]
    for (scopes, organisation_id), value in tokens.items():
        headers = {"Authorization": f"Bearer {value}"}
        for method, path in paths:
            answers = {
                getattr(client, method)(path.format(cid), headers=headers, json={}).status_code
                for cid in (consultation.id, missing)
            }
            if "consultations:write" in scopes and organisation_id == consultation.organisation_id:
                continue  # may act on its own organisation's consultations: not an oracle
            assert len(answers) == 1, (scopes, path, answers)
            if scopes == ("registry:read",):
                assert answers == {403}, (path, answers)
        slots = {
            client.get(f"/api/v1/doctors/{d}/free-slots", headers=headers).status_code for d in (doctor_id, doctor_id + 1000)
        }
        if scopes == ("registry:read",):
            assert slots == {403}, slots


# --------------------------------------------------------------------------- too many files


def test_too_many_files_at_once_are_named_so(make_app):
    app = make_app(config={"MAX_CONTENT_LENGTH": 4096, "DOCUMENT_MAX_SIZE": 2048})
    from core.testing import Factory

    with app.app_context():
        factory = Factory(app)
        consultation = factory.consultation()
        client = app.test_client()
        login_session(client, consultation.consultant)
        page = client.get("/workplace/").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        # Each file within DOCUMENT_MAX_SIZE, the three together over MAX_CONTENT_LENGTH.
        files = [(io.BytesIO(b"%PDF-1.4\n" + b"0" * 1800), f"{n}.pdf") for n in range(3)]
        for accept in ("application/json", "text/html"):
            response = client.post(
                f"/chat/{consultation.id}/files",
                data={"files": [(io.BytesIO(f.getvalue()), name) for f, name in files]},
                headers={"X-CSRFToken": token, "Accept": accept},
            )
            text = response.get_json()["error"]["message"] if accept == "application/json" else response.get_data(as_text=True)
            assert response.status_code == 413, text
            assert "Слишком много файлов" in text, text
            assert "Файл слишком большой" not in text and "Слишком большой файл" not in text
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


# --------------------------------------------------------------------------- Server


def test_the_server_header_names_teleconsult_only(client, live_server):
    assert client.get("/login").headers.getlist("Server") == ["teleconsult"]
    # Werkzeug's own server: its header for the app's answers and for its own refusals.
    import requests

    answer = requests.get(f"{live_server.url}/login", timeout=10)
    assert answer.headers["Server"] == "teleconsult"
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n")  # 431: its own answer
        reply = raw.recv(4096).decode("latin-1")
    servers = [line for line in reply.split("\r\n") if line.lower().startswith("server:")]
    assert servers == ["Server: teleconsult"], reply
