"""The doctor guide (seed 002) §4.1-4.7, §7.2, §7.3 walked through the HTTP layer (SPEC D2-D4, D9)."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation, ConsultationType, Document, Participant
from core.testing import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _type(code="remote_patient"):
    return db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == code))


def _row_of(page: str, text: str) -> str:
    """The list row (``<tr>``) that names ``text``."""
    rows = [row for row in re.findall(r"<tr\b.*?</tr>", page, flags=re.S) if text in row]
    assert len(rows) == 1, f"{len(rows)} rows name {text!r}"
    return rows[0]


def walk_wizard(client, *, ctype, profile, identifier, kind, email, consultant, slot, comment="", child=None):
    """Go through «Подать заявку» as the guide says; returns the final response."""
    page = client.get("/workplace/new", follow_redirects=True)
    assert "Общие" in page.get_data(as_text=True)
    response = client.post_form("/workplace/new/type", {"type_id": ctype.id})
    assert response.status_code == 302 and response.location.endswith("/workplace/new/profile")
    assert profile.name in client.get("/workplace/new/profile").get_data(as_text=True)
    response = client.post_form("/workplace/new/profile", {"profile_id": profile.id})
    assert response.location.endswith("/workplace/new/patient")
    response = client.post_form("/workplace/new/patient", {"kind": kind, "identifier": identifier})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.endswith("/workplace/new/confirm")
    confirm = client.get("/workplace/new/confirm").get_data(as_text=True)
    assert "Выбрать" in confirm
    response = client.post_form("/workplace/new/confirm", {})
    if child is not None:
        assert response.location.endswith("/workplace/new/child")
        response = client.post_form("/workplace/new/child", {"child_id": child.id})
    assert response.location.endswith("/workplace/new/email")
    response = client.post_form("/workplace/new/email", {"email": email, "comment": comment})
    assert response.location.endswith("/workplace/new/consultant")
    page = client.get("/workplace/new/consultant").get_data(as_text=True)
    assert consultant.last_name in page and "Сохранить" in page
    response = client.post_form("/workplace/new/consultant", {"consultant_id": consultant.id})
    assert response.location.endswith("/workplace/new/slot")
    return client.post_form("/workplace/new/slot", {"slot_id": slot.id})


def test_doctor_guide_from_application_to_both_completions(client, factory):
    organisation = factory.organisation("СПб ГБУЗ «Городская поликлиника № 17»")
    author = factory.doctor(organisation, login="ivanova", last_name="Иванова")
    consultant = factory.doctor(organisation, login="petrov", last_name="Петров", specialty="кардиолог")
    patient = factory.patient(organisation, last_name="Семёнов", first_name="Алексей")
    second = factory.patient(organisation, last_name="Соколова", first_name="Мария")
    slot, slot2 = factory.slot(consultant), factory.slot(consultant)
    ctype = _type()
    profile = ctype.profiles[0]

    # §3.1 login, §4.1-4.5 the wizard
    assert client.login("ivanova", PASSWORD).status_code == 302
    response = walk_wizard(
        client, ctype=ctype, profile=profile, identifier=patient.snils, kind="snils",
        email="semenov@example.ru", consultant=consultant, slot=slot, comment="Возьмите результаты анализов",
    )
    assert response.status_code == 302
    card = client.get(response.location).get_data(as_text=True)
    assert "Семёнов" in card and "В работе" in card and "Возьмите результаты анализов" in card
    consultation = db.session.scalar(sa.select(Consultation).where(Consultation.patient_id == patient.id))
    assert consultation.slot_id == slot.id and consultation.author_id == author.id
    assert {p.role for p in db.session.scalars(sa.select(Participant).where(Participant.consultation_id == consultation.id))} == {
        "author", "consultant", "patient"}
    # the wizard is empty again: a new application starts at the type
    assert client.get("/workplace/new").location.endswith("/workplace/new/type")

    # another application, by OMS policy, the author being the consultant himself
    response = walk_wizard(
        client, ctype=ctype, profile=profile, identifier=second.oms_policy, kind="oms",
        email="sokolova@example.ru", consultant=consultant, slot=slot2,
    )
    assert response.status_code == 302
    outbox = client.get("/workplace/outbox").get_data(as_text=True)
    assert "Семёнов" in outbox and "Соколова" in outbox

    # §4.5-4.6 the consultant sees it «В работе» in «Входящие» and finds it by surname
    client.logout()
    client.login("petrov", PASSWORD)
    inbox = client.get("/workplace/inbox").get_data(as_text=True)
    assert "Семёнов" in inbox and "В работе" in inbox and "Соколова" in inbox
    found = client.get("/workplace/inbox?q=семенов").get_data(as_text=True)
    assert "Семёнов" in found and "Соколова" not in found
    assert "Семёнов" in client.get("/workplace/applications?q=Семён").get_data(as_text=True)

    # §7.2 completion without conclusion from the right panel
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "Завершение без заключения" in card and "Завершить с загрузкой заключения" in card
    form = client.get(f"/workplace/applications/{consultation.id}/complete-without-conclusion").get_data(as_text=True)
    reason_id = re.search(r'<option value="(\d+)">Пациент не вышел на связь</option>', form).group(1)
    response = client.post_form(
        f"/workplace/applications/{consultation.id}/complete-without-conclusion", {"reason_id": reason_id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).outcome == "no_conclusion"

    # §4.7 closed applications only with the lock open
    assert "Семёнов" not in client.get("/workplace/inbox").get_data(as_text=True)
    opened = client.get("/workplace/inbox?closed=1").get_data(as_text=True)
    row = _row_of(opened, "Семёнов")
    assert "Закрыта" in row and "Завершена без заключения" in row
    assert "В работе" in _row_of(opened, "Соколова"), "the open one is still listed beside it"

    # §7.3 completion with an uploaded scan: «Добавить документ» → «Далее»
    other = db.session.scalar(sa.select(Consultation).where(Consultation.patient_id == second.id))
    page = client.get(f"/conclusion-upload/{other.id}").get_data(as_text=True)
    assert "Добавить документ" in page and "Далее" in page
    response = client.post_form(
        f"/conclusion-upload/{other.id}",
        {"document": (io.BytesIO(PNG), "заключение.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    closed = db.session.get(Consultation, other.id)
    assert closed.outcome == "uploaded_conclusion" and closed.is_closed
    document = db.session.get(Document, closed.conclusion_document_id)
    assert document.content_type == "image/png" and document.kind == "conclusion_scan"
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "document.uploaded"))
    download = client.get(f"/conclusion-upload/documents/{document.id}")
    assert download.status_code == 200 and download.data == PNG
    # «Документы»: the consultant's own uploads
    assert "заключение.png" in client.get("/workplace/documents").get_data(as_text=True)
    assert client.get(f"/workplace/documents/{document.id}/download").data == PNG

    # the author (who takes part) may download the conclusion as well
    client.logout()
    client.login("ivanova", PASSWORD)
    assert client.get(f"/conclusion-upload/documents/{document.id}").status_code == 200
