"""Bad input gets a 4xx with a Russian message and writes nothing (issue acceptance; SPEC D3, F4)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation, ConsultationType, Participant, Patient
from tests.api.conftest import error_of, is_russian


@pytest.fixture
def setup(factory, api_for):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation=organisation)
    patient = factory.patient(organisation=organisation)
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    slot = factory.slot(doctor)
    body = {
        "type_id": ctype.id,
        "profile_id": ctype.profiles[0].id,
        "patient_id": patient.id,
        "consultant_id": doctor.id,
        "author_id": doctor.id,
        "slot_id": slot.id,
        "email": "p@example.ru",
    }
    return api_for(organisation), body, doctor, patient


def _nothing_written():
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Participant.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_bad_consultations_are_refused_in_russian(factory, setup):
    api, good, doctor, patient = setup
    past_slot = factory.slot(doctor, starts_in=-timedelta(hours=2))
    other_doctor = factory.doctor()  # another organisation
    cases = [
        ({"email": "не-почта"}, 422, "email"),
        ({"email": ""}, 422, "email"),
        ({"slot_id": 999999}, 422, "slot_id"),
        ({"slot_id": past_slot.id}, 422, None),
        ({"slot_id": "1"}, 422, "slot_id"),
        ({"type_id": 2.5}, 422, "type_id"),
        ({"patient_id": 999999}, 422, "patient_id"),
        ({"patient_id": None}, 422, "patient_id"),
        ({"consultant_id": other_doctor.id}, 422, "consultant_id"),
        ({"author_id": other_doctor.id}, 422, "author_id"),
        ({"comment": "x" * 2001}, 422, "comment"),
        ({"unexpected": 1}, 422, "unexpected"),
        ({"route_data": []}, 422, "route_data"),
    ]
    for change, status, field in cases:
        response = api.post("/api/v1/consultations", {**good, **change})
        assert response.status_code == status, (change, response.get_data(as_text=True))
        error = error_of(response)
        assert is_russian(error["message"]), change
        if field:
            assert field in error["fields"], (change, error)
            assert all(is_russian(m) for m in error["fields"][field]), error
    missing = api.post("/api/v1/consultations", {})
    assert set(error_of(missing)["fields"]) >= {"type_id", "patient_id", "slot_id", "email"}
    assert error_of(missing)["fields"]["email"] == ["Обязательное поле."]
    _nothing_written()


def test_malformed_json_and_wrong_content_type(setup):
    api, _, _, _ = setup
    for url in ("/api/v1/consultations", "/api/v1/registry/search", "/api/v1/registry/import"):
        broken = api.post(url, headers={"Content-Type": "application/json"}, data='{"type_id": 1,')
        assert broken.status_code == 400
        assert error_of(broken)["message"] == "Тело запроса не является корректным JSON"
        for not_object in ("[1, 2]", '"text"', "null"):
            response = api.post(url, headers={"Content-Type": "application/json"}, data=not_object)
            assert response.status_code == 400, not_object
            assert is_russian(error_of(response)["message"])
        form = api.post(url, data={"type_id": "1"})
        assert form.status_code == 415 and is_russian(error_of(form)["message"])
    _nothing_written()


def test_registry_search_validates_identifiers_before_searching(setup):
    api, _, _, patient = setup
    wrong_checksum = patient.snils[:-2] + ("00" if patient.snils[-2:] != "00" else "01")
    cases = [
        {"identifier": wrong_checksum},
        {"identifier": "12345"},
        {"identifier": patient.snils, "kind": "oms"},
        {"identifier": patient.snils, "surname": "Иванов"},
        {},
        {"surname": ""},
        {"surname": "Иванов", "limit": 1000},
        {"identifier": 12345678901},
    ]
    for body in cases:
        response = api.post("/api/v1/registry/search", body)
        # A number beyond the integer range is refused by the request guard (400) before the schema.
        expected = 400 if body.get("identifier") == 12345678901 else 422
        assert response.status_code == expected, (body, response.get_data(as_text=True))
        assert is_russian(error_of(response)["message"]), body
    checksum = api.post("/api/v1/registry/search", {"identifier": wrong_checksum})
    assert "контрольн" in error_of(checksum)["message"].lower()



def test_registry_search_refuses_a_policy_with_a_wrong_control_digit(setup):
    api, _, _, patient = setup
    typo = patient.oms_policy[:15] + str((int(patient.oms_policy[15]) + 1) % 10)
    for body in ({"identifier": typo}, {"identifier": typo, "kind": "oms"}, {"identifier": "2341998071655740"}):
        response = api.post("/api/v1/registry/search", body)
        assert response.status_code == 422, body
        assert error_of(response)["message"] == "Неверная контрольная цифра номера полиса ОМС"
        assert typo not in response.get_data(as_text=True)
    zero = api.post("/api/v1/registry/search", {"identifier": "000-000-000 00"})
    assert zero.status_code == 422 and error_of(zero)["message"] == "СНИЛС 000-000-000 00 не выдаётся"
    found = api.post("/api/v1/registry/search", {"identifier": patient.oms_policy})
    assert found.status_code == 200 and patient.id in [p["id"] for p in found.get_json()["patients"]]


def test_unknown_api_routes_and_methods_answer_json(setup):
    api, _, _, _ = setup
    assert api.get("/api/v1/consultations/999999").status_code == 404
    assert is_russian(error_of(api.get("/api/v1/consultations/999999"))["message"])
    wrong_method = api.get("/api/v1/registry/search")
    assert wrong_method.status_code == 405 and is_russian(error_of(wrong_method)["message"])
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 1


def test_messages_follow_the_english_locale(setup):
    api, good, _, _ = setup
    response = api.post("/api/v1/consultations?lang=en", {**good, "email": None})
    assert response.status_code == 422
    assert error_of(response)["message"] == "Check the fields of the request"
    assert error_of(response)["fields"]["email"] == ["The field may not be null."]
