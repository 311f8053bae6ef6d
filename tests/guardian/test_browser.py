"""Seed 002 §5 end to end in Chromium (issue 14, SPEC D5): the doctor finds the legal
representative by passport, types the child by hand (a bad policy is refused in Russian
with nothing stored), sees the 323-ФЗ art. 54 warning for a child of 15 or more and files
the consultation; the claimed link grants the representative nothing until an operator
attaches the document, then the chat is in the representative's portal account, and
ending the link closes the open chat window within seconds."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Consultation, ConsultationType, Patient
from core.testing import PASSWORD, Factory, LiveServer, enable_test_login
from core.validators import complete_oms
from plugins.guardian.models import Guardianship
from tests.chat.conftest import make_account

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WAIT_MS = 15000  # generous: the chat re-checks its sockets every CHAT_RECHECK_SECONDS


@pytest.fixture
def served(make_app):
    app = make_app()
    enable_test_login(app)
    with app.app_context():
        factory = Factory(app)
        organisation = factory.organisation()
        doctor = factory.doctor(organisation, last_name="Педиатрова", specialty="педиатр")
        factory.user(("operator",), organisation, login="operator")
        parent = factory.patient(organisation, last_name="Морозова", first_name="Елена", passport="4510 123456")
        account = make_account(factory, parent)
        slot = factory.slot(doctor)
        ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_representative"))
        ids = {"doctor": doctor.id, "passport": parent.passport, "slot": slot.id, "account": account.id,
               "ctype": ctype.id, "parent": parent.id}
    live = LiveServer(app).start()
    yield app, live, ids
    live.stop()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_representatives_consultation_from_the_wizard_to_the_portal_chat(served, chromium, size):
    app, live, ids = served
    page = chromium.new_context(viewport=SIZES[size], locale="ru-RU").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live.url}/_test/login/staff/{ids['doctor']}")
    page.goto(f"{live.url}/workplace/new/type")
    page.click(f'button[name="type_id"][value="{ids["ctype"]}"]')
    page.wait_for_url("**/new/profile")
    page.locator('input[name="profile_id"]').first.check()
    page.click("button.primary")
    page.wait_for_url("**/new/patient")
    page.check('input[name="kind"][value="passport"]')
    page.fill('input[name="identifier"]', "4510 123456")
    page.click("form.step-form button.primary")
    page.wait_for_url("**/new/confirm")
    assert "Проверьте ФИО законного представителя пациента" in page.content()
    page.click("button.primary")
    page.wait_for_url("**/new/child")

    today = date.today()
    page.fill("#child_last_name", "Морозов")
    page.fill("#child_first_name", "Пётр")
    page.fill("#child_birth_date", today.replace(year=today.year - 16).isoformat())
    page.fill("#child_oms_policy", "123")
    page.check('input[name="child_sex"][value="male"]')
    page.click("#child-entry button.primary")
    page.wait_for_selector(".error-box, .flash-error, [role=alert]")
    assert "полис" in page.content().lower()
    assert page.input_value("#child_last_name") == "Морозов", "what the doctor typed stays"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 1, "no child half-written"
    page.fill("#child_oms_policy", complete_oms("780000000777003"))
    page.click("#child-entry button.primary")
    page.wait_for_url("**/new/email")
    warning = page.locator("[data-own-consent]")
    assert "Пациенту 16 лет" in warning.inner_text() and "ст. 54" in warning.inner_text()
    page.click("button.primary")
    page.wait_for_url("**/new/consultant")
    page.locator(f'input[name="consultant_id"][value="{ids["doctor"]}"]').check()
    page.click("button.primary")
    page.wait_for_url("**/new/slot")
    page.locator(f'input[name="slot_id"][value="{ids["slot"]}"]').check()
    page.click("button.primary")
    page.wait_for_url("**/workplace/applications/*")
    card = page.locator(".card-main").inner_text()
    assert "Морозов Пётр" in card and "Законный представитель" in card and "Морозова Елена" in card
    with app.app_context():
        consultation = db.session.scalar(sa.select(Consultation))
        link = db.session.scalar(sa.select(Guardianship))
        assert (consultation.representative_id, link.basis, link.source) == (ids["parent"], None, "wizard")
        consultation_id, link_id = consultation.id, link.id

    # The claim grants the representative nothing; the operator's document does.
    parent = chromium.new_context(viewport=SIZES[size], locale="ru-RU").new_page()
    parent.goto(f"{live.url}/_test/login/patient/{ids['account']}")
    parent.goto(f"{live.url}/portal/chats")
    assert f'data-consultation="{consultation_id}"' not in parent.content()
    console = app.test_client()
    console.login("operator", PASSWORD)
    attached = console.post_form(
        f"/admin/guardianships/{link_id}/document", {"document": (io.BytesIO(PDF), "свидетельство.pdf")}
    )
    assert attached.status_code == 302
    parent.goto(f"{live.url}/portal/chats")
    assert f'data-consultation="{consultation_id}"' in parent.content()
    parent.goto(f"{live.url}/chat/{consultation_id}")
    # The doctor writes; the representative's open window receives it (its socket joined).
    page.goto(f"{live.url}/chat/{consultation_id}")
    page.fill(".chat-composer textarea", "Как температура у Пети?")
    page.click(".chat-composer .send-button")
    parent.locator(".chat-messages", has_text="Как температура у Пети?").wait_for(timeout=WAIT_MS)

    # Ending the link closes the representative's open chat window within seconds.
    assert console.post_form(f"/admin/guardianships/{link_id}/end", {}).status_code == 302
    parent.locator(".chat-status", has_text="Доступ к чату закрыт").wait_for(timeout=WAIT_MS)
    assert errors == []
