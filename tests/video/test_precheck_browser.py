"""«Проверка связи» in Chromium: each of the guide's causes from a real browser, one
browser, one server and coturn, a context per case (SPEC P5, D8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import db
from core.testing import CHROMIUM, CHROMIUM_ARGS, Factory, require_or_skip
from plugins.video.models import VideoCheck
from tests.video.conftest import live_server_of, make_cast

WAIT = 60_000  # ms: generous, the machine is shared
# Fake camera and microphone; a permission not granted to a context is refused, as a
# person refusing (or having blocked) the prompt: getUserMedia throws NotAllowedError.
ARGS = [*CHROMIUM_ARGS, "--no-sandbox", "--use-fake-device-for-media-stream", "--deny-permission-prompts",
        "--allow-loopback-in-peer-connection", "--ignore-certificate-errors"]  # the test TURN's own certificate

# Init scripts standing in for what a test machine cannot have.
NO_CAMERA = """(() => { const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
  md.getUserMedia = c => c && c.video ? Promise.reject(new DOMException('Requested device not found', 'NotFoundError')) : gum(c); })();"""
BUSY_CAMERA = """(() => { const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md);
  md.getUserMedia = c => c && c.video ? Promise.reject(new DOMException('Could not start video source', 'NotReadableError')) : gum(c); })();"""
NO_WEBRTC = "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;"
# Two more network adapters (a VPN and a second network): host candidates with their addresses.
TWO_ADAPTERS = """(() => { const add = RTCPeerConnection.prototype.addEventListener;
  RTCPeerConnection.prototype.addEventListener = function (type, fn, options) {
    if (type !== 'icecandidate') return add.call(this, type, fn, options);
    let added = false;
    return add.call(this, type, function (e) {
      if (!added && e.candidate && (e.candidate.type === 'host')) {
        added = true;
        ['10.8.0.5', '172.20.0.7'].forEach(a => fn({candidate: {type: 'host', address: a,
          candidate: 'candidate:9 1 udp 2122260223 ' + a + ' 50000 typ host generation 0'}}));
      }
      fn(e);
    }, options);
  }; })();"""


@pytest.fixture
def check_browser(playwright_driver):
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


def open_check(browser, server, kind, person_id, consultation_id, grant=("camera", "microphone"), script=None,
               size=(1366, 768), path=None):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    if grant:
        context.grant_permissions(list(grant), origin=server.url)
    if script:
        context.add_init_script(script)
    page = context.new_page()
    page.goto(f"{server.url}/_test/login/{kind}/{person_id}")
    page.goto(server.url + (path or f"/video/{consultation_id}/check"))
    return page


def verdict(page) -> dict:
    page.wait_for_function("() => window.TeleconsultVideoCheck && TeleconsultVideoCheck.current && TeleconsultVideoCheck.current.result", timeout=WAIT)
    return page.evaluate("() => ({result: TeleconsultVideoCheck.current.result, facts: TeleconsultVideoCheck.current.facts,"
                         " text: document.querySelector('.pc-result').innerText})")


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_problems(page) -> list[str]:
    """Serious or critical axe-core violations of the page (as tests/ui/test_pages.py)."""
    if not AXE.exists():
        return []
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
        ".map((v) => v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))")


def shoot(page, name):
    shots = os.environ.get("VIDEO_SCREENSHOTS")
    if not shots:
        return
    page.screenshot(path=f"{shots}/{name}-1366.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{shots}/{name}-390.png", full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "horizontal overflow at 390"
    page.set_viewport_size({"width": 1366, "height": 768})


def test_each_cause_of_the_guide(make_app, check_browser, coturn):
    port, secret = coturn
    app = make_app(config={"VIDEO_TURN_URLS": [f"turns:127.0.0.1:{port}?transport=tcp"], "VIDEO_TURN_SECRET": secret})
    with live_server_of(app) as live:
        with app.app_context():
            cast = make_cast(Factory(app))
        patient = ("patient", cast.account_id, cast.consultation_id)

        # All good: camera, microphone, a relay candidate through coturn on its TLS port.
        page = open_check(check_browser, live, *patient)
        seen = verdict(page)
        assert seen["result"]["cause"] == "ok", seen
        assert seen["facts"]["relay"] > 0 and seen["facts"]["rtt_ms"] is not None, seen["facts"]
        assert "Всё в порядке" in seen["text"] and "Задержка до сервера" in seen["text"]  # its figure is the machine's
        # Through coturn, relay to relay: it connects, carries data and says what it lost.
        assert seen["facts"]["turn_ok"] is True and seen["facts"]["throughput_kbps"] > 0, seen["facts"]
        assert 0 <= seen["facts"]["loss"] <= 1 and seen["result"]["throughput_kbps"] > 0, seen
        assert "скорость через сервер связи" in seen["text"] and "кбит/с, потери" in seen["text"]
        page.wait_for_function("() => TeleconsultVideoCheck.current && TeleconsultVideoCheck.current.level > 0", timeout=WAIT)  # the meter moves
        assert page.locator(".pc-camera option").count() >= 1 and page.locator(".pc-mic option").count() >= 1
        page.click(".pc-beep")
        page.wait_for_function("() => TeleconsultVideoCheck.current.beeped", timeout=WAIT)
        assert axe_problems(page) == []
        shoot(page, "check-ok")
        page.context.close()

        cases = [  # (what the context lacks, the cause, the guide's words)
            ({"grant": ()}, "permission", "Значки камеры и микрофона должны быть зелеными"),
            ({"script": NO_CAMERA}, "refresh", "Обновите страницу несколько раз."),
            ({"script": BUSY_CAMERA}, "busy", "Skype, Zoom"),
            ({"script": NO_WEBRTC}, "browser", "рекомендуем Chrome и FireFox"),
            ({"script": TWO_ADAPTERS}, "adapters", "2 или более сетевых адаптера"),
        ]
        for options, cause, words in cases:
            page = open_check(check_browser, live, *patient, **options)
            seen = verdict(page)
            assert seen["result"]["cause"] == cause, (options, seen)
            assert words in seen["text"], seen["text"]
            if cause == "permission":
                assert axe_problems(page) == []
            shoot(page, f"check-{cause}")
            page.context.close()

        # A TURN that refuses (a wrong secret): media works, no relay candidate.
        app.config["VIDEO_TURN_SECRET"] = "not-the-secret"
        try:
            page = open_check(check_browser, live, *patient)
            seen = verdict(page)
        finally:
            app.config["VIDEO_TURN_SECRET"] = secret
        assert seen["result"]["cause"] == "network" and seen["facts"]["relay"] == 0, seen
        assert "turn_ok" not in seen["facts"] and seen["result"]["throughput_kbps"] is None  # nothing to measure
        assert "антивирусы, межсетевые экраны" in seen["text"] and "AdBlock" in seen["text"]
        shoot(page, "check-network")
        page.context.close()

        # Only the camera blocked; the doctor reads it in the chat header and opens his own
        # check from the workplace chat.
        page = open_check(check_browser, live, *patient, grant=("microphone",))
        assert verdict(page)["result"]["camera"] == "denied"
        page.context.close()
        doctor = open_check(check_browser, live, "staff", cast.doctor_id, cast.consultation_id,
                            path=f"/chat/{cast.consultation_id}")
        note = doctor.locator(".chat-note")
        assert note.inner_text() == "У пациента заблокирована камера"
        shoot(doctor, "chat-doctor-note")
        doctor.get_by_role("link", name="Проверка связи").click()
        assert verdict(doctor)["result"]["cause"] == "ok"
        assert "У пациента заблокирована камера" in doctor.inner_text(".pc-patient")
        shoot(doctor, "check-doctor")
        with app.app_context():
            causes = db.session.scalars(sa.select(VideoCheck.cause).order_by(VideoCheck.id)).all()
        assert causes == ["ok", "permission", "refresh", "busy", "browser", "adapters", "network", "permission", "ok"]


def test_from_the_ringing_popup(make_app, check_browser):
    """The popup «Врач … вызывает вас» leads to the check; it keeps ringing there."""
    app = make_app()
    with live_server_of(app) as live:
        with app.app_context():
            cast = make_cast(Factory(app))
        patient = open_check(check_browser, live, "patient", cast.account_id, cast.consultation_id,
                             path=f"/chat/{cast.consultation_id}")
        patient.get_by_role("link", name="Проверка связи").wait_for(timeout=WAIT)  # the portal's «Чат с врачом»
        doctor = open_check(check_browser, live, "staff", cast.doctor_id, cast.consultation_id,
                            path=f"/video/{cast.consultation_id}?ring=1")
        popup = patient.get_by_role("alertdialog")
        popup.wait_for(timeout=WAIT)
        popup.get_by_role("link", name="Проверка связи").click()
        assert verdict(patient)["result"]["cause"] == "ok"
        popup = patient.get_by_role("alertdialog")
        popup.wait_for(timeout=WAIT)  # still ringing on the check page
        assert popup.get_by_role("link", name="Проверка связи").count() == 0
        shoot(patient, "check-popup")
        popup.get_by_role("link", name="Принять").click()
        patient.wait_for_selector(".vc-tile:not(.self)", timeout=WAIT)
        doctor.wait_for_selector(".vc-tile:not(.self)", timeout=WAIT)
