"""The tutorial route in Chromium (issue acceptance; SPEC F2, D3, D9): a doctor files it
through the wizard, sees Russian messages on bad values with nothing stored, completes it
with the route's conclusion; the card, the patient's chat, the API and the OpenAPI
document show it. ``TELECONSULT_SCREENSHOTS=<dir>`` keeps screenshots of the pages."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import tests.tutorial_route as pressure
from core.db import db
from core.models import Consultation
from core.testing import Factory, LiveServer, enable_test_login
from tests.chat.conftest import make_account

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _shot(page, name):
    folder = os.environ.get("TELECONSULT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def served(make_app):
    pressure.CREATED.clear()
    app = make_app(plugins=["chat", "conclusion_upload"], extra_plugins=[("pressure", pressure)])
    enable_test_login(app)
    with app.app_context():
        factory = Factory(app)
        organisation = factory.organisation()
        doctor = factory.doctor(organisation, last_name="Терапевтова")
        patient = factory.patient(organisation, last_name="Давлетов")
        account = make_account(factory, patient)
        slot = factory.slot(doctor)
        ids = {"doctor": doctor.id, "snils": patient.snils, "slot": slot.id, "account": account.id,
               "ctype": factory.consultation_type("pressure_control").id}
    live = LiveServer(app).start()
    yield app, live, ids
    live.stop()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_doctor_files_and_completes_the_route_in_chromium(served, chromium, size):
    app, live, ids = served
    context = chromium.new_context(viewport=SIZES[size], locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live.url}/_test/login/staff/{ids['doctor']}")
    page.goto(f"{live.url}/workplace/new/type")
    page.click(f'button[name="type_id"][value="{ids["ctype"]}"]')
    page.wait_for_url("**/new/profile")
    page.locator('input[name="profile_id"]').first.check()
    page.click("button.primary")
    page.wait_for_url("**/new/patient")
    page.fill('input[name="identifier"]', ids["snils"])
    page.click("form.step-form button.primary")
    page.wait_for_url("**/new/confirm")
    page.click("button.primary")
    page.wait_for_url("**/new/email")
    page.click("button.primary")
    page.wait_for_url("**/new/details")
    assert page.locator("h2", has_text="Сведения для консультации").count() == 1

    # Bad values: Russian messages beside the fields, nothing stored.
    page.fill("#route_data-measured_on", (date.today() + timedelta(days=2)).isoformat())
    page.fill("#route_data-systolic", "20")
    page.click("button.primary")
    page.wait_for_selector(".field-error")
    messages = page.locator(".field-error").all_inner_texts()
    assert "Дата не может быть в будущем." in messages
    assert "Значение от 60 до 260." in messages
    assert "Обязательное поле." in messages  # diastolic
    assert "Отметьте хотя бы один вариант." in messages
    assert page.locator("#route_data-systolic").get_attribute("aria-invalid") == "true"
    _shot(page, f"wizard-details-errors-{size}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0

    page.fill("#route_data-measured_on", (date.today() - timedelta(days=1)).isoformat())
    page.fill("#route_data-systolic", "150")
    page.fill("#route_data-diastolic", "92")
    page.check('input[name="route_data.complaints"][value="headache"]')
    page.check("#route_data-takes_medication")
    page.click("button.primary")
    page.wait_for_url("**/new/consultant")
    page.goto(f"{live.url}/workplace/new/details")  # back: still there
    assert page.locator("#route_data-systolic").input_value() == "150"
    _shot(page, f"wizard-details-{size}")
    page.click("button.primary")
    page.wait_for_url("**/new/consultant")
    page.locator(f'input[name="consultant_id"][value="{ids["doctor"]}"]').check()
    page.click("button.primary")
    page.wait_for_url("**/new/slot")
    page.locator(f'input[name="slot_id"][value="{ids["slot"]}"]').check()
    page.click("button.primary")
    page.wait_for_url("**/workplace/applications/*")
    card = page.locator(".card-main").inner_text()
    assert "Сведения для консультации" in card and "150 мм рт. ст." in card and "Головная боль" in card
    assert page.locator("[data-pressure-note]").inner_text() == "Давление выше целевого: 150/92 мм рт. ст."
    _shot(page, f"card-{size}")

    page.click("text=Завершить с планом контроля")
    page.wait_for_url("**/pressure/*/complete")
    page.fill("#conclusion_data-diagnosis_code", "i10")
    page.click("button.primary")
    page.wait_for_selector(".field-error")
    assert "Обязательное поле." in page.locator(".field-error").all_inner_texts()
    page.check('input[name="conclusion_data.target"][value="130/80"]')
    page.fill("#conclusion_data-next_contact", (date.today() + timedelta(days=14)).isoformat())
    page.fill("#conclusion_data-recommendations", "Дневник давления утром и вечером")
    page.click("button.primary")
    page.wait_for_url("**/workplace/applications/*")
    card = page.locator(".card-main").inner_text()
    assert "I10" in card and "ниже 130/80" in card and "Дневник давления утром и вечером" in card
    _shot(page, f"card-closed-{size}")
    with app.app_context():
        consultation = db.session.scalar(sa.select(Consultation))
        consultation_id = consultation.id
        assert consultation.conclusion_data["target"] == "130/80"

    # The patient's chat shows the conclusion's fields in the completion message.
    patient = chromium.new_context(viewport=SIZES[size], locale="ru-RU").new_page()
    patient.goto(f"{live.url}/_test/login/patient/{ids['account']}")
    patient.goto(f"{live.url}/chat/{consultation_id}")
    patient.wait_for_selector(".msg-conclusion")
    conclusion = patient.locator(".msg-conclusion").inner_text()
    assert "Целевое давление" in conclusion and "ниже 130/80" in conclusion
    assert patient.locator(".msg-system .msg-text").last.inner_text() == "Консультация завершена с заключением врача."
    _shot(patient, f"patient-chat-{size}")

    # The OpenAPI document publishes the route's schemas.
    document = page.request.get(f"{live.url}/api/v1/openapi.json").json()
    assert "PressureConclusion" in document["components"]["schemas"]
    assert errors == []
    context.close()
