"""SPEC A1, D1: users and roles in the console; passwords are set, never shown."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Role, User
from tests.admin.conftest import forms_of, submit


def fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_operator_creates_a_doctor_whose_password_works(app, operator_client, people):
    doctor_role = db.session.scalar(sa.select(Role).where(Role.code == "doctor"))
    response = submit(
        operator_client, "/admin/users/new/",
        login="  kardiolog  ", last_name="Сердцева", first_name="Анна", middle_name="Львовна",
        organisation=people["organisation"].id, roles=[doctor_role.id], position="врач-кардиолог",
        specialty="кардиолог", email="serdtseva@example.ru", is_active=True, new_password="Сложный-пароль-1",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    user = db.session.scalar(sa.select(User).where(User.login == "kardiolog"))
    assert user is not None and user.has_role("doctor")
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))

    created = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.users.created"))
    assert "password_hash" not in created.data["changes"] and "new_password" not in str(created.data)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.users.password_set"))

    browser = app.test_client()
    assert browser.login("kardiolog", "Сложный-пароль-1").status_code == 302
    home = browser.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/workplace/"  # a doctor's home
    assert "Сердцева" in browser.get("/workplace/").get_data(as_text=True)


def test_a_new_user_needs_a_password(operator_client, people):
    response = submit(operator_client, "/admin/users/new/", login="nopass", last_name="Без", first_name="Пароля")
    assert response.status_code == 200
    assert "Задайте пароль новому пользователю" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.login == "nopass")) is None


def test_password_change_from_the_console(app, operator_client, people):
    doctor = people["doctor"]
    old_hash = doctor.password_hash
    # Editing without a new password keeps the old one.
    submit(operator_client, f"/admin/users/edit/?id={doctor.id}", position="заведующий")
    assert fresh(doctor.id).password_hash == old_hash and fresh(doctor.id).position == "заведующий"
    submit(operator_client, f"/admin/users/edit/?id={doctor.id}", new_password="Новый-пароль-42")
    browser = app.test_client()
    assert browser.login("doctor", "Новый-пароль-42").status_code == 302
    assert app.test_client().login("doctor", "test-password-1").status_code == 401
    # Too short: refused, unchanged.
    response = submit(operator_client, f"/admin/users/edit/?id={doctor.id}", new_password="short")
    assert response.status_code == 200 and "Пароль: от 8 до 200 символов" in response.get_data(as_text=True)
    assert app.test_client().login("doctor", "Новый-пароль-42").status_code == 302


def test_the_hash_never_appears_in_a_page_or_an_export(operator_client, people):
    doctor = people["doctor"]
    hashes = [u.password_hash for u in db.session.scalars(sa.select(User))]
    pages = [
        "/admin/users/",
        f"/admin/users/edit/?id={doctor.id}",
        f"/admin/users/details/?id={doctor.id}",
        "/admin/users/new/",
        "/admin/users/export/csv/",
        "/admin/audit/",
        "/admin/audit/export/csv/",
        "/admin/users/?search=scrypt",
        "/admin/users/?flt0_0=1",
    ]
    submit(operator_client, f"/admin/users/edit/?id={doctor.id}", new_password="Новый-пароль-42")
    hashes += [fresh(doctor.id).password_hash]
    for url in pages:
        response = operator_client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        for value in hashes:
            assert value not in body and value.split("$")[-1] not in body, url
        assert "password_hash" not in body and "Password Hash" not in body, url
    edit = operator_client.get(f"/admin/users/edit/?id={doctor.id}").get_data(as_text=True)
    [form] = [f for f in forms_of(edit) if "login" in f.names]
    assert dict(form.fields).get("new_password", "") == ""  # the field comes back empty


def test_lock_and_unlock(app, operator_client, people):
    doctor = people["doctor"]
    page = operator_client.get("/admin/users/").get_data(as_text=True)
    assert "Заблокировать" in page and "Разблокировать" in page
    token = operator_client.csrf_token("/admin/")
    response = operator_client.post("/admin/users/action/", data={
        "action": "lock", "rowid": [doctor.id], "csrf_token": token})
    assert response.status_code == 302
    assert not fresh(doctor.id).is_active
    assert app.test_client().login("doctor", "test-password-1").status_code == 401

    # Locked by failed logins, then unlocked by the operator.
    user = fresh(doctor.id)
    user.is_active = True
    user.failed_logins = 3
    user.locked_until = datetime.now(timezone.utc) + timedelta(minutes=15)
    db.session.commit()
    assert app.test_client().login("doctor", "test-password-1").status_code == 401
    operator_client.post("/admin/users/action/", data={"action": "unlock", "rowid": [doctor.id], "csrf_token": token})
    user = fresh(doctor.id)
    assert user.is_active and user.locked_until is None and user.failed_logins == 0
    assert app.test_client().login("doctor", "test-password-1").status_code == 302
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == doctor.id)))
    assert {"admin.users.locked", "admin.users.unlocked"} <= actions

    # An action without the CSRF token changes nothing.
    response = operator_client.post("/admin/users/action/", data={"action": "lock", "rowid": [doctor.id]})
    assert response.status_code == 400 and fresh(doctor.id).is_active


def test_locked_until_is_edited_in_local_time(operator_client, people):
    doctor = people["doctor"]
    submit(operator_client, f"/admin/users/edit/?id={doctor.id}", locked_until="2030-01-01 12:00:00")
    # Moscow is UTC+3.
    assert fresh(doctor.id).locked_until == datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)
    edit = operator_client.get(f"/admin/users/edit/?id={doctor.id}").get_data(as_text=True)
    assert 'value="2030-01-01 12:00:00"' in edit
    page = operator_client.get("/admin/users/").get_data(as_text=True)
    assert "01.01.2030 12:00" in page


def test_roles_and_filters_on_users(operator_client, people):
    page = operator_client.get("/admin/users/?search=Операторова").get_data(as_text=True)
    assert "Операторова" in page and people["doctor"].last_name not in page
    page = operator_client.get("/admin/roles/").get_data(as_text=True)
    assert "Оператор (администратор)" in page and "Врач" in page


def test_the_operator_cannot_lock_themselves_out(app, operator_client, people):
    me = people["operator"]
    response = submit(operator_client, f"/admin/users/edit/?id={me.id}", is_active=False)
    assert "Нельзя заблокировать свою учётную запись" in response.get_data(as_text=True)
    assert fresh(me.id).is_active
    response = submit(operator_client, f"/admin/users/edit/?id={me.id}", roles=[])
    assert "Нельзя заблокировать свою учётную запись" in response.get_data(as_text=True)
    assert fresh(me.id).has_role("operator")
    token = operator_client.csrf_token("/admin/")
    operator_client.post("/admin/users/action/", data={"action": "lock", "rowid": [me.id], "csrf_token": token})
    assert fresh(me.id).is_active
    assert operator_client.get("/admin/").status_code == 200


def test_export_cells_never_become_spreadsheet_formulas(operator_client, people):
    doctor = people["doctor"]
    submit(operator_client, f"/admin/users/edit/?id={doctor.id}", position="=HYPERLINK(\"http://x\")")
    body = operator_client.get("/admin/users/export/csv/").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_exporting_users_is_on_record_with_who_what_and_how_many(operator_client, people):
    """The users list holds e-mail addresses and phone numbers: every export is audited."""
    import csv
    import io

    view = [v for v in operator_client.application.extensions["admin"][0]._views if v.endpoint == "admin_users"][0]
    [active] = [i for i, f in enumerate(view._filters) if str(f.name) == "Активна" and type(f).__name__ == "BooleanEqualFilter"]
    body = operator_client.get(f"/admin/users/export/csv/?flt0_{active}=1&search=doctor").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert [row[0] for row in rows] == ["doctor"]
    db.session.expire_all()
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "admin.users.exported")).all()
    assert event.actor_id == people["operator"].id and event.actor_name.startswith("Операторова")
    assert event.object_type == "users"
    assert event.data == {
        "view": "admin_users",
        "title": "Пользователи",
        "format": "csv",
        "search": "doctor",
        "filters": ["Активна равно: Да"],
        "rows": 1,
    }
    page = operator_client.get("/admin/audit/").get_data(as_text=True)
    assert "Консоль: выгрузка в CSV («Пользователи»)" in page
