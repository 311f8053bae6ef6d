"""«Расписание», «Пользователи», «Помощь», lists with plugin badges and links (SPEC D2, D4)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from core import hookimpl
from core.db import db
from core.menus import MenuItem
from core.models import AuditEvent, FaqEntry, ScheduleTemplate, Slot
from core.schedule import local_zone
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
    # the calendar shows the week of the first slot, free and booked
    first = min(local)
    factory.consultation(author=doctor, slot=min(slots, key=lambda s: s.starts_at))
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


def test_users_list_is_read_only_and_searchable(client, factory):
    organisation, _ = _login(factory, client, last_name="Алексеева")
    factory.doctor(organisation, last_name="Ёлкин", specialty="педиатр")
    factory.doctor(factory.organisation("Детская поликлиника № 3"), last_name="Борисов")
    page = client.get("/workplace/users").get_data(as_text=True)
    assert "Алексеева" in page and "Ёлкин" in page and "Борисов" in page and "Детская поликлиника № 3" in page
    found = client.get("/workplace/users?q=елкин").get_data(as_text=True)
    assert "Ёлкин" in found and "Борисов" not in found
    assert "Ёлкин" in client.get("/workplace/users?q=педиатр").get_data(as_text=True)
    assert "<form method=\"post\"" not in page.split("main-menu")[-1].split("</nav>")[-1].replace('action="/logout"', "")


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
    def teleconsult_consultation_badges(self, consultations, principal):
        return {c.id: 4 for c in consultations}

    @hookimpl
    def teleconsult_consultation_link(self, consultation, principal):
        return f"/chat/{consultation.id}"

    @hookimpl
    def teleconsult_consultation_actions(self, consultation, principal):
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
