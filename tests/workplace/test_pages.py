"""«Расписание», «Пользователи», «Помощь», lists with plugin badges and links (SPEC D2, D4)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from core import hookimpl
from core.db import db, utcnow
from core.menus import MenuItem
from core.models import AuditEvent, Consultation, FaqEntry, ScheduleTemplate, Slot
from core.schedule import free_slots, local_zone
from core.testing import PASSWORD, Factory


def _login(factory, client, login="doc", **kw):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login=login, **kw)
    client.login(login, PASSWORD)
    return organisation, doctor


def _template_form(**changes):
    form = {
        "name": "Приём по будням",
        "weekdays": ["1", "2", "3", "4", "5"],
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_minutes": "30",
        "breaks": "10:30-11:00",
        "valid_from": date.today().isoformat(),
        "valid_until": "",
        "active": ["0", "1"],
    }
    form.update(changes)
    return form


def test_schedule_template_create_edit_generate_and_calendar(client, factory):
    organisation, doctor = _login(factory, client)
    page = client.get("/workplace/schedule").get_data(as_text=True)
    assert "Шаблоны расписаний врачей-консультантов" in page and "Календарь" in page
    response = client.post_form("/workplace/schedule/templates/new", _template_form())
    assert response.status_code == 302
    template = db.session.scalar(sa.select(ScheduleTemplate))
    assert template.doctor_id == doctor.id and template.breaks == [["10:30", "11:00"]] and template.slot_minutes == 30
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "schedule_template.created"))
    # edit: only Monday and Wednesday, 20-minute slots
    response = client.post_form(
        f"/workplace/schedule/templates/{template.id}", _template_form(weekdays=["1", "3"], slot_minutes="20")
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ScheduleTemplate, template.id).weekdays == [1, 3]
    # generation ahead: 09:00-12:00 by 20 minutes, none starting in the 10:30-11:00 break: 8 a day
    response = client.post_form(f"/workplace/schedule/templates/{template.id}/generate", {"days": "14"})
    assert response.status_code == 302
    slots = db.session.scalars(sa.select(Slot).where(Slot.doctor_id == doctor.id)).all()
    local = [s.starts_at.astimezone(local_zone()) for s in slots]
    assert local and {t.isoweekday() for t in local} <= {1, 3}
    assert len(slots) == 8 * len({t.date() for t in local})
    assert not any(t.hour == 10 and t.minute >= 30 for t in local) and any(t.hour == 11 for t in local)
    assert client.post_form(f"/workplace/schedule/templates/{template.id}/generate", {"days": "14"}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Slot.id))) == len(slots)  # nothing doubled
    # the calendar shows the week of the first slot still ahead (today's morning may be past), free and booked
    ahead = min((s for s in slots if s.starts_at.replace(tzinfo=utcnow().tzinfo) > utcnow()), key=lambda s: s.starts_at)
    first = ahead.starts_at.astimezone(local_zone())
    factory.consultation(author=doctor, slot=ahead)
    week = client.get(f"/workplace/schedule?week={first.date().isoformat()}").get_data(as_text=True)
    assert first.strftime("%H:%M") in week and "свободен" in week and "slot booked" in week


def test_schedule_bad_input_and_foreign_templates(client, factory):
    organisation, doctor = _login(factory, client)
    bad = [
        (_template_form(weekdays=[]), "Отметьте хотя бы один день недели"),
        (_template_form(start_time="25:00"), "ЧЧ:ММ"),
        (_template_form(start_time="12:00", end_time="09:00"), "заканчиваться позже"),
        (_template_form(breaks="обед"), "Перерывы укажите так"),
        (_template_form(slot_minutes="7"), "длительность слота"),
        (_template_form(valid_from="вчера"), "Действует с"),
    ]
    for form, message in bad:
        response = client.post_form("/workplace/schedule/templates/new", form)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    assert db.session.scalar(sa.select(sa.func.count(ScheduleTemplate.id))) == 0
    colleague = factory.doctor(organisation)
    theirs = ScheduleTemplate(doctor_id=colleague.id, name="Чужой", weekdays=[1], start_time=datetime.min.time(),
                              end_time=datetime.max.time().replace(microsecond=0), valid_from=date.today())
    db.session.add(theirs)
    db.session.commit()
    assert "Чужой" in client.get("/workplace/schedule").get_data(as_text=True)  # seen, read-only
    assert client.get(f"/workplace/schedule/templates/{theirs.id}").status_code == 404
    assert client.post_form(f"/workplace/schedule/templates/{theirs.id}/generate", {"days": "7"}).status_code == 404
    client.post_form("/workplace/schedule/templates/new", _template_form())
    mine = db.session.scalar(sa.select(ScheduleTemplate).where(ScheduleTemplate.doctor_id == doctor.id))
    response = client.post_form(f"/workplace/schedule/templates/{mine.id}/generate", {"days": "1000"})
    assert response.status_code == 422 and "от 1 до" in response.get_data(as_text=True)


def _future_slots(doctor):
    """{local date: [(local time, minutes, booked)]} of the doctor's slots after today."""
    today = datetime.now(local_zone()).date()
    booked = set(db.session.scalars(sa.select(Consultation.slot_id).where(Consultation.slot_id.is_not(None))))
    days: dict = {}
    for slot in db.session.scalars(sa.select(Slot).where(Slot.doctor_id == doctor.id).order_by(Slot.starts_at)):
        local = slot.starts_at.astimezone(local_zone())
        if local.date() > today:
            minutes = int((slot.ends_at - slot.starts_at).total_seconds() // 60)
            days.setdefault(local.date(), []).append((local.strftime("%H:%M"), minutes, slot.id in booked))
    return days


def test_editing_a_template_redoes_its_future_free_slots_and_never_touches_booked_ones(client, factory):
    organisation, doctor = _login(factory, client)
    client.post_form("/workplace/schedule/templates/new", _template_form())
    template = db.session.scalar(sa.select(ScheduleTemplate))
    assert client.post_form(f"/workplace/schedule/templates/{template.id}/generate", {"days": "21"}).status_code == 302
    before = _future_slots(doctor)
    monday = next(d for d in before if d.isoweekday() == 1)
    tuesday = next(d for d in before if d.isoweekday() == 2)
    assert [t for t, _m, _b in before[monday]] == ["09:00", "09:30", "10:00", "11:00", "11:30"]

    def slot_at(day, hhmm):
        return next(
            s for s in db.session.scalars(sa.select(Slot).where(Slot.doctor_id == doctor.id))
            if s.starts_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") == f"{day.isoformat()} {hhmm}"
        )

    # Patients are booked on a Tuesday and a Monday of the old pattern.
    on_tuesday = factory.consultation(author=doctor, slot=slot_at(tuesday, "11:00"))
    on_monday = factory.consultation(author=doctor, slot=slot_at(monday, "09:00"))
    assert "Занятые слоты (с записанными пациентами) не меняются" in client.get(
        f"/workplace/schedule/templates/{template.id}").get_data(as_text=True)

    # Monday and Wednesday only, 09:00-10:30, 20-minute slots.
    response = client.post_form(
        f"/workplace/schedule/templates/{template.id}",
        _template_form(weekdays=["1", "3"], end_time="10:30", slot_minutes="20", breaks=""),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Будущие свободные слоты приведены к шаблону" in page and "Занятые слоты не изменены: 2." in page
    after = _future_slots(doctor)
    assert {d.isoweekday() for d in after} <= {1, 2, 3}
    # Both booked slots are outside the new pattern (a removed day; a 30-minute length) and
    # stay. The Tuesday keeps only its booked slot, as it was.
    assert after[tuesday] == [("11:00", 30, True)]
    # Monday: the booked 09:00-09:30 stays; new 20-minute slots around it, none overlapping.
    assert after[monday] == [("09:00", 30, True), ("09:40", 20, False), ("10:00", 20, False)]
    wednesday = next(d for d in after if d.isoweekday() == 3)
    assert after[wednesday] == [("09:00", 20, False), ("09:20", 20, False), ("09:40", 20, False), ("10:00", 20, False)]
    assert max(after) >= max(d for d in before if d.isoweekday() in (1, 3)), "regenerated as far ahead as before"
    db.session.expire_all()
    for consultation in (on_tuesday, on_monday):
        assert db.session.get(Consultation, consultation.id).slot_id == consultation.slot_id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "schedule_template.changed"))
    assert event.data["booked_kept"] == 2 and event.data["slots_removed"] > 0 and event.data["slots_created"] > 0

    # Switched off: no free future slot of it is left to book.
    client.post_form(f"/workplace/schedule/templates/{template.id}", _template_form(weekdays=["1", "3"], active=["0"]))
    assert all(booked for slots in _future_slots(doctor).values() for _t, _m, booked in slots)


def test_overlapping_templates_of_one_doctor_are_refused(client, factory):
    organisation, doctor = _login(factory, client)
    until = (date.today() + timedelta(days=30)).isoformat()
    assert client.post_form("/workplace/schedule/templates/new", _template_form(valid_until=until)).status_code == 302
    overlapping = _template_form(name="Вечер", weekdays=["5", "6"], start_time="11:30", end_time="14:00", breaks="")
    response = client.post_form("/workplace/schedule/templates/new", overlapping)
    assert response.status_code == 422
    assert "Шаблон пересекается с шаблоном «Приём по будням»" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ScheduleTemplate.id))) == 1
    later = (date.today() + timedelta(days=31)).isoformat()
    fine = [
        _template_form(name="После обеда", start_time="12:00", end_time="15:00", breaks=""),  # touching, not overlapping
        _template_form(name="Выходные", weekdays=["6", "7"], breaks=""),
        _template_form(name="Следующий месяц", valid_from=later, breaks=""),
        _template_form(name="Запасной", active=["0"]),
    ]
    for form in fine:
        assert client.post_form("/workplace/schedule/templates/new", form).status_code == 302, form["name"]
    weekend = db.session.scalar(sa.select(ScheduleTemplate).where(ScheduleTemplate.name == "Выходные"))
    changed = client.post_form(f"/workplace/schedule/templates/{weekend.id}", _template_form(name="Выходные", weekdays=["5", "6"]))
    assert changed.status_code == 422 and "пересекается" in changed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ScheduleTemplate, weekend.id).weekdays == [6, 7]
    # Another doctor's hours do not count.
    other = factory.doctor(organisation, login="other")
    client.logout()
    client.login("other", PASSWORD)
    assert client.post_form("/workplace/schedule/templates/new", _template_form()).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ScheduleTemplate.id)).where(ScheduleTemplate.doctor_id == other.id)) == 1


def test_a_free_slot_is_closed_and_reopened_from_the_calendar(client, factory):
    organisation, doctor = _login(factory, client)
    slot = factory.slot(doctor)
    week = slot.starts_at.astimezone(local_zone()).date().isoformat()
    calendar = client.get(f"/workplace/schedule?week={week}").get_data(as_text=True)
    assert f"/workplace/schedule/slots/{slot.id}/close" in calendar and "Закрыть слот" in calendar
    response = client.post_form(f"/workplace/schedule/slots/{slot.id}/close", follow_redirects=True)
    assert response.status_code == 200 and "закрыт для записи" in response.get_data(as_text=True)
    assert f"/workplace/schedule/slots/{slot.id}/reopen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).blocked
    assert slot.id not in [s.id for s in free_slots(doctor.id, utcnow())]
    reopened = client.post_form(f"/workplace/schedule/slots/{slot.id}/reopen", follow_redirects=True)
    assert "снова открыт для записи" in reopened.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Slot, slot.id).blocked and slot.id in [s.id for s in free_slots(doctor.id, utcnow())]
    assert [e.action for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "slots").order_by(AuditEvent.id))] == ["slot.closed", "slot.reopened"]

    booked = factory.slot(doctor)
    factory.consultation(author=doctor, slot=booked)
    refused = client.post_form(f"/workplace/schedule/slots/{booked.id}/close")
    assert refused.status_code == 409 and "закрыть можно только свободный слот" in refused.get_data(as_text=True)
    past = factory.slot(doctor, starts_in=-timedelta(hours=3))
    assert client.post_form(f"/workplace/schedule/slots/{past.id}/close").status_code == 422
    # Only the doctor whose schedule it is: a colleague sees the calendar without the buttons.
    factory.doctor(organisation, login="colleague")
    client.logout()
    client.login("colleague", PASSWORD)
    theirs = client.get(f"/workplace/schedule?doctor={doctor.id}&week={week}").get_data(as_text=True)
    assert "свободен" in theirs and "Закрыть слот" not in theirs
    assert client.post_form(f"/workplace/schedule/slots/{slot.id}/close").status_code == 403
    db.session.expire_all()
    assert not db.session.get(Slot, slot.id).blocked and not db.session.get(Slot, booked.id).blocked


def test_users_list_is_read_only_and_searchable(client, factory):
    organisation, _ = _login(factory, client, last_name="Алексеева")
    factory.doctor(organisation, last_name="Ёлкин", specialty="педиатр")
    factory.doctor(factory.organisation("Детская поликлиника № 3"), last_name="Борисов")
    page = client.get("/workplace/users").get_data(as_text=True)
    assert "Алексеева" in page and "Ёлкин" in page and "Борисов" in page and "Детская поликлиника № 3" in page
    found = client.get("/workplace/users?q=елкин").get_data(as_text=True)
    assert "Ёлкин" in found and "Борисов" not in found
    assert "Ёлкин" in client.get("/workplace/users?q=педиатр").get_data(as_text=True)
    # Read-only: the page's content has the search form only, and it writes nothing (GET).
    content = re.search(r'<main class="content">(.*)</main>', page, flags=re.S).group(1)
    assert re.findall(r"<form\b[^>]*>", content) == ['<form class="search-bar" method="get" role="search">']


def test_help_shows_seeded_faq_from_the_database(client, factory):
    _login(factory, client)
    page = client.get("/workplace/help").get_data(as_text=True)
    assert "Как найти закрытую заявку?" in page
    db.session.add(FaqEntry(question="Где взять сертификат подписи?", answer="В удостоверяющем центре.", sort_order=-1))
    db.session.add(FaqEntry(question="Скрытый вопрос", answer="-", published=False))
    db.session.commit()
    page = client.get("/workplace/help").get_data(as_text=True)
    assert page.index("Где взять сертификат подписи?") < page.index("Как найти закрытую заявку?")
    assert "Скрытый вопрос" not in page


class ChatLike:
    """Answers the list and card hooks the way the chat plugin will."""

    @hookimpl
    def teleconsult_register_consultation_badges(self, consultations, principal):
        return {c.id: 4 for c in consultations}

    @hookimpl
    def teleconsult_register_consultation_link(self, consultation, principal):
        return f"/chat/{consultation.id}"

    @hookimpl
    def teleconsult_register_consultation_actions(self, consultation, principal):
        return [MenuItem("Открыть чат", "workplace.inbox", order=1)]


def test_lists_show_plugin_badges_links_and_card_actions_and_paginate(make_app):
    app = make_app(extra_plugins=[("chatlike", ChatLike())])
    client = app.test_client()
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor(login="paged")
        consultations = [factory.consultation(author=doctor) for _ in range(23)]
        first_id = consultations[0].id
    client.login("paged", PASSWORD)
    page = client.get("/workplace/inbox").get_data(as_text=True)
    assert '<span class="badge"' in page and ">4<" in page and 'href="/chat/' in page
    assert "Страница 1 из 2" in page and "Найдено заявок: 23" in page
    assert "Страница 2 из 2" in client.get("/workplace/inbox?page=2").get_data(as_text=True)
    assert client.get("/workplace/inbox?page=abc").status_code == 200
    card = client.get(f"/workplace/applications/{first_id}").get_data(as_text=True)
    assert "Открыть чат" in card and "Завершение без заключения" in card
    assert "Завершить с загрузкой заключения" in card
    # «Заявки» and «Исходящие» hold them too
    assert "Найдено заявок: 23" in client.get("/workplace/applications").get_data(as_text=True)
    assert "Найдено заявок: 23" in client.get("/workplace/outbox").get_data(as_text=True)
    assert "Найдено заявок: 1" in client.get(f"/workplace/inbox?q=ТМК-{first_id:06d}").get_data(as_text=True)


def test_workplace_speaks_english_too(client, factory):
    organisation, doctor = _login(factory, client)
    consultation = factory.consultation(author=doctor)
    client.get("/workplace/?lang=en")
    wizard = client.get("/workplace/new/type").get_data(as_text=True)
    assert "Choose the consultation type" in wizard and "General" in wizard
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "Complete with an uploaded conclusion" in card and "Application documents" in card
    upload = client.get(f"/conclusion-upload/{consultation.id}").get_data(as_text=True)
    assert "Add document" in upload
