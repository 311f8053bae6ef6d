"""In Chromium: a message typed in one page appears live in another, shown as text, and the
sender sees it read (SPEC D7, P4). Uses Debian's chromium through Playwright."""

from __future__ import annotations

from tests.chat.conftest import make_cast


def test_a_message_sent_in_one_page_appears_in_the_other(server, factory, browser):
    cast = make_cast(factory)
    doctor = browser.new_context(timezone_id="Asia/Vladivostok").new_page()
    patient = browser.new_context().new_page()
    for page, kind, person in ((doctor, "staff", cast.doctor_id), (patient, "patient", cast.account_id)):
        page.goto(f"{server.url}/_test/login/{kind}/{person}")
        page.goto(f"{server.url}/chat/{cast.consultation_id}")
    errors = []
    for page in (doctor, patient):
        page.on("pageerror", lambda error: errors.append(str(error)))

    patient.fill(".chat-composer textarea", "<b>Добрый день</b>, доктор")
    patient.click(".send-button")
    received = doctor.locator(".chat-messages .msg.theirs .msg-text")
    received.first.wait_for(timeout=10000)
    assert received.first.inner_text() == "<b>Добрый день</b>, доктор"
    assert doctor.locator(".chat-messages b").count() == 0
    # Moscow time whatever the browser's own zone.
    assert doctor.locator(".chat-messages .msg.theirs .msg-time").first.inner_text().endswith("МСК")

    own = patient.locator(".chat-messages .msg.mine .msg-state").first
    own.wait_for(timeout=10000)
    patient.wait_for_function(
        "() => document.querySelector('.chat-messages .msg.mine .msg-state').textContent === 'Прочитано'",
        timeout=10000,
    )
    doctor.fill(".chat-composer textarea", "Здравствуйте!")
    doctor.keyboard.press("Enter")
    patient.locator(".chat-messages .msg.theirs .msg-text", has_text="Здравствуйте!").wait_for(timeout=10000)
    assert errors == []
