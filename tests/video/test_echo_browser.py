"""«Эхо-тест» in Chromium with fake media against the real server peer (aiortc in a
process of its own, started by the test): the page shows the video the server sends
back, its frames keep being decoded, its audio comes back (SPEC P5)."""

from __future__ import annotations

from core.testing import CHROMIUM, Factory, free_port
from tests.video.conftest import live_server_of, make_cast
from tests.video.test_precheck_browser import ARGS, WAIT, open_check, shoot, verdict

INBOUND = """async (kind) => { const pc = TeleconsultVideoCheck.current.echo.pc; let n = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === kind)
    n = kind === 'video' ? (r.framesDecoded || 0) : (r.packetsReceived || 0); }); return n; }"""


def test_the_patient_sees_and_hears_themselves_as_the_server_receives_them(make_app, playwright_driver, echo_process):
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    app = make_app(config={"VIDEO_ECHO_URL": echo_process.url})
    try:
        with live_server_of(app) as live:
            with app.app_context():
                cast = make_cast(Factory(app))
            page = open_check(browser, live, "patient", cast.account_id, cast.consultation_id)
            assert verdict(page)["result"]["cause"] == "ok"
            page.get_by_role("button", name="Проверить, как вас видит и слышит сервер").click()
            page.wait_for_function("() => { const e = TeleconsultVideoCheck.current.echo;"
                                   " return e && e.framesDecoded > 0 && e.audioPackets > 0; }", timeout=WAIT)
            first = page.evaluate(INBOUND, "video")
            page.wait_for_function(f"async () => (await ({INBOUND})('video')) > {first} + 10", timeout=WAIT)
            audio = page.evaluate(INBOUND, "audio")
            page.wait_for_function(f"async () => (await ({INBOUND})('audio')) > {audio}", timeout=WAIT)
            page.wait_for_function("() => document.querySelector('.pc-echo-video').videoWidth > 0", timeout=WAIT)
            page.wait_for_function("() => TeleconsultVideoCheck.current.echo.rtt != null", timeout=WAIT)
            text = page.inner_text(".pc-echo")
            assert "Так вас видит сервер" in text and "кадры приходят" in text and "звук приходит" in text, text
            assert echo_process.health()["sessions"] == 1
            shoot(page, "check-echo")
            page.get_by_role("button", name="Остановить эхо-тест").click()
            assert page.inner_text(".pc-echo-status") == "Эхо-тест завершён."

            # The server peer down: a clear message, the rest of the check stands.
            app.config["VIDEO_ECHO_URL"] = f"http://127.0.0.1:{free_port()}"
            page.get_by_role("button", name="Проверить, как вас видит и слышит сервер").click()
            page.wait_for_function("() => document.querySelector('.pc-echo').dataset.state === 'failed'", timeout=WAIT)
            assert "Эхо-тест сейчас недоступен" in page.inner_text(".pc-echo-status")
            shoot(page, "check-echo-down")
            page.context.close()
    finally:
        browser.close()
