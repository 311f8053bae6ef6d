"""Registry import through the REST API (SPEC D3.3, D5, F4): validated, idempotent,
all or nothing, with a per-row report."""

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Patient
from plugins.guardian.models import Guardianship
from core.validators import complete_oms, complete_snils, format_snils
from tests.api.conftest import error_of, is_russian


def person(n: int, **kw) -> dict:
    row = {
        "last_name": f"Смирнова{n}",
        "first_name": "Мария",
        "middle_name": "Сергеевна",
        "birth_date": "1985-03-0%d" % (n % 9 + 1),
        "sex": "female",
        "snils": complete_snils(f"{400000000 + n:09d}"),
        "oms_policy": complete_oms(f"{790000000000000 + n:015d}"),
        "passport": f"4012 {100000 + n}",
        "email": f"m{n}@example.ru",
        "phone": "+7 900 000-00-00",
    }
    row.update(kw)
    return row


def _patients():
    db.session.expire_all()
    return {
        p.snils: (p.id, p.last_name, p.oms_policy, p.passport, p.email)
        for p in db.session.scalars(sa.select(Patient))
    }


def test_same_batch_twice_gives_the_same_rows(factory, api_for):
    organisation = factory.organisation()
    api = api_for(organisation)
    batch = {"patients": [person(1), person(2, snils=format_snils(complete_snils("400000002"))), person(3, snils=None)]}
    first = api.post("/api/v1/registry/import", batch)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["created"] == 3
    after_first = _patients()
    assert len(after_first) == 3
    second = api.post("/api/v1/registry/import", batch).get_json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert [row["id"] for row in second["patients"]] == [row["id"] for row in first.get_json()["patients"]]
    assert _patients() == after_first
    # Normalised: the formatted SNILS is stored as digits; the patient is attached to the organisation.
    stored = db.session.scalar(sa.select(Patient).where(Patient.last_name == "Смирнова2"))
    assert stored.snils == complete_snils("400000002") and stored.organisation_id == organisation.id
    assert stored.last_name_norm == "смирнова2" and stored.source == "МИС «Тест»"


def test_upsert_by_policy_when_snils_is_absent_and_changes_are_updates(factory, api_for):
    api = api_for(factory.organisation())
    api.post("/api/v1/registry/import", {"patients": [person(5)]})
    changed = person(5, last_name="Кузнецова", email="new@example.ru")
    changed.pop("snils")
    result = api.post("/api/v1/registry/import", {"patients": [changed]}).get_json()
    assert (result["created"], result["updated"]) == (0, 1)
    (row,) = _patients().values()
    assert row[1] == "Кузнецова" and row[4] == "new@example.ru"
    found = api.post("/api/v1/registry/search", {"surname": "кузнецова"}).get_json()
    assert found["total"] == 1, "the search form of the surname follows the update"


def test_one_bad_row_refuses_the_whole_batch_with_a_per_row_report(factory, api_for):
    api = api_for(factory.organisation())
    existing = factory.patient(passport="4555 123456")
    batch = {
        "patients": [
            person(10),
            person(11, snils="123-456-789 00"),  # checksum
            person(12, birth_date="31.02.1990"),
            person(13, email="почта"),
            person(14, sex="x"),
            person(15, snils=None, oms_policy=None),
            person(16, passport=existing.passport),  # someone else's passport
            person(17, snils=person(10)["snils"]),  # repeated in the batch
            person(18, oms_policy=existing.oms_policy),  # the policy is another person's
            "не объект",
        ]
    }
    response = api.post("/api/v1/registry/import", batch)
    assert response.status_code == 422
    error = error_of(response)
    assert is_russian(error["message"]) and "Ничего не записано" in error["message"]
    report = error["fields"]["patients"]
    assert set(report) == {str(i) for i in range(1, 10)}, report
    assert "snils" in report["1"] and "birth_date" in report["2"] and "email" in report["3"]
    assert "sex" in report["4"] and "snils" in report["5"] and "passport" in report["6"]
    assert "snils" in report["7"] and "oms_policy" in report["8"]
    for problems in report.values():
        for messages in problems.values():
            assert all(is_russian(m) for m in messages), problems
    assert set(_patients()) == {existing.snils}, "nothing of the batch was written"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_guardianships_link_representative_and_child(factory, api_for):
    """The section ``guardianships`` is imported by the guardian plugin
    (``teleconsult_registry_links_import``), which also adds the record's links to the API
    answer (``teleconsult_register_patient_record_fields``)."""
    api = api_for(factory.organisation())
    mother, child = person(20), person(21, first_name="Алиса", birth_date="2018-06-01", passport=None)
    link = {"representative": {"snils": mother["snils"]}, "child": {"oms_policy": child["oms_policy"]}}
    result = api.post("/api/v1/registry/import", {"patients": [mother, child], "guardianships": [link]})
    assert result.status_code == 200, result.get_data(as_text=True)
    assert result.get_json()["guardianships"] == [{"index": 0, "status": "created"}]
    again = api.post("/api/v1/registry/import", {"guardianships": [link]}).get_json()
    assert again["guardianships"] == [{"index": 0, "status": "unchanged"}]
    assert db.session.scalar(sa.select(sa.func.count(Guardianship.id))) == 1
    child_id = db.session.scalar(sa.select(Patient.id).where(Patient.first_name == "Алиса"))
    record = api.get(f"/api/v1/registry/patients/{child_id}").get_json()
    assert len(record["representatives"]) == 1 and record["snils"] == child["snils"]

    unknown = {"representative": {"snils": complete_snils("499999999")}, "child": {"snils": child["snils"]}}
    refused = api.post("/api/v1/registry/import", {"patients": [person(22)], "guardianships": [unknown]})
    assert refused.status_code == 422
    assert "representative" in error_of(refused)["fields"]["guardianships"]["0"]
    assert person(22)["snils"] not in _patients(), "the patients of a refused batch are rolled back too"


def test_huge_and_empty_batches_are_refused(factory, api_for, app):
    api = api_for(factory.organisation())
    app.config["API_IMPORT_MAX_ROWS"] = 5
    huge = api.post("/api/v1/registry/import", {"patients": [person(i) for i in range(30, 36)]})
    assert huge.status_code == 413 and "не больше 5" in error_of(huge)["message"]
    empty = api.post("/api/v1/registry/import", {"patients": []})
    assert empty.status_code == 422 and is_russian(error_of(empty)["message"])
    wrong = api.post("/api/v1/registry/import", {"patients": {"a": 1}})
    assert wrong.status_code == 422 and "patients" in error_of(wrong)["fields"]
    assert _patients() == {}


def test_lists_mask_identifiers_and_one_record_shows_them(factory, api_for):
    organisation = factory.organisation()
    api = api_for(organisation, "registry:read")
    patient = factory.patient(organisation, last_name="Орлова", passport="4010 123456")
    listed = api.post("/api/v1/registry/search", {"surname": "Орл"}).get_json()["patients"][0]
    assert "snils" not in listed and listed["passport_masked"] == "**** ***456"
    assert listed["oms_policy_masked"].endswith(patient.oms_policy[-4:])
    # In full for the organisation the patient is attached to ...
    full = api.get(f"/api/v1/registry/patients/{patient.id}").get_json()
    assert full["snils"] == patient.snils and full["passport"] == "4010 123456"
    # ... masked for any other, and for a person attached nowhere.
    elsewhere = api_for(factory.organisation(), "registry:read").get(f"/api/v1/registry/patients/{patient.id}").get_json()
    assert "snils" not in elsewhere and elsewhere["passport_masked"] == "**** ***456"
    unattached = factory.patient(last_name="Орлов")
    assert "snils" not in api.get(f"/api/v1/registry/patients/{unattached.id}").get_json()
    assert api.get("/api/v1/registry/patients/999999").status_code == 404
