"""The operator's dashboard on the console's start page (SPEC A1, D4, D8, D9): the figures
of a known data set, their CSV, the operator's organisation scope, bad input, and the
figures plugins add through ``teleconsult_register_dashboard_figures`` (the video
plugin's calls and quality, the e-signature plugin's refused signatures)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core import audit
from core.access import principal_for_user
from core.db import db
from core.models import AuditEvent, PluginState
from core.plugins import forget_switches
from core.testing import login_session
from plugins.esignature.verify import REASONS
from plugins.video.models import VideoCall, VideoParticipant

PERIOD = {"from": "2026-03-01", "to": "2026-03-07"}
MSK = timezone(timedelta(hours=3))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Moscow time of March 2026 (the deployment's zone), stored as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=MSK).astimezone(timezone.utc)


def _consultation(factory, doctor, created, started=None, closed=None, outcome=None):
    consultation = factory.consultation(author=doctor)
    consultation.created_at = created
    consultation.started_at = started
    if closed is not None:
        consultation.closed_at = closed
        consultation.status = "closed"
        consultation.outcome = outcome
    db.session.commit()
    return consultation


def _call(consultation, created, status, held, summary=None):
    call = VideoCall(consultation_id=consultation.id, status=status, created_at=created, summary=summary or {})
    db.session.add(call)
    db.session.flush()
    if held:
        db.session.add(VideoParticipant(call_id=call.id, patient_id=consultation.patient_id, joined_at=created))
    db.session.commit()


def _refusal(document_consultation, doctor, when, code):
    event_id = audit.record(
        "esignature.signature_refused", object_type="documents", object_id=1,
        consultation_id=document_consultation.id if document_consultation else None,
        principal=principal_for_user(doctor), data={"code": code, "status": "invalid"},
    )
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(at=when))
    db.session.commit()


@pytest.fixture
def data(app, factory):
    """Two organisations; a regional operator (no organisation) and one of «Север»."""
    north, south = factory.organisation("Север"), factory.organisation("Юг")
    regional = factory.user(("operator",), login="region")
    regional.organisation_id = None
    north_operator = factory.user(("operator",), north, login="north-operator")
    db.session.commit()
    doctor_n, doctor_s = factory.doctor(north), factory.doctor(south)
    # Север: three applications in the period, one before it.
    a = _consultation(factory, doctor_n, at(2, 1, 30), started=at(2, 2, 0), closed=at(3, 12), outcome="no_conclusion")
    b = _consultation(factory, doctor_n, at(2, 10), started=at(4, 10), closed=at(4, 11), outcome="signed_conclusion")
    _consultation(factory, doctor_n, at(5, 9))
    _consultation(factory, doctor_n, at(1, 0, 0) - timedelta(minutes=1), started=at(1, 5))  # 28.02 23:59
    # Юг: one application, started 30 hours later.
    c = _consultation(factory, doctor_s, at(3, 8), started=at(4, 14))
    _call(a, at(2, 3), VideoCall.ENDED, True,
          {"samples": 4, "rtt_ms": {"p50": 40, "p95": 60}, "loss": {"p50": 0, "p95": 0.0}, "setup_ms": [800],
           "duration_s": 600})
    _call(a, at(2, 4), VideoCall.MISSED, False)
    _call(b, at(4, 10), VideoCall.ENDED, True,
          {"samples": 3, "rtt_ms": {"p50": 300, "p95": 900}, "loss": {"p50": 0.05, "p95": 0.2},
           "setup_ms": [1200], "duration_s": 300})
    _call(c, at(4, 15), VideoCall.DECLINED, False)
    _refusal(b, doctor_n, at(4, 11), "untrusted")
    _refusal(None, doctor_n, at(6, 9), "expired")  # a file of «Документы»: the doctor's organisation
    _refusal(c, doctor_s, at(4, 16), "untrusted")
    return {"north": north, "south": south, "regional": regional, "north_operator": north_operator,
            "doctor": doctor_n}


def _client(app, user):
    client = app.test_client()
    login_session(client, user)
    return client


def _csv(client, code, **query) -> list[list[str]]:
    response = client.get(f"/admin/figures/{code}.csv", query_string={**PERIOD, **query})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _charts(client, **query) -> dict:
    response = client.get("/admin/", query_string={**PERIOD, **query})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    found = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>',
                      response.get_data(as_text=True), re.S)
    return {chart["code"]: chart for chart in json.loads(found.group(1))}


def test_the_figures_of_a_known_data_set(app, data):
    client = _client(app, data["regional"])
    assert _csv(client, "consultations_per_day") == [
        ["День", "Подано заявок", "Начато", "Завершено"],
        ["01.03.2026", "0", "1", "0"],
        ["02.03.2026", "2", "1", "0"],  # 01:30 Moscow time is still 1 March in UTC
        ["03.03.2026", "1", "0", "1"],
        ["04.03.2026", "0", "2", "1"],
        ["05.03.2026", "1", "0", "0"],
        ["06.03.2026", "0", "0", "0"],
        ["07.03.2026", "0", "0", "0"],
    ]
    assert _csv(client, "consultations_per_organisation") == [
        ["Медицинская организация", "Подано заявок", "Завершено"], ["Север", "3", "2"], ["Юг", "1", "0"],
    ]
    outcomes = dict(_csv(client, "outcomes")[1:])
    assert outcomes["Завершена без заключения"] == "1"
    assert outcomes["Заключение подписано электронной подписью"] == "1"
    # Waits: 0.5 h, 48 h, 30 h, and 5 h 1 min for the one made before the period.
    assert _csv(client, "time_to_start") == [
        ["Ожидание", "Консультации"], ["до 1 ч", "1"], ["1–4 ч", "0"], ["4–24 ч", "1"], ["1–3 дня", "2"],
        ["3–7 дней", "0"], ["больше 7 дней", "0"],
    ]
    calls = _csv(client, "video_calls")
    assert calls[0] == ["День", "Всего звонков", "Состоялись", "Пропущены", "Отклонены"]
    assert calls[2] == ["02.03.2026", "2", "1", "1", "0"] and calls[4] == ["04.03.2026", "2", "1", "0", "1"]
    assert _csv(client, "video_quality") == [
        ["Качество связи", "Звонки"], ["Отличное", "1"], ["Хорошее", "0"], ["Плохое", "1"], ["Нет данных", "0"],
    ]
    refused = _csv(client, "signatures_refused")
    assert [row[1] for row in refused[1:]] == ["0", "0", "0", "2", "0", "1", "0"]
    assert _csv(client, "signatures_refused_reasons")[1:] == [
        [str(REASONS["untrusted"]), "2"], ["Срок действия сертификата подписанта истёк", "1"],
    ]


def test_the_charts_show_the_numbers_of_the_csv(app, data):
    client = _client(app, data["regional"])
    charts = _charts(client)
    assert {"consultations_per_day", "outcomes", "time_to_start", "video_calls", "video_quality",
            "signatures_refused"} <= set(charts)
    for code, chart in charts.items():
        rows = _csv(client, code)
        assert [d["label"] for d in chart["datasets"]] == rows[0][1:], code
        for index, dataset in enumerate(chart["datasets"], 1):
            assert [f"{v:g}" for v in dataset["data"]] == [row[index] for row in rows[1:]], code
        assert len(chart["labels"]) == len(rows) - 1


def test_an_operator_of_an_organisation_sees_only_its_figures(app, data):
    client = _client(app, data["north_operator"])
    assert _csv(client, "consultations_per_organisation")[1:] == [["Север", "3", "2"]]
    assert [row[1] for row in _csv(client, "consultations_per_day")[1:]] == ["0", "2", "0", "0", "1", "0", "0"]
    assert [row[4] for row in _csv(client, "video_calls")[1:]] == ["0"] * 7  # the declined call was Юг's
    assert [row[1] for row in _csv(client, "signatures_refused")[1:]] == ["0", "0", "0", "1", "0", "1", "0"]
    page = client.get("/admin/", query_string=PERIOD).get_data(as_text=True)
    assert 'name="organisation"' not in page and "Юг" not in page
    # Another organisation's figures are hidden like any object out of reach (404).
    assert client.get("/admin/", query_string={**PERIOD, "organisation": data["south"].id}).status_code == 404
    assert client.get("/admin/figures/outcomes.csv", query_string={"organisation": data["south"].id}).status_code == 404
    assert client.get("/admin/", query_string={"organisation": "x"}).status_code == 400
    assert client.get("/admin/", query_string={"organisation": data["north"].id}).status_code == 200


def test_a_regional_operator_picks_an_organisation(app, data):
    client = _client(app, data["regional"])
    assert _csv(client, "consultations_per_organisation", organisation=data["south"].id)[1:] == [["Юг", "1", "0"]]
    page = client.get("/admin/", query_string={**PERIOD, "organisation": data["south"].id}).get_data(as_text=True)
    assert f'organisation={data["south"].id}' in page  # the CSV links keep the choice


def test_bad_input_gets_a_russian_message_and_a_4xx(app, data):
    client = _client(app, data["regional"])
    cases = [
        ({"from": "2026-02-30"}, "ГГГГ-ММ-ДД"),
        ({"from": "2026-03-07", "to": "2026-03-01"}, "позже"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "длиннее"),
        ({"organisation": "99999"}, "организацию"),
        ({"to": "0001-01-01"}, "между"),  # the day's bounds would leave datetime's range
        ({"from": "9999-12-01", "to": "9999-12-31"}, "между"),
    ]
    for query, words in cases:
        response = client.get("/admin/", query_string=query)
        assert response.status_code == 400 and words in response.get_data(as_text=True), query
    assert client.get("/admin/figures/nothing.csv").status_code == 404


def test_only_operators_see_the_figures(app, data):
    doctor = _client(app, data["doctor"])
    assert doctor.get("/admin/").status_code == 403
    assert doctor.get("/admin/figures/outcomes.csv").status_code == 403
    assert app.test_client().get("/admin/figures/outcomes.csv").status_code in (302, 401)
    assert app.test_client().get("/admin-console/vendor/chart.umd.min.js").status_code == 200
    assert app.test_client().get("/admin-console/vendor/chart.js").status_code == 404


def test_a_plugin_switched_off_for_the_organisation_gives_no_figures(app, data):
    db.session.add(PluginState(plugin="video", organisation_id=data["north"].id, enabled=False))
    db.session.commit()
    forget_switches(app)
    north = _charts(_client(app, data["north_operator"]))
    assert "video_calls" not in north and "signatures_refused" in north
    assert "video_calls" in _charts(_client(app, data["regional"]))  # still on elsewhere
    assert _client(app, data["north_operator"]).get("/admin/figures/video_calls.csv").status_code == 404


DRAWN = """() => [...document.querySelectorAll('.chart-box canvas')].map((canvas) => {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted += 1; }
  return [canvas.id, canvas.width, painted];
})"""


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}])
def test_chromium_draws_every_chart_without_errors(app, data, live_server, chromium, viewport):
    from core.testing import enable_test_login

    enable_test_login(app)
    context = chromium.new_context(viewport=viewport)
    tab = context.new_page()
    tab.goto(f"{live_server.url}/_test/login/staff/{data['regional'].id}")
    problems = []
    # The test login answers plain text, for which Chromium asks /favicon.ico (late).
    tab.on("console", lambda message: message.type == "error" and not message.location.get("url", "").endswith(
        "/favicon.ico") and problems.append(message.text))
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.goto(f"{live_server.url}/admin/?from={PERIOD['from']}&to={PERIOD['to']}")
    tab.wait_for_function(f"() => ({DRAWN})().every(([id, width, painted]) => width > 0 && painted > 0)",
                          timeout=60_000)
    drawn = tab.evaluate(DRAWN)
    assert {name for name, _width, _painted in drawn} >= {
        "chart-consultations_per_day", "chart-outcomes", "chart-time_to_start", "chart-video_calls",
        "chart-video_quality", "chart-signatures_refused",
    }
    assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert problems == []
    context.close()
