"""The doctor guide's flow (seed 002 §4.1–4.7, §7.2, §7.3) through the REST API (SPEC D3, D4, D9, F4)."""

import io
import os

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, CompletionReason, Consultation, ConsultationStatus, ConsultationType, Document
from tests.api.conftest import error_of, is_russian

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _create(api, ctype, profile, patient, consultant, author, slot, **extra):
    body = {
        "type_id": ctype["id"],
        "profile_id": profile["id"],
        "patient_id": patient.id,
        "consultant_id": consultant.id,
        "author_id": author.id,
        "slot_id": slot.id,
        "email": "anna.elkina@example.ru",
        **extra,
    }
    response = api.post("/api/v1/consultations", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _upload(api, consultation_id, data: dict):
    return api.post(
        f"/api/v1/consultations/{consultation_id}/complete-with-conclusion", data=data, content_type="multipart/form-data"
    )


def test_search_create_with_slot_list_read_and_complete_both_ways(app, factory, api_for):
    organisation = factory.organisation()
    author = factory.doctor(organisation=organisation, last_name="Терапевтов")
    consultant = factory.doctor(organisation=organisation, last_name="Кардиологов", specialty="кардиолог")
    patient = factory.patient(organisation=organisation, last_name="Ёлкина", first_name="Анна", sex="female")
    slot = factory.slot(consultant)
    api = api_for(organisation)

    # §4.1: the consultation type and its profile.
    types = api.get("/api/v1/consultation-types").get_json()
    ctype = next(t for t in types if t["code"] == "remote_patient")
    assert ctype["profiles"], "a type lists the profiles it serves"
    profile = ctype["profiles"][0]

    # §4.2: the patient by SNILS (POSTed, never in the URL), masked in the list.
    found = api.post("/api/v1/registry/search", {"identifier": patient.snils}).get_json()
    assert found["kind"] == "snils" and found["total"] == 1
    person = found["patients"][0]
    assert person["id"] == patient.id and person["last_name"] == "Ёлкина"
    assert person["snils_masked"].startswith("***-***-") and patient.snils not in str(found)
    by_surname = api.post("/api/v1/registry/search", {"surname": "елкина"}).get_json()
    assert [p["id"] for p in by_surname["patients"]] == [patient.id]

    # The whole record, identifiers included, for the organisation the patient is attached to.
    record = api.get(f"/api/v1/registry/patients/{patient.id}").get_json()
    assert record["snils"] == patient.snils and record["oms_policy"] == patient.oms_policy
    searches = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "registry.searched").order_by(AuditEvent.id)
    ).all()
    assert [(e.data["by"], e.data["patient_ids"], e.actor_type) for e in searches] == [
        ("snils", [patient.id], "api"),
        ("surname", [patient.id], "api"),
    ]
    read = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "registry.record_viewed"))
    assert read.object_id == patient.id and read.data == {"found": True, "identifiers": "full"}
    assert patient.snils not in str([e.data for e in searches]) and "елкина" not in str([e.data for e in searches])

    # §4.4–4.5: consultant among the organisation's doctors, a free slot of theirs.
    doctors = {d["id"] for d in api.get("/api/v1/doctors").get_json()}
    assert {author.id, consultant.id} <= doctors
    slots = api.get(f"/api/v1/doctors/{consultant.id}/free-slots").get_json()
    assert slot.id in [s["id"] for s in slots]

    consultation = _create(api, ctype, profile, patient, consultant, author, slot, comment="Подготовьте последние анализы")
    assert consultation["status"] == "scheduled" and consultation["status_title"] == "В работе"
    assert consultation["number"].startswith("ТМК-")
    assert sorted(p["role"] for p in consultation["participants"]) == ["author", "consultant", "patient"]
    # The slot is taken now.
    assert slot.id not in [s["id"] for s in api.get(f"/api/v1/doctors/{consultant.id}/free-slots").get_json()]

    # §4.6: the consultant's «Входящие», searched by the patient's surname.
    inbox = api.get(f"/api/v1/consultations?worklist=inbox&user_id={consultant.id}&search=Елк").get_json()
    assert [c["id"] for c in inbox["items"]] == [consultation["id"]] and inbox["total"] == 1
    everything = api.get("/api/v1/consultations").get_json()
    assert [c["id"] for c in everything["items"]] == [consultation["id"]]
    read = api.get(f"/api/v1/consultations/{consultation['id']}").get_json()
    assert read["patient"]["full_name"] == "Ёлкина Анна Ильич" and read["comment"] == "Подготовьте последние анализы"

    # §7.2: «Завершение без заключения» with a reason from the dictionary.
    reasons = api.get("/api/v1/completion-reasons").get_json()
    reason = next(r for r in reasons if r["name"] == "Пациент не вышел на связь")
    closed = api.post(f"/api/v1/consultations/{consultation['id']}/complete", {"reason_id": reason["id"]})
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert closed.get_json()["status"] == "closed"
    assert closed.get_json()["outcome_reason"]["name"] == "Пациент не вышел на связь"
    assert closed.get_json()["conclusion"] is None
    no_document = api.get(f"/api/v1/consultations/{consultation['id']}/conclusion")
    assert no_document.status_code == 404 and error_of(no_document)["message"] == "У заявки нет документа заключения"
    # §4.7: closed ones leave the list unless the lock toggle asks for them.
    assert api.get("/api/v1/consultations").get_json()["total"] == 0
    assert api.get("/api/v1/consultations?show_closed=true").get_json()["total"] == 1
    again = api.post(f"/api/v1/consultations/{consultation['id']}/complete", {"reason_id": reason["id"]})
    assert again.status_code == 409 and error_of(again)["message"] == "Заявка уже закрыта"

    # §7.3: «Завершить с загрузкой заключения»: the scan as multipart, then read back (F4).
    second = _create(api, ctype, profile, patient, consultant, author, factory.slot(consultant))
    uploaded = _upload(api, second["id"], {"document": (io.BytesIO(PNG), "заключение.png"), "note": "Скан с подписью"})
    assert uploaded.status_code == 200, uploaded.get_data(as_text=True)
    body = uploaded.get_json()
    assert body["status"] == "closed" and body["outcome"] == "uploaded_conclusion" and body["outcome_note"] == "Скан с подписью"
    assert body["conclusion"]["content_type"] == "image/png" and body["conclusion"]["filename"] == "заключение.png"
    assert api.get(f"/api/v1/consultations/{second['id']}").get_json()["conclusion"] == body["conclusion"]
    download = api.get(f"/api/v1/consultations/{second['id']}/conclusion")
    assert download.status_code == 200 and download.data == PNG and download.mimetype == "image/png"
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "document.downloaded", AuditEvent.object_id == body["conclusion"]["id"])
    ).actor_type == "api"
    twice = _upload(api, second["id"], {"document": (io.BytesIO(PNG), "ещё.png")})
    assert twice.status_code == 409 and error_of(twice)["message"] == "Заявка уже закрыта"

    db.session.expire_all()
    for consultation_id in (consultation["id"], second["id"]):
        stored = db.session.get(Consultation, consultation_id)
        assert stored.status == ConsultationStatus.CLOSED
        actions = db.session.scalars(
            sa.select(AuditEvent.actor_type).where(AuditEvent.consultation_id == stored.id)
        ).all()
        assert set(actions) == {"api"}, "the machine client is the recorded actor"
    scan = db.session.get(Document, body["conclusion"]["id"])
    assert scan.kind == "conclusion_scan" and scan.owner_user_id is None and scan.consultation_id == second["id"]


def test_uploads_that_are_not_scans_are_refused_and_leave_nothing(app, factory, api_for):
    consultation = factory.consultation()
    api = api_for(consultation.author.organisation)
    app.config["CONCLUSION_UPLOAD_MAX_SIZE"] = 2048
    url = f"/api/v1/consultations/{consultation.id}/complete-with-conclusion"
    cases = [
        ({"document": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "conclusion.pdf")}, 422, "допустимы только"),
        ({"document": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 4096), "big.pdf")}, 422, "больше"),
        ({"document": (io.BytesIO(b""), "empty.pdf")}, 422, "пуст"),
        ({}, 422, "Добавьте документ"),
        ({"document": (io.BytesIO(PNG), "scan.png"), "note": "я" * 2001}, 422, "Примечание не длиннее"),
    ]
    for data, status, message in cases:
        response = _upload(api, consultation.id, data)
        assert response.status_code == status and message in error_of(response)["message"], message
    as_json = api.post(url, {"document": "JVBERi0xLjQK"})
    assert as_json.status_code == 415 and "multipart/form-data" in error_of(as_json)["message"]
    assert is_russian(error_of(as_json)["message"])
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert db.session.get(Consultation, consultation.id).status == ConsultationStatus.SCHEDULED
    assert not any(files for _root, _dirs, files in os.walk(app.config["STORAGE_DIR"]))


def test_slot_taken_by_another_consultation_is_a_conflict(factory, api_for):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation=organisation)
    first = factory.consultation(author=doctor)
    other_patient = factory.patient(organisation=organisation)
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    response = api_for(organisation).post(
        "/api/v1/consultations",
        {
            "type_id": ctype.id,
            "profile_id": ctype.profiles[0].id,
            "patient_id": other_patient.id,
            "consultant_id": doctor.id,
            "author_id": doctor.id,
            "slot_id": first.slot_id,
            "email": "p@example.ru",
        },
    )
    assert response.status_code == 409
    assert error_of(response)["message"] == "Это время только что занял другой врач: выберите другое время"
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 1


def test_completion_reason_must_be_from_the_dictionary(factory, api_for):
    consultation = factory.consultation()
    organisation = consultation.author.organisation
    inactive = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "duplicate"))
    inactive.active = False
    db.session.commit()
    api = api_for(organisation)
    for body in ({}, {"reason_id": 999999}, {"reason_id": inactive.id}, {"reason_id": "1"}):
        response = api.post(f"/api/v1/consultations/{consultation.id}/complete", body)
        assert response.status_code == 422, body
        assert "reason_id" in error_of(response)["fields"]
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).status == ConsultationStatus.SCHEDULED
