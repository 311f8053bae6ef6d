"""Registry import writes follow the organisation rule of reads (issue 12, SPEC D3.3, D5):
a token of another organisation may not change a person it may only see masked, and a
row never erases an identifier it leaves empty."""

import sqlalchemy as sa

from core.db import db
from core.models import Patient
from tests.api.conftest import error_of
from tests.registry.test_import_api import person


def _stored(snils_or_id):
    db.session.expire_all()
    return db.session.get(Patient, snils_or_id)


def test_a_token_of_another_organisation_cannot_overwrite_a_person(factory, api_for):
    home, other = factory.organisation(), factory.organisation()
    created = api_for(home).post("/api/v1/registry/import", {"patients": [person(1)]}).get_json()
    patient_id = created["patients"][0]["id"]
    stranger = api_for(other)

    # By SNILS: names, e-mail and phone replaced before the fix.
    by_snils = stranger.post(
        "/api/v1/registry/import",
        {"patients": [person(1, last_name="Подменная", email="evil@example.ru", phone="+7 999 999-99-99")]},
    )
    assert by_snils.status_code == 422, by_snils.get_data(as_text=True)
    assert "другой организации" in str(error_of(by_snils))
    # By OMS policy without SNILS: all columns were replaced, the SNILS with a null.
    row = person(1, last_name="Подменная", snils=None, passport=None, email=None)
    by_policy = stranger.post("/api/v1/registry/import", {"patients": [row]})
    assert by_policy.status_code == 422
    stored = _stored(patient_id)
    original = person(1)
    assert (stored.last_name, stored.email, stored.phone) == (original["last_name"], original["email"], original["phone"])
    assert stored.snils == original["snils"] and stored.organisation_id == home.id

    # The same data again is no change and is not refused (the batch stays idempotent).
    same = stranger.post("/api/v1/registry/import", {"patients": [person(1)]})
    assert same.status_code == 200 and same.get_json()["unchanged"] == 1
    # The own organisation still updates its person.
    own = api_for(home).post("/api/v1/registry/import", {"patients": [person(1, last_name="Новая")]})
    assert own.status_code == 200 and own.get_json()["updated"] == 1
    assert _stored(patient_id).last_name == "Новая"


def test_an_import_never_erases_an_identifier_it_does_not_replace(factory, api_for):
    api = api_for(factory.organisation())
    patient_id = api.post("/api/v1/registry/import", {"patients": [person(2)]}).get_json()["patients"][0]["id"]
    original = person(2)
    # Matched by the OMS policy; SNILS and passport sent as null, the e-mail changed.
    row = person(2, snils=None, passport=None, email="new@example.ru")
    answer = api.post("/api/v1/registry/import", {"patients": [row]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["updated"] == 1
    stored = _stored(patient_id)
    assert stored.snils == original["snils"], "a null SNILS must not erase the stored one (ESIA links by it)"
    assert stored.passport, "nor a null passport"
    assert stored.email == "new@example.ru"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 1
