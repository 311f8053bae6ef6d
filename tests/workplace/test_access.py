"""Who may reach the workplace (SPEC D1, D2, P7): every route of the ``workplace`` and
``conclusion_upload`` blueprints is walked from ``app.url_map``, so a new route cannot slip by."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation, Document, PortalAccount, RecordRequest, ScheduleTemplate, Slot
from core.storage import store_document
from core.testing import PASSWORD, login_session

BLUEPRINTS = ("workplace", "conclusion_upload")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 80


@pytest.fixture
def world(factory):
    """Organisation A with a consultation, its conclusion scan, a schedule template and a
    journal request; a doctor of organisation B; a patient with a portal account."""
    from datetime import time

    org_a = factory.organisation()
    doctor_a = factory.doctor(org_a, login="doctor-a")
    consultation = factory.consultation(author=doctor_a)
    document = store_document("scan.png", PNG, kind="conclusion_scan", consultation_id=consultation.id, owner_user_id=doctor_a.id)
    template = ScheduleTemplate(doctor_id=doctor_a.id, name="Основной", weekdays=[1, 2, 3], start_time=time(9), end_time=time(12), slot_minutes=20, breaks=[], valid_from=date.today())
    request_row = RecordRequest(organisation_id=org_a.id, last_name="Орлова", first_name="Анна", birth_date=date(1990, 5, 1), oms_policy=consultation.patient.oms_policy, phone="+7 900 000-00-00", email="orlova@example.ru")
    db.session.add_all([template, request_row])
    db.session.commit()
    free_slot = factory.slot(doctor_a)
    # A colleague of organisation A who takes no part in the consultation.
    factory.doctor(org_a, login="doctor-c")
    doctor_b = factory.doctor(factory.organisation(), login="doctor-b")
    account = PortalAccount(identity_provider="esia", external_id="1000001", trust_level="confirmed", last_name="Пациентова", first_name="Ольга")
    db.session.add(account)
    db.session.commit()
    consultation.patient.portal_account_id = account.id
    db.session.commit()
    return {
        "consultation_id": consultation.id,
        "document_id": document.id,
        "template_id": template.id,
        "request_id": request_row.id,
        "slot_id": free_slot.id,
        "doctor_b": doctor_b,
        "account": account,
    }


def routes(app):
    """(rule, method) of every route of the workplace blueprints."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in BLUEPRINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule, method))
    assert len(found) > 15
    return found


def build(app, rule, world):
    values = {}
    for argument in rule.arguments:
        if argument == "step":
            values["step"] = "type"
        else:
            assert argument in world, f"the access test does not know the route argument {argument!r} of {rule}"
            values[argument] = world[argument]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _call(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.post_form(url, {})


OBJECT_ARGUMENTS = {"consultation_id", "document_id", "template_id", "request_id", "slot_id"}
# The journal belongs to the whole organisation (SPEC P7); the rest of these to a doctor
# or to those who take part in the consultation.
PRIVATE_ARGUMENTS = OBJECT_ARGUMENTS - {"request_id"}


def test_anonymous_is_sent_to_login_everywhere(app, world):
    client = app.test_client()
    for rule, method in routes(app):
        response = _call(client, method, build(app, rule, world))
        assert response.status_code == 302 and "/login" in response.location, (rule.rule, method, response.status_code)


def test_patient_gets_nothing_of_the_workplace(app, world):
    client = app.test_client()
    login_session(client, world["account"])
    for rule, method in routes(app):
        if rule.endpoint == "conclusion_upload.download":
            continue  # the patient's own conclusion: below
        response = _call(client, method, build(app, rule, world))
        assert response.status_code in (403, 404), (rule.rule, method, response.status_code)
    # the conclusion of the patient's own consultation is theirs to download
    assert client.get(f"/conclusion-upload/documents/{world['document_id']}").data == PNG


def test_doctor_of_another_organisation_sees_no_object_of_the_first(app, world):
    client = app.test_client()
    client.login("doctor-b", PASSWORD)
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    for rule, method in routes(app):
        url = build(app, rule, world)
        response = _call(client, method, url)
        if OBJECT_ARGUMENTS & set(rule.arguments):
            assert response.status_code in (403, 404), (rule.rule, method, response.status_code)
        else:
            # pages of the doctor's own: reachable, but nothing of organisation A on them
            assert response.status_code < 500, (rule.rule, method)
            text = response.get_data(as_text=True)
            assert "Орлова" not in text and "ТМК-" not in text, (rule.rule, method)
    _untouched(world)
    assert db.session.get(RecordRequest, world["request_id"]).status == "new"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


def _untouched(world):
    db.session.expire_all()
    assert db.session.get(Consultation, world["consultation_id"]).status == "scheduled"
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 1
    assert db.session.get(Slot, world["slot_id"]).blocked is False
    assert db.session.get(ScheduleTemplate, world["template_id"]).name == "Основной"


def test_colleague_who_takes_no_part_sees_no_consultation_of_others(app, world):
    """A doctor of the same organisation: the journal and the schedules are shared, but a
    consultation, its documents, another doctor's templates and slots are not theirs."""
    client = app.test_client()
    client.login("doctor-c", PASSWORD)
    number = db.session.get(Consultation, world["consultation_id"]).number
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    for rule, method in routes(app):
        response = _call(client, method, build(app, rule, world))
        if PRIVATE_ARGUMENTS & set(rule.arguments):
            assert response.status_code in (403, 404), (rule.rule, method, response.status_code)
        else:
            assert response.status_code < 500, (rule.rule, method)
            assert number not in response.get_data(as_text=True), (rule.rule, method)
    _untouched(world)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


def test_registrar_files_applications_from_the_journal(app, factory, world):
    """The patient guide's first route is a call to the registry (seed 000 §3): the
    registrar files applications, from «Подать заявку» and from journal rows."""
    org = db.session.get(RecordRequest, world["request_id"]).organisation_id
    from core.models import Organisation

    factory.user(("registrar",), db.session.get(Organisation, org), login="registrar-a")
    client = app.test_client()
    client.login("registrar-a", PASSWORD)
    journal = client.get("/workplace/record-requests").get_data(as_text=True)
    assert "Орлова" in journal and "Оформить заявку" in journal
    assert client.get("/workplace/new/type").status_code == 200
    assert "Подать заявку" in client.get("/workplace/").get_data(as_text=True)
    response = client.post_form(f"/workplace/record-requests/{world['request_id']}/register")
    assert response.status_code == 302 and "/workplace/new" in response.headers["Location"]
