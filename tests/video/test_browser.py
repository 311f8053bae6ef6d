"""Real calls in Chromium with fake camera and microphone (SPEC D8, P5)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Document
from core.testing import CHROMIUM, CHROMIUM_ARGS, require_or_skip
from tests.video.conftest import add_doctor, make_cast

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection"]
WAIT = 60_000  # ms: generous, the machine is shared
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4c50000000049454e44ae426082")


@pytest.fixture(scope="module")
def shared_browser(playwright_driver):
    """One Chromium with fake camera and microphone for the module; every test opens its
    own contexts in it. It accepts the test TURN server's self-signed certificate (a
    deployment's TURN has one of a public CA); the other calls use plain HTTP."""
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS, "--no-sandbox", "--ignore-certificate-errors"])
    yield browser
    browser.close()


@pytest.fixture
def media_browser(shared_browser):
    """The shared Chromium; the contexts a test opened are closed after it."""
    before = set(shared_browser.contexts)
    yield shared_browser
    for context in shared_browser.contexts:
        if context not in before:
            context.close()


def page_of(browser, server, kind, person_id, path):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(WAIT)  # the machine is shared: never a tight limit
    page = context.new_page()
    page.goto(f"{server.url}/_test/login/{kind}/{person_id}")
    page.goto(server.url + path)
    return page


def frames(page) -> int:
    return page.evaluate("() => (window.TeleconsultVideoRoom && window.TeleconsultVideoRoom.lastStats || {}).framesDecoded || 0")


def wait_frames_growing(page):
    page.wait_for_function("() => ((window.TeleconsultVideoRoom || {}).lastStats || {}).framesDecoded > 0", timeout=WAIT)
    first = frames(page)
    page.wait_for_function(f"() => window.TeleconsultVideoRoom.lastStats.framesDecoded > {first}", timeout=WAIT)


def call_and_accept(media_browser, server, cast):
    patient = page_of(media_browser, server, "patient", cast.account_id, f"/chat/{cast.consultation_id}")
    doctor = page_of(media_browser, server, "staff", cast.doctor_id, f"/chat/{cast.consultation_id}")
    doctor.get_by_role("link", name="Видеозвонок").click()
    popup = patient.get_by_role("alertdialog")
    popup.wait_for(timeout=WAIT)
    shots = os.environ.get("VIDEO_SCREENSHOTS")
    if shots:
        doctor.screenshot(path=f"{shots}/chat-header-1366.png")
        patient.screenshot(path=f"{shots}/popup-1366.png")
        patient.set_viewport_size({"width": 390, "height": 844})
        patient.screenshot(path=f"{shots}/popup-390.png")
        patient.set_viewport_size({"width": 1366, "height": 768})
    assert "вызывает вас" in popup.inner_text()
    popup.get_by_role("link", name="Принять").click()
    return doctor, patient


def test_doctor_calls_patient_accepts_both_decode_remote_video(media_browser, server, factory):
    cast = make_cast(factory)
    doctor, patient = call_and_accept(media_browser, server, cast)
    for page in (doctor, patient):
        wait_frames_growing(page)
    # Host larger, states in «Слушатели», quality shown.
    doctor.wait_for_selector(".vc-tile.host.self", timeout=WAIT)
    patient.wait_for_selector(".vc-quality[data-mark]:not([data-mark=''])", timeout=WAIT)
    # The host mutes the patient: the patient's audio track is disabled.
    doctor.locator(".vc-person .vc-mute-other").first.click()
    patient.wait_for_function("() => window.TeleconsultVideoRoom.local().getAudioTracks().every(t => !t.enabled)", timeout=WAIT)
    patient.get_by_role("button", name="Микрофон выключен").wait_for(timeout=WAIT)  # the state in words
    doctor.wait_for_selector(".vc-tile.muted:not(.self)", timeout=WAIT)
    # The patient pauses the broadcast; the doctor sees it.
    patient.locator(".vc-broadcast").uncheck()
    doctor.wait_for_selector(".vc-tile.paused:not(.self)", timeout=WAIT)
    # An in-call message arrives.
    patient.fill(".vc-chat-form input", "Меня слышно?")
    patient.click(".vc-chat-form button")
    doctor.wait_for_selector(".vc-message:has-text('Меня слышно?')", timeout=WAIT)
    # A file uploaded in the call is in «Файлы» and on the card.
    path = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", ".video-test.png")
    with open(path, "wb") as f:
        f.write(PNG)
    doctor.set_input_files(".vc-upload input[type=file]", path)
    doctor.click(".vc-upload button")
    patient.wait_for_selector(".vc-file-list a:has-text('.video-test.png')", timeout=WAIT)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Document.filename).where(Document.folder == "video")) == ".video-test.png"
    card = doctor.context.new_page()
    card.goto(f"{server.url}/workplace/applications/{cast.consultation_id}")
    assert ".video-test.png" in card.inner_text("body")


def test_enter_without_calling_then_the_patient_joins_and_host_moves(media_browser, server, factory):
    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    doctor = page_of(media_browser, server, "staff", cast.doctor_id, f"/chat/{cast.consultation_id}")
    doctor.get_by_role("link", name="Войти в ВКС").click()
    doctor.wait_for_selector(".vc-tile.self", timeout=WAIT)
    patient = page_of(media_browser, server, "patient", cast.account_id, f"/chat/{cast.consultation_id}")
    patient.get_by_role("link", name="Врач ожидает в ВКС — присоединиться").click()
    colleague = page_of(media_browser, server, "staff", other.id, f"/video/{cast.consultation_id}")
    for page in (doctor, patient, colleague):  # three participants, a full mesh
        page.wait_for_function("() => document.querySelectorAll('.vc-tile').length === 3", timeout=WAIT)
        wait_frames_growing(page)
    shots = os.environ.get("VIDEO_SCREENSHOTS")
    if shots:  # the call window at both sizes, for a person to look at
        doctor.screenshot(path=f"{shots}/call-1366.png")
        doctor.set_viewport_size({"width": 390, "height": 844})
        doctor.screenshot(path=f"{shots}/call-390.png", full_page=True)
        doctor.set_viewport_size({"width": 1366, "height": 768})
    doctor.locator(".vc-person .vc-transfer").first.click()
    colleague.wait_for_selector(".vc-tile.host.self", timeout=WAIT)
    doctor.locator(".vc-return").click()
    doctor.wait_for_selector(".vc-tile.host.self", timeout=WAIT)


def chat_shows(page, server, consultation_id, text):
    """The consultation's chat (opened afresh) shows a message with ``text``."""
    page.goto(f"{server.url}/chat/{consultation_id}")
    page.get_by_text(text).first.wait_for(timeout=WAIT)


def test_decline_tells_the_doctor_and_leaves_a_chat_message(media_browser, server, factory):
    cast = make_cast(factory)
    patient = page_of(media_browser, server, "patient", cast.account_id, f"/chat/{cast.consultation_id}")
    doctor = page_of(media_browser, server, "staff", cast.doctor_id, f"/chat/{cast.consultation_id}")
    doctor.get_by_role("link", name="Видеозвонок").click()
    popup = patient.get_by_role("alertdialog")
    popup.wait_for(timeout=WAIT)
    popup.get_by_role("button", name="Отклонить").click()
    popup.wait_for(state="detached", timeout=WAIT)
    doctor.get_by_text("Пациент отклонил вызов").wait_for(timeout=WAIT)  # at once, in the call window
    for page in (doctor, patient):
        chat_shows(page, server, cast.consultation_id, "Пациент отклонил видеозвонок")


def test_an_unanswered_call_is_missed_and_leaves_a_chat_message(media_browser, make_app):
    from core.testing import Factory
    from tests.video.conftest import live_server_of

    app = make_app(config={"VIDEO_RING_SECONDS": 2.0})  # 45 s in production
    with live_server_of(app) as live:
        with app.app_context():
            cast = make_cast(Factory(app))
        patient = page_of(media_browser, live, "patient", cast.account_id, f"/chat/{cast.consultation_id}")
        doctor = page_of(media_browser, live, "staff", cast.doctor_id, f"/chat/{cast.consultation_id}")
        doctor.get_by_role("link", name="Видеозвонок").click()
        popup = patient.get_by_role("alertdialog")
        popup.wait_for(timeout=WAIT)
        popup.wait_for(state="detached", timeout=WAIT)  # ringing stopped by itself
        doctor.get_by_text("Пациент не ответил").wait_for(timeout=WAIT)
        for page in (doctor, patient):
            chat_shows(page, live, cast.consultation_id, "Пропущенный видеозвонок")


def test_the_same_call_through_coturn_with_relay_only(make_app, media_browser, coturn):
    from core.testing import Factory
    from tests.video.conftest import live_server_of

    port, secret = coturn
    # TURN over TLS on the TLS port alone: what a network open to 443/TCP only allows.
    app = make_app(config={"VIDEO_TURN_URLS": [f"turns:127.0.0.1:{port}?transport=tcp"],
                           "VIDEO_TURN_SECRET": secret, "VIDEO_ICE_TRANSPORT_POLICY": "relay"})
    with live_server_of(app) as live:
        with app.app_context():
            cast = make_cast(Factory(app))
        doctor, patient = call_and_accept(media_browser, live, cast)
        for page in (doctor, patient):
            wait_frames_growing(page)
            peers = page.evaluate("() => window.TeleconsultVideoRoom.lastStats.peers")
            assert peers and all(p["relay"] == "tls" for p in peers), peers


BOARD = "window.TeleconsultVideoRoom.board"


def drag(page, tool, points):
    """Draw on «Доска» with the mouse: ``points`` are fractions of the board's size."""
    page.get_by_role("radio", name=tool).click()
    stage = page.locator(".vc-board-stage .upper-canvas")
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    xy = [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def without_media(page):
    """The board needs no camera: its tracks stop, so the shared machine has less to do."""
    page.wait_for_function("() => window.TeleconsultVideoRoom && window.TeleconsultVideoRoom.local()", timeout=WAIT)
    page.evaluate("() => window.TeleconsultVideoRoom.local().getTracks().forEach(t => t.stop())")


def board_settled(page, last):
    """The board of ``page`` once it holds every operation up to ``last`` and sent its own."""
    try:
        page.wait_for_function(f"() => {BOARD}.last() === {last} && {BOARD}.waiting() === 0", timeout=WAIT)
    except Exception:
        seen = page.evaluate(f"() => [{BOARD}.last(), {BOARD}.waiting(), document.querySelector('.vc-notice').textContent]")
        raise AssertionError(f"board of {page.url} not settled at {last}: {seen}") from None
    return page.evaluate(f"() => {BOARD}.snapshot()")


def test_board_two_draw_a_late_joiner_replays_it_the_host_alone_clears(media_browser, server, factory):
    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    doctor = page_of(media_browser, server, "staff", cast.doctor_id, f"/video/{cast.consultation_id}")
    doctor.wait_for_selector(".vc-tile.self", timeout=WAIT)
    patient = page_of(media_browser, server, "patient", cast.account_id, f"/video/{cast.consultation_id}")
    patient.wait_for_function("() => document.querySelectorAll('.vc-tile').length === 2", timeout=WAIT)
    for page in (doctor, patient):
        without_media(page)
    drag(doctor, "Карандаш", [(0.1, 0.1), (0.2, 0.3), (0.3, 0.2), (0.35, 0.4)])
    drag(patient, "Прямоугольник", [(0.5, 0.5), (0.8, 0.9)])
    drag(doctor, "Стрелка", [(0.6, 0.1), (0.9, 0.3)])
    # The patient loses the connection mid-drawing: the ellipse waits and goes when back.
    patient.evaluate("() => window.TeleconsultVideoRoom.socket.disconnect()")
    drag(patient, "Эллипс", [(0.1, 0.6), (0.3, 0.9)])
    assert patient.evaluate(f"() => {BOARD}.waiting()") == 1  # kept in the outbox
    patient.evaluate("() => window.TeleconsultVideoRoom.socket.connect()")
    board = board_settled(doctor, 4)
    assert [row[1] for row in board] == ["path", "rect", "arrow", "ellipse"]
    assert board_settled(patient, 4) == board
    # A third participant comes late and replays the same board from the log.
    colleague = page_of(media_browser, server, "staff", other.id, f"/video/{cast.consultation_id}")
    without_media(colleague)
    assert board_settled(colleague, 4) == board
    shots = os.environ.get("VIDEO_SCREENSHOTS")
    if shots:
        doctor.screenshot(path=f"{shots}/board-1366.png", timeout=WAIT)
        doctor.set_viewport_size({"width": 390, "height": 844})
        doctor.screenshot(path=f"{shots}/board-390.png", full_page=True, timeout=WAIT)
        doctor.set_viewport_size({"width": 1366, "height": 768})
    # Undo takes off one's own last drawing, for everyone.
    patient.get_by_role("button", name="Отменить").click()
    board = board_settled(doctor, 5)
    assert [row[1] for row in board] == ["path", "rect", "arrow"] and board_settled(colleague, 5) == board
    # Not the host: no «Очистить», and the server refuses it all the same.
    assert patient.locator(".vc-board-clear").is_hidden()
    patient.evaluate(f"() => {BOARD}.submit('clear', {{}})")
    patient.get_by_text("Очистить доску может только ведущий").wait_for(timeout=WAIT)
    assert board_settled(patient, 5) == board
    # The export lands in «Файлы» of everyone and on the application card.
    doctor.get_by_role("button", name="Сохранить в «Файлы»").click()
    colleague.wait_for_selector(".vc-file-list a:has-text('Доска')", timeout=WAIT)
    db.session.expire_all()
    name = db.session.scalar(sa.select(Document.filename).where(Document.kind == "video_board"))
    assert name.endswith("№5.png")
    card = doctor.context.new_page()
    card.goto(f"{server.url}/workplace/applications/{cast.consultation_id}")
    assert name in card.inner_text("body")
    card.close()
    # The host clears the board for all.
    doctor.on("dialog", lambda dialog: dialog.accept())
    doctor.get_by_role("button", name="Очистить").click()
    for page in (doctor, patient, colleague):
        assert board_settled(page, 6) == []
