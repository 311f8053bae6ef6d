"""Every route of the API blueprint refuses whoever has no right to it (SPEC F4; issue
acceptance: another organisation, no scope, no token, a staff cookie without a token).

The routes are taken from ``app.url_map``, and each must have an entry in ``ROUTES``: a
new endpoint cannot be added without saying who may use it.
"""

import io
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import lifecycle
from core.access import principal_for_user
from core.api.openapi import api_rules
from core.db import db
from core.models import (
    AuditEvent,
    Consultation,
    ConsultationStatus,
    ConsultationType,
    Document,
    Outcome,
    Patient,
)
from plugins.guardian.models import Guardianship
from core.storage import store_document
from core.testing import login_session
from tests.api.conftest import Api, error_of, is_russian


PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass
class Victim:
    """Objects of organisation A that intruders try to reach."""

    organisation: object
    doctor: object
    consultant: object
    patient: object
    consultation: object
    closed: object  # completed with a conclusion scan
    free_slot: object
    type_id: int
    profile_id: int


@pytest.fixture
def victim(factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation=organisation)
    consultant = factory.doctor(organisation=organisation)
    patient = factory.patient(organisation=organisation)
    consultation = factory.consultation(author=doctor, consultant=consultant, patient=patient)
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    closed = factory.consultation(author=doctor, consultant=consultant, patient=patient)
    scan = store_document("scan.pdf", PDF, kind="conclusion_scan", consultation_id=closed.id, owner_user_id=consultant.id)
    lifecycle.complete(closed, Outcome.UPLOADED_CONCLUSION, principal_for_user(consultant), document=scan)
    db.session.commit()
    return Victim(
        organisation, doctor, consultant, patient, consultation, closed, factory.slot(consultant), ctype.id, ctype.profiles[0].id
    )


def _create_body(v: Victim) -> dict:
    return {
        "type_id": v.type_id,
        "profile_id": v.profile_id,
        "patient_id": v.patient.id,
        "consultant_id": v.consultant.id,
        "author_id": v.doctor.id,
        "slot_id": v.free_slot.id,
        "email": "patient@example.ru",
    }


def _import_body(v: Victim) -> dict:
    from core.validators import complete_oms, complete_snils

    return {
        "patients": [
            {
                "last_name": "Новикова",
                "first_name": "Ольга",
                "birth_date": "1990-05-01",
                "sex": "female",
                "snils": complete_snils("300000001"),
                "oms_policy": complete_oms("780000000900001"),
            }
        ]
    }


class Multipart(dict):
    """A body sent as multipart/form-data instead of JSON."""


def _scan_form(v: Victim) -> Multipart:
    return Multipart(document=(io.BytesIO(PDF), "conclusion.pdf"))


# endpoint -> (method, url, body, what a token of another organisation with every scope gets)
#   "hidden": 404;  "refused": 4xx and nothing written;  "regional": the regional registry
#   and dictionaries, shared by every organisation;  "own": answers with its own
#   organisation's data only (checked by ``_leaks``);  "masked": the record, but none of
#   its identifiers or contacts in full.
ROUTES = {
    "api.openapi": ("GET", lambda v: "/api/v1/openapi.json", None, "public"),
    "api.registry_search": ("POST", lambda v: "/api/v1/registry/search", lambda v: {"identifier": v.patient.snils}, "regional"),
    "api.registry_patient": ("GET", lambda v: f"/api/v1/registry/patients/{v.patient.id}", None, "masked"),
    "api.registry_import_batch": ("POST", lambda v: "/api/v1/registry/import", _import_body, "regional"),
    "api.consultation_types": ("GET", lambda v: "/api/v1/consultation-types", None, "regional"),
    "api.profiles": ("GET", lambda v: "/api/v1/profiles", None, "regional"),
    "api.completion_reasons": ("GET", lambda v: "/api/v1/completion-reasons", None, "regional"),
    "api.doctors": ("GET", lambda v: "/api/v1/doctors", None, "own"),
    "api.doctor_free_slots": ("GET", lambda v: f"/api/v1/doctors/{v.consultant.id}/free-slots", None, "hidden"),
    "api.consultation_create": ("POST", lambda v: "/api/v1/consultations", _create_body, "refused"),
    "api.consultation_list": ("GET", lambda v: "/api/v1/consultations?show_closed=1", None, "own"),
    "api.consultation_read": ("GET", lambda v: f"/api/v1/consultations/{v.consultation.id}", None, "hidden"),
    "api.consultation_complete": (
        "POST",
        lambda v: f"/api/v1/consultations/{v.consultation.id}/complete",
        lambda v: {"reason_id": 1},
        "hidden",
    ),
    "api.conclusion_upload.complete_with_conclusion": (
        "POST",
        lambda v: f"/api/v1/consultations/{v.consultation.id}/complete-with-conclusion",
        _scan_form,
        "hidden",
    ),
    "api.consultation_conclusion": ("GET", lambda v: f"/api/v1/consultations/{v.closed.id}/conclusion", None, "hidden"),
    "api.esignature.signed_conclusion": (
        "GET", lambda v: f"/api/v1/consultations/{v.closed.id}/signed-conclusion", None, "hidden"
    ),
    "api.esignature.signed_conclusion_pdf": (
        "GET", lambda v: f"/api/v1/consultations/{v.closed.id}/signed-conclusion/pdf", None, "hidden"
    ),
    "api.esignature.signed_conclusion_archive": (
        "GET", lambda v: f"/api/v1/consultations/{v.closed.id}/signed-conclusion/archive", None, "hidden"
    ),
}
INBOX_OF_ANOTHER_ORGANISATION = "/api/v1/consultations?worklist=inbox&user_id={id}"


def _routes(app):
    found = {}
    for rule in api_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found[rule.endpoint] = method
    return found


def test_every_api_route_is_listed_here(app):
    found = _routes(app)
    assert set(found) == set(ROUTES), "describe who may use each new API route in ROUTES"
    for endpoint, method in found.items():
        assert ROUTES[endpoint][0] == method, endpoint


def _call(api: Api, endpoint: str, v: Victim):
    method, url, body, _ = ROUTES[endpoint]
    if method == "GET":
        return api.get(url(v))
    data = body(v) if body else {}
    if isinstance(data, Multipart):
        return api.post(url(v), data=dict(data), content_type="multipart/form-data")
    return api.post(url(v), json=data)


def _state():
    """What a refused request must not change: rows, statuses, stored files, audit events."""
    return (
        db.session.scalar(sa.select(sa.func.count(Patient.id))),
        db.session.scalar(sa.select(sa.func.count(Consultation.id))),
        db.session.scalar(sa.select(sa.func.count(Guardianship.id))),
        tuple(db.session.scalars(sa.select(Consultation.status).order_by(Consultation.id))),
        db.session.scalar(sa.select(sa.func.count(Document.id))),
        db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
    )


def _intruders(client, factory, make_token, v: Victim):
    revoked = make_token(v.organisation)
    from core.models import ApiToken

    db.session.execute(sa.update(ApiToken).where(ApiToken.token_hash == ApiToken.hash(revoked)).values(revoked=True))
    db.session.commit()
    return {
        "no auth": (Api(client, None), 401),
        "garbage token": (Api(client, "tc_not-a-token"), 401),
        "revoked token": (Api(client, revoked), 401),
        "basic auth": (Api(client, None), 401),
        # 403, or 404 where the object itself is hidden from a token that may not view it.
        "token without scopes": (Api(client, make_token(v.organisation, "")), (403, 404)),
    }


def test_no_token_bad_token_or_no_scope_is_refused_everywhere(client, factory, make_token, victim):
    before = _state()
    intruders = _intruders(client, factory, make_token, victim)
    for who, (api, expected) in intruders.items():
        for endpoint in ROUTES:
            if ROUTES[endpoint][3] == "public":
                continue
            if who == "basic auth":
                api.client.environ_base = {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}
            response = _call(api, endpoint, victim)
            api.client.environ_base = {}
            allowed = expected if isinstance(expected, tuple) else (expected,)
            assert response.status_code in allowed, (who, endpoint, response.get_data(as_text=True))
            error = error_of(response)
            assert is_russian(error["message"]), (who, endpoint)
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
    db.session.expire_all()
    assert _state() == before, "a refused request wrote something"


def test_staff_session_cookie_without_token_is_not_enough(client, factory, victim):
    login_session(client, victim.consultant)
    assert client.get("/workplace/").status_code == 200, "the cookie works in the workplace"
    before = _state()
    for endpoint in ROUTES:
        if ROUTES[endpoint][3] == "public":
            continue
        response = _call(Api(client, None), endpoint, victim)
        assert response.status_code == 401, endpoint
    db.session.expire_all()
    assert _state() == before


def test_a_token_without_the_needed_scope_gets_403(factory, api_for, victim):
    read_registry = api_for(victim.organisation, "registry:read")
    write_registry = api_for(victim.organisation, "registry:write")
    read_consultations = api_for(victim.organisation, "consultations:read")
    write_consultations = api_for(victim.organisation, "consultations:write")
    refused = [
        (read_registry, "api.registry_import_batch"),
        (read_registry, "api.consultation_create"),
        (read_registry, "api.consultation_read"),
        (read_registry, "api.consultation_types"),
        (write_registry, "api.registry_search"),
        (write_registry, "api.registry_patient"),
        (read_consultations, "api.consultation_create"),
        (read_consultations, "api.consultation_complete"),
        (read_consultations, "api.registry_search"),
        (write_consultations, "api.consultation_list"),
        (write_consultations, "api.registry_import_batch"),
        (read_consultations, "api.conclusion_upload.complete_with_conclusion"),
        (write_consultations, "api.consultation_conclusion"),
    ]
    before = _state()
    for api, endpoint in refused:
        response = _call(api, endpoint, victim)
        assert response.status_code in (403, 404), endpoint
        assert response.status_code == 403 or endpoint in ("api.consultation_read", "api.consultation_conclusion"), endpoint
    db.session.expire_all()
    assert _state() == before


def test_a_token_of_another_organisation_sees_nothing_of_it(factory, api_for, victim):
    stranger_organisation = factory.organisation()
    stranger_doctor = factory.doctor(organisation=stranger_organisation)
    api = api_for(stranger_organisation)
    for endpoint, (_, _, _, kind) in ROUTES.items():
        if kind in ("public", "regional"):
            continue
        before = _state()
        response = _call(api, endpoint, victim)
        if kind == "hidden":
            assert response.status_code == 404, endpoint
            assert is_russian(error_of(response)["message"])
        elif kind == "refused":
            assert 400 <= response.status_code < 500, endpoint
        elif kind == "masked":
            assert response.status_code == 200, endpoint
            record = response.get_json()
            assert record["id"] == victim.patient.id and record["snils_masked"].startswith("***-***-")
            text = response.get_data(as_text=True)
            for secret in (victim.patient.snils, victim.patient.oms_policy, victim.patient.email):
                assert secret not in text, endpoint
            assert not {"snils", "oms_policy", "passport", "email", "phone"} & set(record), endpoint
            event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            assert (event.action, event.actor_type, event.object_id) == ("registry.record_viewed", "api", victim.patient.id)
            assert event.data["identifiers"] == "masked" and victim.patient.snils not in str(event.data)
            continue  # the read is audited: the state changes by that one event
        else:
            assert response.status_code == 200, endpoint
            text = response.get_data(as_text=True)
            assert victim.consultant.last_name not in text and victim.patient.last_name not in text, endpoint
        db.session.expire_all()
        assert _state() == before, endpoint
    doctors = [d["id"] for d in api.get("/api/v1/doctors").get_json()]
    assert doctors == [stranger_doctor.id]
    inbox = api.get(INBOX_OF_ANOTHER_ORGANISATION.format(id=victim.consultant.id))
    assert inbox.status_code == 404
    db.session.expire_all()
    assert db.session.get(Consultation, victim.consultation.id).status == ConsultationStatus.SCHEDULED


def test_the_openapi_document_is_public_and_describes_every_route(client, app):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    documented = {
        (path, method.upper()) for path, operations in document["paths"].items() for method in operations
    }
    for rule in api_rules(app):
        path = rule.rule.replace("<int:", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    create = document["paths"]["/api/v1/consultations"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert {"type_id", "patient_id", "slot_id", "email", "author_id"} <= set(body["required"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
