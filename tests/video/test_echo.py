"""The echo test of «Проверка связи» on the server: who may reach the server peer, bad
offers, the server peer down, the per-user rate, and `teleconsult run` starting it
(SPEC P5)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from core.commands import start_companions, stop_companions
from core.db import db
from core.models import AuditEvent
from core.testing import enable_test_login, free_port
from tests.video.conftest import login, make_cast

BAD_OFFER = "Некорректное описание соединения (SDP) для эхо-теста"
DOWN = "Эхо-тест сейчас недоступен: сервер проверки связи не отвечает"
JSON = {"Accept": "application/json"}


def client(app):
    enable_test_login(app)
    return app.test_client()


def post(web, url, body, token):
    return web.post(url, json=body, headers={**JSON, "X-CSRFToken": token})


def test_only_who_may_check_reaches_the_echo_and_bad_offers_are_refused(make_app, factory, echo_process):
    app = make_app(config={"VIDEO_ECHO_URL": echo_process.url})
    web = client(app)
    cast, other = make_cast(factory), make_cast(factory)
    url = f"/video/{cast.consultation_id}/check/echo"
    offer = {"type": "offer", "sdp": "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"}
    # Anonymous: nothing.
    assert web.post(url, json=offer, headers=JSON).status_code in (400, 401)
    # A patient of another consultation: nothing.
    login(web, "patient", other.account_id)
    assert post(web, url, offer, web.csrf_token(f"/video/{other.consultation_id}/check")).status_code == 404
    assert echo_process.health()["answered"] == 0
    login(web, "patient", cast.account_id)
    page = web.get(f"/video/{cast.consultation_id}/check").get_data(as_text=True)
    assert "Эхо-тест" in page and "Проверить, как вас видит и слышит сервер" in page
    token = web.csrf_token(f"/video/{cast.consultation_id}/check")
    assert web.post(url, json=offer, headers=JSON).status_code == 400  # no CSRF token
    for body in ({"type": "answer", "sdp": offer["sdp"]}, {"type": "offer", "sdp": "garbage"}, {"type": "offer"},
                 {"type": "offer", "sdp": "v=0\r\n"}, {"type": "offer", "sdp": "v=0\r\nm=video " + "x" * 40000}):
        answer = post(web, url, body, token)
        assert answer.status_code == 422 and BAD_OFFER in answer.get_json()["error"]["message"], body
    # Well-formed enough for the web app, refused by the server peer (no ICE credentials).
    answer = post(web, url, offer, token)
    assert answer.status_code == 422 and BAD_OFFER in answer.get_json()["error"]["message"]
    assert echo_process.health()["answered"] == 0
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "video.echo_tested"))
    assert event.consultation_id == cast.consultation_id and event.data["outcome"] == "bad_offer"


def test_the_echo_down_answers_503_and_the_rate_is_per_user(make_app, factory):
    app = make_app(config={"VIDEO_ECHO_URL": f"http://127.0.0.1:{free_port()}", "VIDEO_ECHO_PER_USER": 2})
    web = client(app)
    cast = make_cast(factory)
    url = f"/video/{cast.consultation_id}/check/echo"
    offer = {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}
    login(web, "patient", cast.account_id)
    token = web.csrf_token(f"/video/{cast.consultation_id}/check")
    for _ in range(2):
        answer = post(web, url, offer, token)
        assert answer.status_code == 503 and DOWN in answer.get_json()["error"]["message"]
    answer = post(web, url, offer, token)
    assert answer.status_code == 429 and "Слишком много эхо-тестов" in answer.get_json()["error"]["message"]
    # The doctor has a count of his own.
    login(web, "staff", cast.doctor_id)
    answer = post(web, url, offer, web.csrf_token(f"/video/{cast.consultation_id}/check"))
    assert answer.status_code == 503
    outcomes = db.session.scalars(sa.select(AuditEvent.data).where(AuditEvent.action == "video.echo_tested")).all()
    assert [o["outcome"] for o in outcomes] == ["down", "down", "down"]


def test_switched_off_the_page_has_no_echo_and_the_endpoint_answers_404(make_app, factory):
    app = make_app(config={"VIDEO_ECHO_ENABLED": False})
    web = client(app)
    cast = make_cast(factory)
    login(web, "patient", cast.account_id)
    assert "pc-echo-start" not in web.get(f"/video/{cast.consultation_id}/check").get_data(as_text=True)
    answer = post(web, f"/video/{cast.consultation_id}/check/echo", {"type": "offer", "sdp": "v=0"},
                  web.csrf_token(f"/video/{cast.consultation_id}/check"))
    assert answer.status_code == 404


def test_teleconsult_run_starts_the_echo_beside_the_web_server(make_app):
    """``teleconsult_register_companion_processes``: the video plugin's echo process is
    started by the embedded default and stopped with it."""
    import json
    import urllib.request

    port = free_port()
    app = make_app(config={"VIDEO_ECHO_URL": f"http://127.0.0.1:{port}", "VIDEO_ECHO_MAX_SESSIONS": 1})
    with app.app_context():
        processes = start_companions(app)
    try:
        assert len(processes) == 1
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                    health = json.load(reply)
                break
            except OSError:
                assert processes[0].poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health["max_sessions"] == 1 and health["sessions"] == 0
    finally:
        stop_companions(processes)
    assert processes[0].poll() is not None
    off = make_app(config={"VIDEO_ECHO_ENABLED": False})
    with off.app_context():
        assert start_companions(off) == []
