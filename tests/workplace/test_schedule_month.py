"""«Расписание» as a month (SPEC D2): each day of the grid counts the doctor's free and
booked slots, a day opens its week, and the month and week views lead back and forth."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.db import db
from core.models import Slot
from core.testing import login_session

MSK = ZoneInfo("Europe/Moscow")


def _slot(doctor, day: date, hour: int, **kw) -> Slot:
    start = datetime.combine(day, time(hour), MSK)
    slot = Slot(doctor_id=doctor.id, starts_at=start, ends_at=start + timedelta(minutes=20), **kw)
    db.session.add(slot)
    db.session.commit()
    return slot


def test_the_month_counts_free_and_booked_slots_per_day(app, factory):
    doctor = factory.doctor()
    first = (date.today().replace(day=1) + timedelta(days=62)).replace(day=1)  # a month ahead: all to come
    day = first + timedelta(days=9)
    for hour in (9, 10, 11):
        _slot(doctor, day, hour)
    _slot(doctor, day, 12, blocked=True)
    booked = _slot(doctor, day, 13)
    factory.consultation(author=doctor, slot=booked)
    _slot(doctor, day + timedelta(days=1), 9)
    client = app.test_client()
    login_session(client, doctor)
    page = client.get("/workplace/schedule", query_string={"view": "month", "month": first.isoformat()})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'aria-label="{day:%d.%m.%Y}: свободно 3, занято 1"' in html
    assert f'aria-label="{day + timedelta(days=1):%d.%m.%Y}: свободно 1, занято 0"' in html
    assert f'aria-label="{first:%d.%m.%Y}: свободно 0, занято 0"' in html
    # Whole weeks, Monday first; a day opens its week.
    weeks = re.findall(r"<tr>\s*<td", html)
    assert 4 <= len(weeks) <= 6 and html.index(">Пн<") < html.index(">Вс<")
    assert f"week={day.isoformat()}" in html
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    assert f"month={previous.isoformat()}" in html and f"month={following.isoformat()}" in html
    week = client.get("/workplace/schedule", query_string={"week": day.isoformat()}).get_data(as_text=True)
    assert 'class="calendar"' in week and "view=month" in week
    # Nonsense in the address is today's month, never an error.
    assert client.get("/workplace/schedule", query_string={"view": "month", "month": "x"}).status_code == 200
