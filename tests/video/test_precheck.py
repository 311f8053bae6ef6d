"""«Проверка связи» on the server: the guide's causes from what the browser saw, the
stored result, access, CSRF, and what the doctor reads (SPEC P5, D8)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation
from core.testing import enable_test_login
from plugins.video import precheck
from plugins.video.models import VideoCheck
from tests.video.conftest import login, make_cast

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
GOOD = {"webrtc": True, "media_api": True, "camera": "ok", "microphone": "ok", "relay": 2, "hosts": 1, "rtt_ms": 20,
        "turn_ok": True, "throughput_kbps": 1800, "loss": 0.004}


def facts(**changes):
    return {**GOOD, **changes}


@pytest.mark.parametrize("changes, user_agent, cause", [
    ({}, CHROME, "ok"),
    ({"camera": "NotAllowedError", "microphone": "NotAllowedError"}, CHROME, "permission"),
    ({"camera": "NotReadableError"}, CHROME, "busy"),
    ({"camera": "NotFoundError"}, CHROME, "refresh"),
    ({"microphone": "TypeError"}, CHROME, "refresh"),
    ({"webrtc": False}, CHROME, "browser"),
    ({"media_api": False, "camera": None, "microphone": None}, CHROME, "browser"),
    ({}, "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "browser"),
    ({}, CHROME.replace("Chrome/120", "Chrome/49"), "browser"),
    ({}, "Mozilla/5.0 (X11; Linux x86_64; rv:52.0) Gecko/20100101 Firefox/52.0", "browser"),
    ({}, CHROME + " YaBrowser/13.1.0.0", "browser"),
    ({"relay": 0}, CHROME, "network"),
    ({"relay": None, "srflx": 0}, CHROME, "network"),
    ({"turn_ok": False, "throughput_kbps": None, "loss": None}, CHROME, "network"),  # a relay that carries nothing
    ({"relay": None}, CHROME, "ok"),  # nothing to test against: not a blocked network
    ({"hosts": 2}, CHROME, "adapters"),
    # the first cause in the guide's order that applies is named; a busy device with a
    # blocked network is the device
    ({"camera": "NotReadableError", "relay": 0}, CHROME, "busy"),
])
def test_the_guides_cause(changes, user_agent, cause):
    assert precheck.classify(facts(**changes), user_agent).cause == cause


@pytest.mark.parametrize("changes, text", [
    ({}, "Задержка до сервера 20 мс, скорость через сервер связи 1800 кбит/с, потери 0,4 %: видео будет хорошим"),
    ({"throughput_kbps": 600}, "скорость через сервер связи 600 кбит/с, потери 0,4 %: возможны задержки"),
    ({"loss": 0.03}, "потери 3 %: возможны задержки изображения и звука"),
    ({"loss": 0.12}, "потери 12 %: связь медленная, видео будет прерываться"),
    ({"throughput_kbps": 120}, "120 кбит/с, потери 0,4 %: связь медленная"),
    ({"rtt_ms": 500}, "Задержка до сервера 500 мс, скорость"),
    ({"throughput_kbps": None, "loss": None}, "Задержка до сервера 20 мс: видео будет хорошим"),
    ({"rtt_ms": None, "throughput_kbps": None, "loss": None}, ""),
    ({"turn_ok": False}, "Видеосвязь через эту сеть не установится"),
])
def test_whether_video_will_be_good(changes, text):
    verdict = precheck.classify(facts(**changes), CHROME)
    check = VideoCheck(network=verdict.network, rtt_ms=verdict.rtt_ms, throughput_kbps=verdict.throughput_kbps,
                       loss_pct=verdict.loss_pct)
    quality = precheck.quality_of(check)
    assert (text in quality) if text else quality == "", quality
    if changes.get("rtt_ms") == 500:
        assert quality.endswith("связь медленная, видео будет прерываться")


def test_the_browser_and_its_version():
    assert precheck.browser_of(CHROME) == ("Chrome 120", 120, True)
    assert precheck.browser_of(CHROME + " Edg/120.0")[0] == "Edge 120"
    assert precheck.browser_of(CHROME + " OPR/29.0")[2] is False
    assert precheck.browser_of("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1)")[2] is False


@pytest.fixture
def web(app):
    enable_test_login(app)
    return app.test_client()


def test_a_patient_checks_and_the_doctor_sees_it_before_calling(web, factory):
    cast = make_cast(factory)
    url = f"/video/{cast.consultation_id}/check"
    login(web, "patient", cast.account_id)
    page = web.get(url)
    assert page.status_code == 200 and "Проверка связи" in page.get_data(as_text=True)
    assert web.get(f"{url}/ice").get_json() == {"turn": [], "stun": []}
    assert web.get("/video/check/ping").status_code == 204
    # «Проверка связи» from the portal's chat and from the popup's data
    assert url in web.get(f"/chat/{cast.consultation_id}").get_data(as_text=True)
    token = web.csrf_token(url)
    assert web.post(url, json=facts(camera="NotAllowedError")).status_code == 400  # CSRF
    answer = web.post(url, json=facts(camera="NotAllowedError"), headers={"X-CSRFToken": token})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    check = answer.get_json()["check"]
    assert check["cause"] == "permission" and check["advice"][0]["number"] == 2
    assert "Значки камеры и микрофона должны быть зелеными" in check["advice"][0]["guide"]
    assert check["quality"] == ("Задержка до сервера 20 мс, скорость через сервер связи 1800 кбит/с, потери 0,4 %: "
                                "видео будет хорошим")
    stored = db.session.scalar(sa.select(VideoCheck).where(VideoCheck.consultation_id == cast.consultation_id))
    assert (stored.cause, stored.camera, stored.microphone, stored.patient_id) == ("permission", "denied", "ok", cast.patient_id)
    assert (stored.throughput_kbps, stored.loss_pct) == (1800, 0.4)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "video.checked"))
    assert event.consultation_id == cast.consultation_id and event.data["cause"] == "permission"
    # The doctor: the chat header and the call window say what is wrong.
    login(web, "staff", cast.doctor_id)
    for path in (f"/chat/{cast.consultation_id}", f"/video/{cast.consultation_id}", url):
        assert "У пациента заблокирована камера" in web.get(path).get_data(as_text=True), path


def test_bad_input_and_access(web, factory):
    cast, other = make_cast(factory), make_cast(factory)
    url = f"/video/{cast.consultation_id}/check"
    login(web, "patient", other.account_id)  # somebody else's consultation
    assert web.get(url).status_code == 404
    assert web.post(url, json=GOOD, headers={"X-CSRFToken": web.csrf_token(f"/chat/{other.consultation_id}")}).status_code == 404
    login(web, "patient", cast.account_id)
    token = web.csrf_token(url)
    for body in (facts(relay=-1), facts(hosts="many"), facts(rtt_ms=True), facts(loss=1.5), facts(loss="none"),
                 facts(throughput_kbps=-5), facts(throughput_kbps=True), facts(turn_ok="yes"), [1, 2]):
        answer = web.post(url, json=body, headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert 400 <= answer.status_code < 500, body
        message = answer.get_json()["error"]["message"]
        assert message in ("Некорректный результат проверки", "Тело запроса должно быть JSON-объектом"), message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VideoCheck)) == 0
    # A closed consultation: no call, no check.
    from core import lifecycle
    from core.access import principal_for_user
    from core.models import CompletionReason, Outcome

    consultation = db.session.get(Consultation, cast.consultation_id)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
    db.session.commit()
    assert web.get(url).status_code == 409
