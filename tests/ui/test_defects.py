"""Defects found walking the workplace and the portal in Chromium (issue 18; SPEC D2-D4,
D7, D9, P2-P7). Each test failed before its fix."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from core.db import db
from core.models import Consultation
from tests.chat.conftest import make_cast

# Apps of their own: after the route tutorial's tests a kept app's completion page did not
# navigate within the deadline (seen only in that order, its cause not yet found).
pytestmark = pytest.mark.fresh_app

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def open_page(server, browser):
    """``open_page(kind, person_id, viewport)``: a logged-in page; page errors fail the test."""
    contexts, errors = [], []

    def make(kind: str, person_id: int, viewport=DESKTOP):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/_test/login/{kind}/{person_id}")
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == []


def test_workplace_rules_apply_on_a_desktop_screen(server, factory, open_page):
    """The never-closed @media block made the wizard's stepper a plain list at 1366 px."""
    cast = make_cast(factory)
    page = open_page("staff", cast.doctor_id)
    page.goto(f"{server.url}/workplace/new/type")
    assert page.eval_on_selector(".wizard-steps", "el => getComputedStyle(el).display") == "flex"
    page.goto(f"{server.url}/chat/{cast.consultation_id}")
    family = page.eval_on_selector(".chat-composer textarea", "el => getComputedStyle(el).fontFamily")
    assert "monospace" not in family


def test_an_empty_chat_offers_no_earlier_messages_and_reloaded_messages_keep_their_height(
    server, factory, open_page
):
    cast = make_cast(factory)
    page = open_page("staff", cast.doctor_id, PHONE)
    page.goto(f"{server.url}/chat/{cast.consultation_id}")
    page.wait_for_selector(".chat-composer textarea")
    assert not page.is_visible(".chat-older")  # [hidden] wins over button { display }
    page.fill(".chat-composer textarea", "Одна строка")
    page.click(".send-button")
    live = page.locator(".chat-messages .msg.mine").first
    page.wait_for_function(
        "() => document.querySelector('.chat-messages .msg.mine .msg-state').textContent === 'Отправлено'"
    )
    live_height = live.bounding_box()["height"]
    page.reload()
    page.wait_for_selector(".chat-messages .msg.mine")
    reloaded = page.locator(".chat-messages .msg.mine").first.bounding_box()["height"]
    assert reloaded <= live_height * 1.2, (live_height, reloaded)


def test_the_chosen_conclusion_file_is_named(server, factory, open_page, tmp_path):
    cast = make_cast(factory)
    scan = tmp_path / "заключение.png"
    scan.write_bytes(PNG)
    page = open_page("staff", cast.doctor_id)
    page.goto(f"{server.url}/conclusion-upload/{cast.consultation_id}")
    page.set_input_files("#document", str(scan))
    page.wait_for_function("() => document.getElementById('chosen-file').textContent === 'заключение.png'")


def test_completion_without_conclusion_asks_first(server, factory, open_page):
    cast = make_cast(factory)
    page = open_page("staff", cast.doctor_id)
    page.goto(f"{server.url}/workplace/applications/{cast.consultation_id}/complete-without-conclusion")
    page.select_option("#reason_id", index=1)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("form.step-form button[type=submit]")
    page.wait_for_timeout(300)  # a dismissed confirmation sends nothing: nothing to wait for
    assert asked and "без заключения" in asked[0]
    db.session.expire_all()
    assert not db.session.get(Consultation, cast.consultation_id).is_closed
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form.step-form button[type=submit]")
    page.wait_for_url(f"**/workplace/applications/{cast.consultation_id}")
    db.session.expire_all()
    assert db.session.get(Consultation, cast.consultation_id).is_closed


def test_the_patient_sees_the_doctors_comment_at_the_top_of_the_chat(server, factory, open_page):
    cast = make_cast(factory, comment="Возьмите с собой результаты анализов")
    page = open_page("patient", cast.account_id, PHONE)
    page.goto(f"{server.url}/chat/{cast.consultation_id}")
    comment = page.locator(".chat-comment")
    assert "Возьмите с собой результаты анализов" in comment.inner_text()
    box, messages = comment.bounding_box(), page.locator(".chat-messages").bounding_box()
    assert box["y"] < messages["y"] and box["y"] + box["height"] <= PHONE["height"]
    # The message box is on the first screen of a phone, the menu does not push it down.
    composer = page.locator(".chat-composer textarea").bounding_box()
    assert composer["y"] + composer["height"] <= PHONE["height"], composer
