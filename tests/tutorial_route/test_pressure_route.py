"""The route of the tutorial in docs/plugins.md, from a package outside plugins/ (SPEC F2, D3, D9).

Hooks it exercises: teleconsult_register_routes (with RouteSpec.reactions),
teleconsult_register_outcomes (its own completion with a conclusion and no document),
teleconsult_register_template_blocks (a note on the card), teleconsult_register_completion_methods.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

import tests.tutorial_route as pressure
from core.api.auth import create_token
from core.db import db
from core.models import Consultation, ConsultationType, PluginState, WizardDraft
from core.testing import PASSWORD, Factory

ALL_SCOPES = ["registry:read", "registry:write", "consultations:read", "consultations:write"]


@pytest.fixture
def pressure_app(make_app):
    pressure.CREATED.clear()
    return make_app(plugins=["chat", "conclusion_upload"], extra_plugins=[("pressure", pressure)])


@pytest.fixture
def world(pressure_app):
    with pressure_app.app_context():
        factory = Factory(pressure_app)
        organisation = factory.organisation()
        doctor = factory.doctor(organisation, login="terapevt", last_name="Терапевтова")
        patient = factory.patient(organisation, last_name="Давлетов")
        slot = factory.slot(doctor)
        ctype = factory.consultation_type("pressure_control")
        _token, value = create_token("МИС", organisation.id, ALL_SCOPES)
        db.session.commit()
        yield {
            "factory": factory, "organisation": organisation, "doctor": doctor, "patient": patient,
            "slot": slot, "ctype": ctype, "token": value,
        }


def _to_details(client, world):
    ctype = world["ctype"]
    client.post_form("/workplace/new/type", {"type_id": ctype.id})
    client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": world["patient"].snils})
    client.post_form("/workplace/new/confirm")
    return client.post_form("/workplace/new/email", {"email": "d@example.ru", "comment": ""})


GOOD = {
    "route_data.measured_on": (date.today() - timedelta(days=1)).isoformat(),
    "route_data.systolic": "152",
    "route_data.diastolic": "95",
    "route_data.complaints": ["headache", "dizziness"],
    "route_data.takes_medication": "on",
}


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_wizard_asks_the_routes_fields_refuses_bad_ones_in_russian_and_keeps_good_ones(pressure_app, world):
    client = pressure_app.test_client()
    client.login("terapevt", PASSWORD)
    response = _to_details(client, world)
    # The route has application fields: after the e-mail comes «Сведения для консультации».
    assert response.location.endswith("/workplace/new/details")
    page = client.get("/workplace/new/details").get_data(as_text=True)
    assert "Сведения для консультации" in page and "Систолическое давление" in page
    assert 'name="route_data.complaints" value="chest_pain"' in page and "Боль в груди" in page
    assert 'type="date" id="route_data-measured_on"' in page and "мм рт. ст." in page
    assert page.count('class="required"') == 4  # measured_on, systolic, diastolic, complaints
    # The consultant step cannot be reached before the details are given.
    assert client.get("/workplace/new/consultant").location.endswith("/workplace/new/details")

    bad = {
        "route_data.measured_on": (date.today() + timedelta(days=3)).isoformat(),
        "route_data.systolic": "сто",
        "route_data.diastolic": "500",
    }
    refused = client.post_form("/workplace/new/details", bad)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Проверьте сведения для консультации" in text
    assert "Дата не может быть в будущем." in text
    assert "Ожидается целое число." in text
    assert "Значение от 30 до 160." in text
    assert "Отметьте хотя бы один вариант." in text or "Обязательное поле." in text
    assert 'value="сто"' in text  # shown again as typed
    with pressure_app.app_context():
        draft = db.session.scalar(sa.select(WizardDraft))
        assert "route_data" not in draft.data
        assert _count(Consultation) == 0

    accepted = client.post_form("/workplace/new/details", {**GOOD, "route_data.note": "Утром хуже"})
    assert accepted.status_code == 302 and accepted.location.endswith("/workplace/new/consultant")
    # Back to the details and the e-mail and forward again: what was typed is still there.
    again = client.get("/workplace/new/details").get_data(as_text=True)
    assert 'value="152"' in again and "Утром хуже" in again
    assert 'value="dizziness"\n        checked' in again or 'value="dizziness" checked' in again.replace("\n        ", " ")
    client.post_form("/workplace/new/email", {"email": "d@example.ru", "comment": ""})
    assert 'value="95"' in client.get("/workplace/new/details").get_data(as_text=True)
    client.post_form("/workplace/new/details", GOOD)
    client.post_form("/workplace/new/consultant", {"consultant_id": world["doctor"].id})
    created = client.post_form("/workplace/new/slot", {"slot_id": world["slot"].id})
    assert created.status_code == 302, created.get_data(as_text=True)
    card = client.get(created.location).get_data(as_text=True)
    assert "Сведения для консультации" in card
    assert "Систолическое давление" in card and "152 мм рт. ст." in card
    assert "Головная боль, Головокружение" in card and "Принимает гипотензивные препараты" in card
    # The plugin's template block on the card.
    assert '<p class="note tag-attention" data-pressure-note>Давление выше целевого: 152/95 мм рт. ст.</p>' in card
    with pressure_app.app_context():
        consultation = db.session.scalar(sa.select(Consultation))
        assert consultation.route_data["systolic"] == 152
        assert consultation.route_data["complaints"] == ["headache", "dizziness"]
        # The route's own reaction to «created» (RouteSpec.reactions).
        assert pressure.CREATED == [consultation.id]


def _filed(pressure_app, world, **route_data):
    data = {"measured_on": "2026-11-01", "systolic": 128, "diastolic": 82, "complaints": ["none"], **route_data}
    return world["factory"].consultation(
        author=world["doctor"], patient=world["patient"], type_code="pressure_control", route_data=data
    )


def test_completed_with_the_routes_conclusion_the_card_chat_and_api_show_it(pressure_app, world):
    consultation = _filed(pressure_app, world)
    client = pressure_app.test_client()
    client.login("terapevt", PASSWORD)
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "Завершить с планом контроля" in card and "data-pressure-note" not in card
    form = client.get(f"/pressure/{consultation.id}/complete").get_data(as_text=True)
    assert "Целевое давление" in form and 'type="radio"' in form and "Код диагноза по МКБ-10" in form

    refused = client.post_form(
        f"/pressure/{consultation.id}/complete",
        {"conclusion_data.diagnosis_code": "гипертония", "conclusion_data.target": "120/70",
         "conclusion_data.next_contact": "2020-01-01"},
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Проверьте поля заключения" in text
    assert "Код МКБ-10: латинская буква" in text and "Выберите значение из списка." in text
    assert "Дата не может быть в прошлом." in text
    with pressure_app.app_context():
        assert db.session.get(Consultation, consultation.id).status != "closed"

    next_contact = (date.today() + timedelta(days=30)).isoformat()
    done = client.post_form(
        f"/pressure/{consultation.id}/complete",
        {"conclusion_data.diagnosis_code": "i10", "conclusion_data.target": "130/80",
         "conclusion_data.next_contact": next_contact, "conclusion_data.recommendations": "Дневник давления"},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "Завершена с планом контроля давления" in card
    assert "I10" in card and "ниже 130/80" in card and "Дневник давления" in card
    shown_date = date.fromisoformat(next_contact).strftime("%d.%m.%Y")
    assert shown_date in card

    # The patient's chat: the completion message lists the conclusion's fields.
    chat = client.get(f"/chat/{consultation.id}").get_data(as_text=True)
    assert "msg-conclusion" in chat and "Целевое давление" in chat and "ниже 130/80" in chat

    # The API: route_data and conclusion_data; the OpenAPI document: the route's schemas.
    headers = {"Authorization": f"Bearer {world['token']}"}
    api = client.get(f"/api/v1/consultations/{consultation.id}", headers=headers).get_json()
    assert api["route_data"]["systolic"] == 128
    assert api["conclusion_data"] == {
        "diagnosis_code": "I10", "target": "130/80", "next_contact": next_contact, "recommendations": "Дневник давления",
    }
    assert api["outcome"] == "pressure_plan"
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    application = schemas["PressureApplication"]
    assert set(application["required"]) == {"measured_on", "systolic", "diastolic", "complaints"}
    assert application["properties"]["systolic"]["title"] == "Систолическое давление"
    assert application["properties"]["systolic"]["type"] == "integer"
    assert schemas["PressureConclusion"]["properties"]["target"]["enum"] == ["130/80", "140/90"]
    assert document["x-teleconsult-routes"]["pressure"]["types"] == ["pressure_control"]
    refs = schemas["Consultation"]["properties"]["route_data"]["anyOf"]
    assert {"$ref": "#/components/schemas/PressureApplication"} in refs


def test_the_upload_validates_the_routes_conclusion_before_storing_the_scan(pressure_app, world):
    import io

    from core.models import Document

    consultation = _filed(pressure_app, world)
    client = pressure_app.test_client()
    client.login("terapevt", PASSWORD)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    refused = client.post_form(
        f"/conclusion-upload/{consultation.id}",
        {"document": (io.BytesIO(pdf), "scan.pdf"), "conclusion_data.diagnosis_code": "I10"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Обязательное поле." in refused.get_data(as_text=True)
    with pressure_app.app_context():
        assert _count(Document) == 0
    headers = {"Authorization": f"Bearer {world['token']}"}
    api = client.post(
        f"/api/v1/consultations/{consultation.id}/complete-with-conclusion",
        data={"document": (io.BytesIO(pdf), "scan.pdf"), "conclusion_data": json.dumps({"target": "99"})},
        headers=headers, content_type="multipart/form-data",
    )
    assert api.status_code == 422
    error = api.get_json()["error"]
    assert set(error["fields"]) == {"conclusion_data"}
    assert error["fields"]["conclusion_data"]["target"] == ["Выберите значение из списка."]
    assert error["fields"]["conclusion_data"]["diagnosis_code"] == ["Обязательное поле."]
    next_contact = (date.today() + timedelta(days=7)).isoformat()
    api = client.post(
        f"/api/v1/consultations/{consultation.id}/complete-with-conclusion",
        data={"document": (io.BytesIO(pdf), "scan.pdf"),
              "conclusion_data": json.dumps({"diagnosis_code": "I11.9", "target": "140/90", "next_contact": next_contact})},
        headers=headers, content_type="multipart/form-data",
    )
    assert api.status_code == 200, api.get_data(as_text=True)
    assert api.get_json()["conclusion_data"]["diagnosis_code"] == "I11.9"


def test_the_api_refuses_bad_route_data_under_route_data(pressure_app, world):
    client = pressure_app.test_client()
    headers = {"Authorization": f"Bearer {world['token']}"}
    ctype = world["ctype"]
    body = {
        "type_id": ctype.id, "profile_id": ctype.profiles[0].id, "patient_id": world["patient"].id,
        "consultant_id": world["doctor"].id, "author_id": world["doctor"].id, "slot_id": world["slot"].id,
        "email": "d@example.ru", "route_data": {"systolic": "высокое", "colour": "red"},
    }
    response = client.post("/api/v1/consultations", json=body, headers=headers)
    assert response.status_code == 422
    fields_ = response.get_json()["error"]["fields"]
    assert set(fields_) == {"route_data"}
    assert fields_["route_data"]["systolic"] == ["Ожидается целое число."]
    assert fields_["route_data"]["colour"] == ["Неизвестное поле."]
    assert fields_["route_data"]["measured_on"] == ["Обязательное поле."]
    with pressure_app.app_context():
        assert _count(Consultation) == 0


def test_switched_off_for_the_organisation_its_types_vanish_from_the_wizard_and_the_api(pressure_app, world):
    client = pressure_app.test_client()
    client.login("terapevt", PASSWORD)
    headers = {"Authorization": f"Bearer {world['token']}"}
    ctype = world["ctype"]
    assert "Контроль артериального давления" in client.get("/workplace/new/type").get_data(as_text=True)
    assert "pressure_control" in [t["code"] for t in client.get("/api/v1/consultation-types", headers=headers).get_json()]
    with pressure_app.app_context():
        db.session.add(PluginState(plugin="pressure", organisation_id=world["organisation"].id, enabled=False))
        db.session.commit()
    assert "Контроль артериального давления" not in client.get("/workplace/new/type").get_data(as_text=True)
    refused = client.post_form("/workplace/new/type", {"type_id": ctype.id})
    assert refused.status_code == 422 and "Выберите тип консультации из списка" in refused.get_data(as_text=True)
    codes = [t["code"] for t in client.get("/api/v1/consultation-types", headers=headers).get_json()]
    assert "pressure_control" not in codes and "remote_patient" in codes
    body = {
        "type_id": ctype.id, "profile_id": ctype.profiles[0].id, "patient_id": world["patient"].id,
        "consultant_id": world["doctor"].id, "author_id": world["doctor"].id, "slot_id": world["slot"].id,
        "email": "d@example.ru", "route_data": {},
    }
    response = client.post("/api/v1/consultations", json=body, headers=headers)
    assert response.status_code == 422 and "type_id" in response.get_json()["error"]["fields"]
    # Another organisation still has it.
    with pressure_app.app_context():
        other = world["factory"].organisation()
        world["factory"].doctor(other, login="other")
        db.session.commit()
    second = pressure_app.test_client()
    second.login("other", PASSWORD)
    assert "Контроль артериального давления" in second.get("/workplace/new/type").get_data(as_text=True)
    with pressure_app.app_context():
        assert db.session.scalar(sa.select(ConsultationType.active).where(ConsultationType.code == "pressure_control"))
