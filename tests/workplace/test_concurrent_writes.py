"""Requests that change the same record at once (SPEC D9, D3.6; charter: never a 500).

A double-clicked button or two tabs send the same change in parallel: real threads over
real HTTP against the app served on a local port, each request with its own database
session, on SQLite and on PostgreSQL. One request wins; the others get a 409 with a
Russian message, and nothing is written twice.
"""

from __future__ import annotations

import re
import threading
from datetime import date, time

import pytest
import requests
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, CompletionReason, Consultation, Document, ScheduleTemplate, Slot
from core.testing import enable_test_login

PARALLEL = 8
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 80


@pytest.fixture
def server(app, live_server):
    enable_test_login(app)  # before the first request the server answers
    return live_server


def browser(server, user) -> tuple[requests.Session, str]:
    """A logged-in browser session of ``user`` and its CSRF token."""
    session = requests.Session()
    assert session.get(f"{server.url}/_test/login/staff/{user.id}", timeout=30).text == "ok"
    page = session.get(f"{server.url}/workplace/", timeout=30).text
    return session, _CSRF_META.search(page).group(1)


def at_once(count: int, send) -> list[requests.Response]:
    """``send(i)`` from ``count`` threads released together; their responses."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = send(index)
        except Exception as error:  # surfaces in the assertion, not as a lost thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def completions() -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "consultation.completed")
    )


def test_parallel_completion_without_conclusion_closes_once(app, factory, server):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.active.is_(True)).limit(1))
    url = f"{server.url}/workplace/applications/{consultation.id}/complete-without-conclusion"
    browsers = [browser(server, doctor) for _ in range(PARALLEL)]
    form = {"reason_id": str(reason.id)}
    db.session.remove()  # the test's own session must not hold SQLite open meanwhile

    results = at_once(PARALLEL, lambda i: browsers[i][0].post(url, data={**form, "csrf_token": browsers[i][1]}, timeout=60))

    assert all(isinstance(r, requests.Response) for r in results), results
    statuses = sorted(r.status_code for r in results)
    # The winner lands on the card; a request that came after it finds the card closed
    # (a redirect with the same message); one that raced it waits for its lock: 409.
    assert set(statuses) <= {200, 409}, statuses
    winners = [r for r in results if "Консультация завершена без заключения" in r.text]
    assert len(winners) == 1, statuses
    assert all("Заявка уже закрыта" in r.text for r in results if r is not winners[0])
    assert completions() == 1
    assert db.session.get(Consultation, consultation.id).outcome_reason_id == reason.id


def test_parallel_completion_through_the_api_closes_once(app, factory, server):
    from core.api.auth import create_token

    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor)
    reason_id = db.session.scalar(sa.select(CompletionReason.id).where(CompletionReason.active.is_(True)).limit(1))
    _token, token = create_token("МИС", doctor.organisation_id, ["consultations:read", "consultations:write"])
    db.session.commit()
    url = f"{server.url}/api/v1/consultations/{consultation.id}/complete"
    db.session.remove()

    results = at_once(
        PARALLEL,
        lambda i: requests.post(url, json={"reason_id": reason_id}, headers={"Authorization": f"Bearer {token}"}, timeout=60),
    )

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * (PARALLEL - 1), statuses
    assert all(r.json()["error"]["message"] == "Заявка уже закрыта" for r in results if r.status_code == 409)
    assert completions() == 1


def test_parallel_conclusion_uploads_close_once_and_keep_one_scan(app, factory, server):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor)
    url = f"{server.url}/conclusion-upload/{consultation.id}"
    count = 4
    browsers = [browser(server, doctor) for _ in range(count)]
    db.session.remove()

    results = at_once(
        count,
        lambda i: browsers[i][0].post(
            url, data={"csrf_token": browsers[i][1]}, files={"document": (f"scan{i}.png", PNG, "image/png")}, timeout=60
        ),
    )

    assert set(r.status_code for r in results) <= {200, 409}, [r.status_code for r in results]
    assert sum("заключение «scan" in r.text for r in results) == 1
    assert completions() == 1
    scans = db.session.scalars(sa.select(Document).where(Document.kind == "conclusion_scan")).all()
    assert len(scans) == 1
    assert db.session.get(Consultation, consultation.id).conclusion_document_id == scans[0].id


def test_double_clicked_slot_generation_makes_each_slot_once(app, factory, server):
    doctor = factory.doctor()
    template = ScheduleTemplate(
        doctor_id=doctor.id, name="Основной", weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(9), end_time=time(12),
        slot_minutes=30, breaks=[], valid_from=date(2000, 1, 1),
    )
    factory.commit(template)
    url = f"{server.url}/workplace/schedule/templates/{template.id}/generate"
    count = 4
    browsers = [browser(server, doctor) for _ in range(count)]
    db.session.remove()

    results = at_once(count, lambda i: browsers[i][0].post(url, data={"days": "7", "csrf_token": browsers[i][1]}, timeout=60))

    assert [r.status_code for r in results] == [200] * count, [(r.status_code, r.text[:200]) for r in results]
    made = [int(re.search(r"Создано слотов: (\d+)", r.text).group(1)) for r in results]
    slots = db.session.scalar(sa.select(sa.func.count(Slot.id)).where(Slot.doctor_id == doctor.id))
    assert slots == 7 * 6
    assert sum(made) == slots  # every click reports what it made, the rest it skipped
