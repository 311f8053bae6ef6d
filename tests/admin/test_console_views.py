"""SPEC A1: the operator sees and edits every dictionary; every save persists and is audited.

Each save goes through the real page: the form is read from the HTML the console
renders (with its one CSRF token) and posted back the way a browser would.
"""

from datetime import date, time

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import (
    AuditEvent,
    CompletionReason,
    ConsultationType,
    FaqEntry,
    MedicalProfile,
    Organisation,
    Role,
    ScheduleTemplate,
)
from tests.admin.conftest import submit


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def one(model, **where):
    db.session.expire_all()
    return db.session.scalars(sa.select(model).filter_by(**where)).one()


def test_organisations(operator_client, people):
    page = operator_client.get("/admin/organisations/").get_data(as_text=True)
    assert "Медицинские организации" in page and "Поликлиника № 1" in page
    response = submit(operator_client, "/admin/organisations/new/", name="ГБУЗ «Городская больница № 2»",
                      short_name="ГБ № 2", oid="1.2.643.5.1.13.13.12.2.78.1", address="Санкт-Петербург")
    assert response.status_code == 302
    org = one(Organisation, short_name="ГБ № 2")
    assert org.oid == "1.2.643.5.1.13.13.12.2.78.1" and org.active
    [created] = events("admin.organisations.created")
    assert created.object_id == org.id and created.actor_name.startswith("Операторова")
    assert created.data["changes"]["short_name"] == [None, "ГБ № 2"]

    response = submit(operator_client, f"/admin/organisations/edit/?id={org.id}", short_name="ГБ-2", active=False)
    assert response.status_code == 302
    org = one(Organisation, id=org.id)
    assert org.short_name == "ГБ-2" and not org.active
    [updated] = events("admin.organisations.updated")
    assert updated.data["changes"]["active"] == [True, False]

    # Search and filters on the list.
    page = operator_client.get("/admin/organisations/?search=ГБ-2").get_data(as_text=True)
    assert "ГБ-2" in page and "Поликлиника № 1" not in page


def test_a_duplicate_is_refused_with_a_russian_message(operator_client, people):
    submit(operator_client, "/admin/organisations/new/", name="А", short_name="А", oid="1.2.3")
    response = submit(operator_client, "/admin/organisations/new/", name="Б", short_name="Б", oid="1.2.3",
                      follow_redirects=True)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Уже существует" in text and "Не удалось создать запись" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(Organisation.oid == "1.2.3")) == 1


def test_medical_profiles(operator_client, people):
    assert "Профили медицинской помощи" in operator_client.get("/admin/medical_profiles/").get_data(as_text=True)
    submit(operator_client, "/admin/medical_profiles/new/", code="999", name="Телемедицинская проба", specialty="пробист")
    profile = one(MedicalProfile, code="999")
    submit(operator_client, f"/admin/medical_profiles/edit/?id={profile.id}", specialty="проверяющий")
    assert one(MedicalProfile, id=profile.id).specialty == "проверяющий"
    assert len(events("admin.medical_profiles.created")) == 1 and len(events("admin.medical_profiles.updated")) == 1
    page = operator_client.get("/admin/medical_profiles/?search=пробист").get_data(as_text=True)
    assert "Телемедицинская проба" not in page  # the specialty changed
    page = operator_client.get("/admin/medical_profiles/?search=проверяющий").get_data(as_text=True)
    assert "Телемедицинская проба" in page


def test_consultation_types(operator_client, people):
    page = operator_client.get("/admin/consultation_types/").get_data(as_text=True)
    assert "Дистанционная консультация пациента с врачом" in page and "Маршрут" in page
    cardio, pedi = db.session.scalars(sa.select(MedicalProfile).order_by(MedicalProfile.id).limit(2)).all()
    response = submit(
        operator_client, "/admin/consultation_types/new/",
        name="Консультация по результатам диспансеризации", code="dispensary", route="default",
        for_representative=True, profiles=[cardio.id, pedi.id], attention_text="ВНИМАНИЕ! Только для взрослых.",
        sort_order=30,
    )
    assert response.status_code == 302
    ctype = one(ConsultationType, code="dispensary")
    assert ctype.for_representative and ctype.route == "default"
    assert {p.id for p in ctype.profiles} == {cardio.id, pedi.id}
    [created] = events("admin.consultation_types.created")
    assert sorted(created.data["changes"]["profiles"][1]) == sorted([cardio.id, pedi.id])

    submit(operator_client, f"/admin/consultation_types/edit/?id={ctype.id}", profiles=[cardio.id],
           attention_text="Для представителей", active=False)
    ctype = one(ConsultationType, id=ctype.id)
    assert [p.id for p in ctype.profiles] == [cardio.id] and not ctype.active
    assert ctype.attention_text == "Для представителей"
    [updated] = events("admin.consultation_types.updated")
    before, after = updated.data["changes"]["profiles"]
    assert sorted(before) == sorted([cardio.id, pedi.id]) and after == [cardio.id]

    # An unknown route is refused: the choice comes from the registered routes.
    response = submit(operator_client, f"/admin/consultation_types/edit/?id={ctype.id}", route="no-such-route")
    assert response.status_code == 200
    assert one(ConsultationType, id=ctype.id).route == "default"
    # The list shows a long profile list short.
    page = operator_client.get("/admin/consultation_types/").get_data(as_text=True)
    assert "и ещё" in page


def test_completion_reasons(operator_client, people):
    submit(operator_client, "/admin/completion_reasons/new/", code="weather", name="Непогода", sort_order=5)
    reason = one(CompletionReason, code="weather")
    submit(operator_client, f"/admin/completion_reasons/edit/?id={reason.id}", name="Стихийное бедствие", active=False)
    reason = one(CompletionReason, id=reason.id)
    assert reason.name == "Стихийное бедствие" and not reason.active
    assert events("admin.completion_reasons.updated")
    # Reasons are switched off, not deleted: consultations refer to them.
    assert "/admin/completion_reasons/delete/" not in operator_client.get("/admin/completion_reasons/").get_data(as_text=True)
    operator_client.post("/admin/completion_reasons/delete/", data={
        "id": reason.id, "csrf_token": operator_client.csrf_token("/admin/")})
    assert one(CompletionReason, id=reason.id)  # still there


def test_roles(operator_client, people):
    submit(operator_client, "/admin/roles/new/", code="auditor", name="Аудитор")
    role = one(Role, code="auditor")
    response = submit(operator_client, f"/admin/roles/edit/?id={role.id}", name="Внутренний аудитор", code="hacked")
    assert response.status_code == 302
    role = one(Role, id=role.id)
    assert role.name == "Внутренний аудитор" and role.code == "auditor"  # codes are fixed
    assert events("admin.roles.created") and events("admin.roles.updated")


def test_schedule_templates(operator_client, people):
    doctor = people["doctor"]
    response = submit(
        operator_client, "/admin/schedule_templates/new/",
        doctor=doctor.id, name="Будни, утро", weekdays=[1, 3, 5], start_time="09:00", end_time="13:00",
        slot_minutes=20, breaks="11:00-11:20", valid_from="2026-12-01",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    template = one(ScheduleTemplate, name="Будни, утро")
    assert template.doctor_id == doctor.id and template.weekdays == [1, 3, 5]
    assert template.start_time == time(9, 0) and template.breaks == [["11:00", "11:20"]]
    assert template.valid_from == date(2026, 12, 1)
    page = operator_client.get("/admin/schedule_templates/").get_data(as_text=True)
    assert "Будни, утро" in page and "Шаблоны расписания" in page

    # Refused with a Russian message, nothing written.
    response = submit(operator_client, f"/admin/schedule_templates/edit/?id={template.id}",
                      start_time="14:00", end_time="13:00", follow_redirects=True)
    assert "Начало приёма должно быть раньше окончания" in response.get_data(as_text=True)
    response = submit(operator_client, f"/admin/schedule_templates/edit/?id={template.id}", breaks="обед")
    assert "Перерывы указываются так" in response.get_data(as_text=True)
    assert one(ScheduleTemplate, id=template.id).start_time == time(9, 0)

    submit(operator_client, f"/admin/schedule_templates/edit/?id={template.id}", weekdays=[2, 4],
           breaks="10:00-10:15, 12:00-12:30")
    template = one(ScheduleTemplate, id=template.id)
    assert template.weekdays == [2, 4] and template.breaks == [["10:00", "10:15"], ["12:00", "12:30"]]
    [updated] = events("admin.schedule_templates.updated")
    assert updated.data["changes"]["weekdays"] == [[1, 3, 5], [2, 4]]


def test_faq_entries(operator_client, people):
    submit(operator_client, "/admin/faq_entries/new/", audience="patient",
           question="Как подготовиться к консультации?", answer="Проверьте камеру и микрофон.", sort_order=1,
           published=True)
    entry = one(FaqEntry, question="Как подготовиться к консультации?")
    assert entry.audience == "patient" and entry.published
    submit(operator_client, f"/admin/faq_entries/edit/?id={entry.id}", published=False)
    assert not one(FaqEntry, id=entry.id).published
    page = operator_client.get("/admin/faq_entries/").get_data(as_text=True)
    assert "Пациентам" in page
    # FAQ entries may be deleted, through the list's form (with its CSRF token).
    list_page = operator_client.get("/admin/faq_entries/").get_data(as_text=True)
    from tests.admin.conftest import forms_of

    delete = [
        f for f in forms_of(list_page)
        if (f.action or "").startswith("/admin/faq_entries/delete/") and f.values().get("id") == [str(entry.id)]
    ][0]
    response = operator_client.post(delete.action, data=delete.values())
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FaqEntry, entry.id) is None
    [deleted] = events("admin.faq_entries.deleted")
    assert deleted.object_id == entry.id


@pytest.mark.parametrize("path", ["/admin/organisations/", "/admin/users/", "/admin/audit/",
                                  "/admin/consultation_types/", "/admin/schedule_templates/",
                                  "/admin/faq_entries/", "/admin/consent_versions/", "/admin/roles/",
                                  "/admin/completion_reasons/", "/admin/medical_profiles/"])
def test_every_list_has_search_and_filters(operator_client, path):
    page = operator_client.get(path).get_data(as_text=True)
    assert 'name="search"' in page, path
    assert "Фильтр" in page, path  # Flask-Admin's Russian «Фильтр» menu
