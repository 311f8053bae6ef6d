"""«Подать заявку» (SPEC D3, D5): search, state kept across steps, bad input, nothing half-written."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from core.db import db, utcnow
from core.models import (
    AuditEvent,
    Consultation,
    ConsultationType,
    Document,
    MedicalProfile,
    Participant,
    RecordRequest,
    WizardDraft,
)
from plugins.guardian.models import Guardianship
from core.testing import PASSWORD, login_session
from core.validators import mask_oms, mask_passport, mask_snils
from core.workplace.wizard import STATE

from tests.workplace.test_guide import walk_wizard


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _doctor(factory, client, login="doc"):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login=login)
    client.login(login, PASSWORD)
    return organisation, doctor


def _to_patient_step(client, code="remote_patient"):
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == code))
    client.post_form("/workplace/new/type", {"type_id": ctype.id})
    client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    return ctype


def test_type_search_by_name_and_profile_ignores_case_and_yo(client, factory):
    _doctor(factory, client)
    cardiology = db.session.scalar(sa.select(MedicalProfile).where(MedicalProfile.name.contains("ардиолог")))
    covid = ConsultationType(
        code="covid_test", name="Консультация пациента с признаками COVID-19, ОРВИ, гриппа", route="default",
        attention_text="Для пациентов с подозрением на COVID-19 используйте этот маршрут.", profiles=[cardiology],
    )
    db.session.add(covid)
    db.session.commit()
    page = client.get("/workplace/new/type?q=ПРЕДСТАВИТЕЛЯ").get_data(as_text=True)
    assert "законного представителя пациента с врачом" in page and "COVID-19" not in page.split("</form>")[1]
    by_profile = client.get(f"/workplace/new/type?q={cardiology.name.lower()}").get_data(as_text=True)
    assert "COVID-19, ОРВИ" in by_profile
    yo = client.get("/workplace/new/type?q=гриппа орви").get_data(as_text=True)
    assert "ВНИМАНИЕ!" in yo and "используйте этот маршрут" in yo
    assert "Типы консультаций не найдены" in client.get("/workplace/new/type?q=ёжик").get_data(as_text=True)
    # «ё» = «е» in the search
    db.session.get(ConsultationType, covid.id).name = "Консультация по поводу осложнённого гриппа"
    db.session.commit()
    assert "осложнённого" in client.get("/workplace/new/type?q=осложненного").get_data(as_text=True)


def test_steps_cannot_be_skipped_and_state_survives_going_back(client, factory):
    organisation, doctor = _doctor(factory, client)
    patient = factory.patient(organisation, last_name="Кузнецов")
    assert client.get("/workplace/new/slot").location.endswith("/workplace/new/type")
    ctype = _to_patient_step(client)
    assert client.get("/workplace/new/email").location.endswith("/workplace/new/patient")
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": patient.snils})
    client.post_form("/workplace/new/confirm")
    client.post_form("/workplace/new/email", {"email": "k@example.ru", "comment": "Натощак"})
    # back to the profile step and forward again: everything is still there
    profile_page = client.get("/workplace/new/profile").get_data(as_text=True)
    assert f'value="{ctype.profiles[0].id}" checked' in profile_page
    email_page = client.get("/workplace/new/email").get_data(as_text=True)
    assert "k@example.ru" in email_page and "Натощак" in email_page
    assert "Кузнецов" in email_page
    # no identifier ever lands in a URL or the page after the search
    assert patient.snils not in email_page
    # leaving the wizard half-filled creates nothing
    assert _count(Consultation) == 0 and _count(Participant) == 0
    assert client.get("/workplace/new").location.endswith("/workplace/new/consultant")
    client.post_form("/workplace/new/restart")
    assert client.get("/workplace/new").location.endswith("/workplace/new/type")


def test_bad_identifiers_get_russian_messages(client, factory):
    organisation, _ = _doctor(factory, client)
    _to_patient_step(client)
    cases = [
        ("snils", "112-233-445 96", "Неверная контрольная сумма СНИЛС"),
        ("snils", "12345", "СНИЛС должен состоять из 11 цифр"),
        ("oms", "123", "Номер полиса ОМС должен состоять из 16 цифр"),
        ("passport", "45 10", "Серия паспорта — 4 цифры, номер — 6 цифр"),
        ("oms", "11223344595", "Номер полиса ОМС должен состоять из 16 цифр"),
        ("inn", "11223344595", "Выберите, по какому документу искать пациента"),
    ]
    for kind, value, message in cases:
        response = client.post_form("/workplace/new/patient", {"kind": kind, "identifier": value})
        assert response.status_code == 422, (kind, value)
        assert message in response.get_data(as_text=True)
    unknown = client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": "112-233-445 95"})
    assert unknown.status_code == 404 and "Пациент не найден" in unknown.get_data(as_text=True)
    passport = factory.patient(organisation, passport="4510 123456")
    found = client.post_form("/workplace/new/patient", {"kind": "passport", "identifier": "45 10 № 123456"})
    assert found.status_code == 302
    assert passport.full_name in client.get("/workplace/new/confirm").get_data(as_text=True)


def test_a_policy_with_a_wrong_control_digit_is_refused_not_searched(client, factory):
    """The 16th digit of a unified OMS policy number is checked (docs/validation.md): a
    typo in it is named as such, even beside a registered policy that differs only there."""
    organisation, _ = _doctor(factory, client)
    patient = factory.patient(organisation)
    _to_patient_step(client)
    typo = patient.oms_policy[:15] + str((int(patient.oms_policy[15]) + 1) % 10)
    for value in (typo, "2341 9980 7165 5740", "2341998071655740"):
        response = client.post_form("/workplace/new/patient", {"kind": "oms", "identifier": value})
        assert response.status_code == 422, value
        page = response.get_data(as_text=True)
        assert "Неверная контрольная цифра номера полиса ОМС" in page
        assert value not in page  # the number is not echoed back into the page
    zero = client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": "000-000-000 00"})
    assert zero.status_code == 422 and "СНИЛС 000-000-000 00 не выдаётся" in zero.get_data(as_text=True)
    found = client.post_form("/workplace/new/patient", {"kind": "oms", "identifier": "2341 9980 7165 5749"})
    assert found.status_code == 404  # the valid neighbour is searched: nobody has it
    right = client.post_form("/workplace/new/patient", {"kind": "oms", "identifier": patient.oms_policy})
    assert right.status_code == 302


def test_bad_email_unknown_and_past_slots_write_nothing(client, factory):
    organisation, doctor = _doctor(factory, client)
    patient = factory.patient(organisation)
    _to_patient_step(client)
    client.post_form("/workplace/new/patient", {"kind": "oms", "identifier": patient.oms_policy})
    client.post_form("/workplace/new/confirm")
    bad = client.post_form("/workplace/new/email", {"email": "не-почта", "comment": ""})
    assert bad.status_code == 422 and "корректный адрес электронной почты" in bad.get_data(as_text=True)
    assert client.get("/workplace/new/consultant").status_code == 302  # not passed yet
    client.post_form("/workplace/new/email", {"email": "p@example.ru"})
    foreign = factory.doctor(factory.organisation())
    refused = client.post_form("/workplace/new/consultant", {"consultant_id": foreign.id})
    assert refused.status_code == 422 and "Выберите врача-консультанта" in refused.get_data(as_text=True)
    client.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    past = factory.slot(doctor, starts_in=-timedelta(hours=2))
    others = factory.slot(foreign)
    for slot_id, message in [
        ("999999", "Выбранный слот не найден"),
        ("abc", "Выбранный слот не найден"),
        (str(others.id), "Выбранный слот не найден"),
        (str(past.id), "Нельзя записать на прошедшее время"),
    ]:
        response = client.post_form("/workplace/new/slot", {"slot_id": slot_id})
        assert response.status_code == 422 and message in response.get_data(as_text=True), slot_id
    assert _count(Consultation) == 0 and _count(Participant) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action.like("consultation.%"))) == 0
    # a slot someone else booked meanwhile
    slot = factory.slot(doctor)
    factory.consultation(author=doctor, slot=slot)
    taken = client.post_form("/workplace/new/slot", {"slot_id": slot.id})
    assert taken.status_code == 409 and "Это время только что занял другой врач: выберите другое время" in taken.get_data(as_text=True)
    assert _count(Consultation) == 1


def test_free_slots_only_and_the_consultant_list_is_the_organisation(client, factory):
    organisation, doctor = _doctor(factory, client)
    colleague = factory.doctor(organisation, last_name="Коллегова")
    stranger = factory.doctor(factory.organisation(), last_name="Чужаков")
    patient = factory.patient(organisation)
    free, booked = factory.slot(colleague), factory.slot(colleague)
    factory.consultation(author=colleague, slot=booked)
    _to_patient_step(client)
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": patient.snils})
    client.post_form("/workplace/new/confirm")
    client.post_form("/workplace/new/email", {"email": "p@example.ru"})
    page = client.get("/workplace/new/consultant").get_data(as_text=True)
    offered = set(re.findall(r'name="consultant_id" value="(\d+)"', page))
    assert offered == {str(doctor.id), str(colleague.id)}, "only the organisation's doctors, self included"
    assert "Коллегова" in page and "это вы" in page and "Чужаков" not in page
    refused = client.post_form("/workplace/new/consultant", {"consultant_id": stranger.id})
    assert refused.status_code == 422 and "Выберите врача-консультанта из списка" in refused.get_data(as_text=True)
    client.post_form("/workplace/new/consultant", {"consultant_id": colleague.id})
    slots = client.get("/workplace/new/slot").get_data(as_text=True)
    assert f'value="{free.id}"' in slots and f'value="{booked.id}"' not in slots


def test_representative_type_finds_the_parent_and_picks_the_child(client, factory):
    """SPEC D5, seed 002 §5: the registry search finds the representative, then the child."""
    organisation, doctor = _doctor(factory, client)
    parent = factory.patient(organisation, last_name="Морозова", first_name="Елена")
    child = factory.patient(organisation, last_name="Морозов", first_name="Тимофей", birth_date=date(2018, 3, 4))
    db.session.add(Guardianship(representative_id=parent.id, child_id=child.id))
    db.session.commit()
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_representative"))
    slot = factory.slot(doctor)
    response = walk_wizard(
        client, ctype=ctype, profile=ctype.profiles[0], identifier=parent.oms_policy, kind="oms",
        email="morozova@example.ru", consultant=doctor, slot=slot, child=child,
    )
    assert response.status_code == 302
    consultation = db.session.scalar(sa.select(Consultation))
    assert consultation.patient_id == child.id and consultation.representative_id == parent.id
    card = client.get(response.location).get_data(as_text=True)
    assert "Морозов Тимофей" in card and "Законный представитель" in card


def test_representative_without_children_cannot_go_on(client, factory):
    organisation, _ = _doctor(factory, client)
    lonely = factory.patient(organisation)
    _to_patient_step(client, "remote_representative")
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": lonely.snils})
    assert client.post_form("/workplace/new/confirm").location.endswith("/workplace/new/child")
    page = client.get("/workplace/new/child").get_data(as_text=True)
    assert "введите сведения о ребёнке" in page
    refused = client.post_form("/workplace/new/child", {"child_id": lonely.id})
    assert refused.status_code == 422 and "Выберите ребёнка" in refused.get_data(as_text=True)


def test_record_request_becomes_an_application(client, factory):
    """SPEC P7: «Оформить заявку» from the journal, prefilled; the request is marked registered."""
    organisation, doctor = _doctor(factory, client)
    parent = factory.patient(organisation, last_name="Лебедева")
    child = factory.patient(organisation, last_name="Лебедев", first_name="Артём", birth_date=date(2019, 1, 2))
    row = RecordRequest(
        organisation_id=organisation.id, last_name="Лебедева", first_name="Ирина", birth_date=date(1988, 2, 3),
        oms_policy=parent.oms_policy, phone="+7 911 111-22-33", email="lebedeva@example.ru",
        child_last_name="Лебедев", child_first_name="Артём", child_birth_date=date(2019, 1, 2),
        child_oms_policy=child.oms_policy, comment="Кашель третий день",
    )
    other_org = RecordRequest(
        organisation_id=factory.organisation().id, last_name="Чужая", first_name="Анна", birth_date=date(1990, 1, 1),
        oms_policy=parent.oms_policy, phone="1", email="x@example.ru",
    )
    db.session.add_all([row, other_org])
    db.session.commit()
    journal = client.get("/workplace/record-requests").get_data(as_text=True)
    assert "Лебедева" in journal and "Лебедев Артём" in journal and "Чужая" not in journal
    assert client.post_form(f"/workplace/record-requests/{row.id}/register").location.endswith("/workplace/new/type")
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    client.post_form("/workplace/new/type", {"type_id": ctype.id})
    response = client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    assert response.location.endswith("/workplace/new/confirm")  # the child was found by the policy
    assert "Лебедев Артём" in client.get("/workplace/new/confirm").get_data(as_text=True)
    client.post_form("/workplace/new/confirm")
    email_page = client.get("/workplace/new/email").get_data(as_text=True)
    assert "lebedeva@example.ru" in email_page and "Кашель третий день" in email_page
    client.post_form("/workplace/new/email", {"email": "lebedeva@example.ru", "comment": "Кашель третий день"})
    client.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    created = client.post_form("/workplace/new/slot", {"slot_id": factory.slot(doctor).id})
    assert created.status_code == 302
    db.session.expire_all()
    registered = db.session.get(RecordRequest, row.id)
    consultation = db.session.scalar(sa.select(Consultation))
    assert registered.status == "registered" and registered.consultation_id == consultation.id
    assert consultation.patient_id == child.id and registered.handled_by_id == doctor.id
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "record_request.registered"))
    assert "Новых заявок нет" in client.get("/workplace/record-requests").get_data(as_text=True)
    assert f"ТМК-{consultation.id:06d}" in client.get("/workplace/record-requests?show=all").get_data(as_text=True)
    # a handled request is not registered twice
    client.post_form(f"/workplace/record-requests/{row.id}/register")
    assert client.get("/workplace/new").location.endswith("/workplace/new/type")


def test_uploads_that_are_not_scans_leave_nothing(app, client, factory):
    organisation, doctor = _doctor(factory, client)
    consultation = factory.consultation(author=doctor)
    storage_dir = app.config["STORAGE_DIR"]
    url = f"/conclusion-upload/{consultation.id}"
    app.config["CONCLUSION_UPLOAD_MAX_SIZE"] = 2048
    cases = [
        ({"document": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "conclusion.pdf")}, "допустимы только"),
        ({"document": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 4096), "big.pdf")}, "больше"),
        ({"document": (io.BytesIO(b""), "empty.pdf")}, "пуст"),
        ({}, "Добавьте документ"),
    ]
    for data, message in cases:
        response = client.post_form(url, data, content_type="multipart/form-data")
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    db.session.expire_all()
    assert _count(Document) == 0 and db.session.get(Consultation, consultation.id).status == "scheduled"
    import os

    assert not any(files for _root, _dirs, files in os.walk(storage_dir))
    ok = client.post_form(url, {"document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "scan.pdf")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    # a closed consultation offers no completion any more
    assert "Завершить с загрузкой заключения" not in client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    again = client.get(url)
    assert again.status_code == 302


def test_a_type_switched_off_meanwhile_sends_the_doctor_back_to_the_types(client, factory):
    organisation, doctor = _doctor(factory, client)
    ctype = _to_patient_step(client)
    db.session.get(ConsultationType, ctype.id).active = False
    db.session.commit()
    assert client.get("/workplace/new/patient").location.endswith("/workplace/new/type")
    assert client.get("/workplace/new/type").status_code == 200


def _session_of(app, client) -> dict:
    """The session as anyone holding the cookie can read it (signed, not encrypted)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_the_draft_stays_on_the_server_and_the_cookie_holds_no_patient_data(app, client, factory):
    organisation, doctor = _doctor(factory, client)
    patient = factory.patient(organisation, email="private.person@example.ru")
    _to_patient_step(client)
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": patient.snils})
    client.post_form("/workplace/new/confirm")
    client.post_form("/workplace/new/email", {"email": "private.person@example.ru", "comment": "Диагноз: секрет"})
    cookie = _session_of(app, client)
    flat = repr(cookie)
    for secret in ("private.person", "Диагноз", patient.snils, patient.last_name):
        assert secret not in flat, secret
    # Only the draft's random id; no choice of the wizard sits in the cookie.
    assert isinstance(cookie[STATE], str) and len(cookie[STATE]) >= 32
    assert not any(isinstance(value, dict | list) for value in cookie.values())
    draft = db.session.get(WizardDraft, cookie[STATE])
    assert draft.user_id == doctor.id and draft.data["comment"] == "Диагноз: секрет"
    assert draft.data["patient_id"] == patient.id and draft.expires_at > utcnow() + timedelta(hours=23)

    # Another doctor given the same draft id gets an empty wizard, not this one.
    other = factory.doctor(organisation)
    thief = app.test_client()
    login_session(thief, other)
    with thief.session_transaction() as session:
        session[STATE] = draft.id
    assert thief.get("/workplace/new").location.endswith("/workplace/new/type")
    assert "Диагноз" not in thief.get("/workplace/new/email", follow_redirects=True).get_data(as_text=True)

    # A day without a change: the draft has expired and the wizard starts over.
    draft.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/workplace/new").location.endswith("/workplace/new/type")
    # Starting over sweeps the expired draft away.
    _to_patient_step(client)
    db.session.expire_all()
    assert db.session.get(WizardDraft, draft.id) is None
    assert _count(WizardDraft) == 1


def test_saving_the_application_removes_its_draft(app, client, factory):
    organisation, doctor = _doctor(factory, client)
    patient = factory.patient(organisation)
    response = walk_wizard(
        client, ctype=_to_type(), profile=_to_type().profiles[0], identifier=patient.snils, kind="snils",
        email="p@example.ru", consultant=doctor, slot=factory.slot(doctor),
    )
    assert response.status_code == 302 and _count(Consultation) == 1
    assert _count(WizardDraft) == 0 and STATE not in _session_of(app, client)


def _to_type(code="remote_patient"):
    return db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == code))


def test_namesakes_are_listed_with_masked_documents_and_the_doctor_picks_one(client, factory):
    """Seed 002 §4.2: the number of matches and masked SNILS / policy / passport in the list."""
    organisation, doctor = _doctor(factory, client)
    born = date(1975, 6, 1)
    first = factory.patient(organisation, last_name="Ёлкина", first_name="Анна", middle_name="Петровна", birth_date=born)
    second = factory.patient(
        organisation, last_name="Ёлкина", first_name="Анна", middle_name="Сергеевна", birth_date=born, passport="4010 555123"
    )
    factory.patient(organisation, last_name="Ёлкина", first_name="Анна", birth_date=date(1980, 1, 1))
    _to_patient_step(client)
    search = {"kind": "name", "last_name": "елкина", "first_name": "ан", "birth_date": "01.06.1975"}
    assert client.post_form("/workplace/new/patient", search).location.endswith("/workplace/new/patient")
    page = client.get("/workplace/new/patient").get_data(as_text=True)
    assert "Найдено записей: 2" in page
    assert "Ёлкина Анна Петровна" in page and "Ёлкина Анна Сергеевна" in page
    for person in (first, second):
        assert mask_snils(person.snils) in page and mask_oms(person.oms_policy) in page
        assert person.snils not in page and person.oms_policy not in page
    assert mask_passport(second.passport) in page and second.passport not in page
    assert page.count(">Выбрать</button>") == 2
    # Only a listed record can be chosen.
    outsider = factory.patient(organisation)
    refused = client.post_form("/workplace/new/patient", {"choose": outsider.id})
    assert refused.status_code == 422 and "Выберите пациента из списка найденных" in refused.get_data(as_text=True)
    chosen = client.post_form("/workplace/new/patient", {"choose": second.id})
    assert chosen.location.endswith("/workplace/new/confirm")
    assert "Ёлкина Анна Сергеевна" in client.get("/workplace/new/confirm").get_data(as_text=True)
    client.post_form("/workplace/new/confirm")
    assert db.session.get(WizardDraft, _session_of(client.application, client)[STATE]).data["patient_id"] == second.id
    # Every lookup is audited: who, by which key, what it showed; never what was typed.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "registry.searched")).all()
    assert [(e.actor_id, e.data["by"], e.data["found"], sorted(e.data["patient_ids"])) for e in events] == [
        (doctor.id, "name", 2, sorted([first.id, second.id]))
    ]
    assert "елкина" not in str(events[0].data).lower() and "1975" not in str(events[0].data)


def test_name_search_bad_input_and_no_match(client, factory):
    _doctor(factory, client)
    _to_patient_step(client)
    for form, message in [
        ({"kind": "name", "last_name": "", "birth_date": "1975-06-01"}, "Введите фамилию пациента"),
        ({"kind": "name", "last_name": "Ёлкина", "birth_date": "вчера"}, "ДД.ММ.ГГГГ"),
        ({"kind": "name", "last_name": "Ёлкина", "birth_date": "31.02.1975"}, "ДД.ММ.ГГГГ"),
    ]:
        response = client.post_form("/workplace/new/patient", form)
        assert response.status_code == 422 and message in response.get_data(as_text=True), form
    none = client.post_form("/workplace/new/patient", {"kind": "name", "last_name": "Нетакова", "birth_date": "1975-06-01"})
    assert none.status_code == 404 and "Пациент не найден" in none.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "registry.searched")).data == {
        "by": "name", "found": 0, "patient_ids": []
    }


def test_attention_pointer_stays_when_the_search_hides_the_type_it_points_to(client, factory):
    """Seed 002 §4.1: «ВНИМАНИЕ!» for the COVID route beside the patient types, even when a
    search leaves the COVID type itself out; the note lets the doctor pick it."""
    _doctor(factory, client)
    covid = factory.consultation_type("covid_patient")  # the routes_covid plugin's (SPEC D6)
    page = client.get("/workplace/new/type?q=врачом").get_data(as_text=True)
    choices = set(re.findall(r'<button type="submit" name="type_id" value="(\d+)" class="choice', page))
    assert str(covid.id) not in choices and str(_to_type().id) in choices, "the search hid the COVID type"
    assert "ВНИМАНИЕ! Для консультирования пациентов с подозрением" in page
    assert f'form="type-choice" name="type_id" value="{covid.id}"' in page
    assert client.post_form("/workplace/new/type", {"type_id": covid.id}).location.endswith("/workplace/new/profile")
    # Representatives' types alone: the note for patients does not belong there, their own does.
    only_representative = client.get("/workplace/new/type?q=представителя").get_data(as_text=True)
    assert "ВНИМАНИЕ! Для консультирования пациентов" not in only_representative
    assert "ВНИМАНИЕ! Для консультирования законных представителей пациентов" in only_representative
    assert "законного представителя" in only_representative
