"""SPEC A1: only the operator role gets into the console, whichever URL is tried."""

import re

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import PluginState
from tests.admin.conftest import submit

THROWAWAY = "tests.admin.throwaway_plugin"


def admin_urls(app) -> list[tuple[str, str]]:
    """Every URL of the console (``/admin`` and below) with each method it answers."""
    values = {"export_type": "csv", "filename": "admin/css/bootstrap4/admin.css", "code": "outcomes"}
    urls = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/admin" or rule.rule.startswith("/admin/")):
            continue
        path = rule.rule
        for arg in rule.arguments:
            value = values.get(arg, "1")  # ids of rows: the walk checks access, not the row
            path = re.sub(rf"<(?:\w+:)?{arg}>", value, path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


@pytest.fixture
def console_app(make_app):
    from tests.admin import throwaway_plugin

    return make_app(extra_plugins=[("throwaway", throwaway_plugin)])


def test_every_console_url_is_covered_by_the_walk(console_app):
    endpoints = {rule.endpoint for rule in console_app.url_map.iter_rules() if rule.rule.startswith("/admin")}
    # The core's views, the plugins page and the throwaway plugin's own view are all there.
    for expected in ("admin.index", "admin.static", "admin_users.edit_view", "admin_audit.export",
                     "admin_plugins.switch", "throwaway_admin.index"):
        assert expected in endpoints
    assert len(admin_urls(console_app)) > 100


@pytest.mark.parametrize("who", ["doctor", "patient"])
def test_doctor_and_patient_are_refused_everywhere(console_app, who, people):
    from core.testing import login_session

    client = console_app.test_client()
    login_session(client, people["doctor" if who == "doctor" else "account"])
    for method, url in admin_urls(console_app):
        response = client.open(url, method=method, data={"csrf_token": client.csrf_token("/login")})
        assert response.status_code == 403, (who, method, url, response.status_code)
        assert "Доступ запрещён" in response.get_data(as_text=True)


def test_anonymous_goes_to_login_everywhere(console_app, people):
    client = console_app.test_client()
    token = client.csrf_token("/login")
    for method, url in admin_urls(console_app):
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, url)


def _a_row_in_every_table(factory, people):
    """What the edit and details pages of each view need: at least one row."""
    from datetime import date, datetime, time, timezone

    from core.models import FaqEntry, ScheduleTemplate
    from plugins.esignature.models import DoctorSigner, RevocationListCache, TrustList, TrustRoot
    from plugins.notifications.models import Notification, NotificationStatus

    doctor = people["doctor"]
    factory.consultation(author=doctor, email="ivanova@example.ru")  # audit events, notifications
    db.session.add(FaqEntry(audience="patient", question="Как войти?", answer="Через Госуслуги.", published=True))
    db.session.add(ScheduleTemplate(doctor_id=doctor.id, name="Будни", weekdays=[1, 2, 3], start_time=time(9),
                                    end_time=time(13), slot_minutes=20, valid_from=date(2026, 1, 1)))
    db.session.add(PluginState(plugin="throwaway", organisation_id=None, enabled=True))
    trust_list = TrustList(version="1", source_name="TSL.xml", sha256="0" * 64, active=True)
    trust_list.roots.append(TrustRoot(centre_name="УЦ", subject="CN=УЦ", thumbprint="0" * 40,
                                      not_before=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                      not_after=datetime(2036, 1, 1, tzinfo=timezone.utc), der=b"0"))
    db.session.add(trust_list)
    db.session.add(DoctorSigner(user_id=doctor.id, snils="11223344595"))
    db.session.add(RevocationListCache(url="http://ca.example/crl", issuer="CN=УЦ"))
    first = db.session.scalar(sa.select(Notification).order_by(Notification.id).limit(1))
    first.status, first.last_error = NotificationStatus.FAILED, "550 5.1.1 No such mailbox"  # «Ошибки отправки»
    db.session.commit()


def test_operator_opens_every_page(console_app, people):
    """Every page of the console answers the operator with the page itself: each list,
    each form, each record's edit and details page; a page a view does not have (no
    create form on the audit log, no export of a dictionary) is refused exactly as
    Flask-Admin refuses it, and nothing answers 500."""
    from flask_admin.contrib.sqla import ModelView

    from core.testing import PASSWORD, Factory

    with console_app.app_context():
        _a_row_in_every_table(Factory(console_app), people)
    client = console_app.test_client()
    assert client.login("operator", PASSWORD).status_code == 302
    assert client.get("/").headers["Location"] == "/admin/"  # the operator's home is the console
    [console] = console_app.extensions["admin"]
    model_views = {view.endpoint: view for view in console._views if isinstance(view, ModelView)}
    opened = set()
    for method, url in admin_urls(console_app):
        if method != "GET" or "/ajax/" in url:
            continue
        endpoint = console_app.url_map.bind("localhost").match(url)[0]
        blueprint, _, page = endpoint.partition(".")
        view = model_views.get(blueprint)
        if view is None or page == "index_view":
            response = client.get(url)
            # A page of one row (an id in its path, filled with 1 by the walk) may find none.
            expected = {200, 404} if re.search(r"/1(/|$)", url) else {200}
            assert response.status_code in expected, (url, response.status_code)
            opened.add(endpoint)
            continue
        list_url = view.url.rstrip("/") + "/"
        if page in ("edit_view", "details_view"):
            allowed = view.can_edit if page == "edit_view" else view.can_view_details
            first = db.session.scalar(sa.select(view.model).order_by(view.model.id).limit(1))
            assert first is not None, f"no row for {url}"
            url = f"{url}?id={first.id}"
        elif page == "create_view":
            allowed = view.can_create
        elif page == "export":
            allowed = view.can_export
        else:
            raise AssertionError(f"the walk does not know what {endpoint} should answer")
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, (url, response.status_code)
            body = response.get_data(as_text=True)
            if page == "export":
                assert response.mimetype == "text/csv" and body.count("\n") >= 2, url  # a header and a row
            else:
                assert str(view.name) in body, url
                if page != "details_view":
                    assert 'name="csrf_token"' in body, url
        elif page == "export":
            assert response.status_code == 404, (url, response.status_code)
        else:
            assert response.status_code == 302 and response.headers["Location"].startswith(list_url), (url, response.headers.get("Location"))
        opened.add(endpoint)
    assert {"admin_users.edit_view", "admin_users.details_view", "admin_audit.details_view",
            "admin_notifications_log.details_view", "admin_schedule_templates.edit_view",
            "admin_faq_entries.edit_view", "throwaway_admin.index"} <= opened
    page = client.get("/admin/").get_data(as_text=True)
    for label in ("Консоль оператора", "Типы консультаций", "Медицинские организации", "Пользователи",
                  "Журнал аудита", "Плагины", "Тексты согласия", "Выйти"):
        assert label in page


def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(app, operator_client):
    from core.models import Organisation
    import sqlalchemy as sa
    from core.db import db

    response = operator_client.post("/admin/organisations/new/", data={"name": "Без токена", "short_name": "БТ"})
    assert response.status_code == 400
    assert "Форма устарела" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Organisation).where(Organisation.short_name == "БТ")) is None
    # The very same form with the token the page carries saves.
    response = submit(operator_client, "/admin/organisations/new/", name="С токеном", short_name="СТ")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Organisation).where(Organisation.short_name == "СТ")) is not None


def test_a_locked_operator_account_loses_the_console(app, operator_client, people):
    from core.db import db

    people["operator"].is_active = False
    db.session.commit()
    response = operator_client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_console_speaks_english_on_request(operator_client):
    page = operator_client.get("/admin/organisations/?lang=en").get_data(as_text=True)
    assert "Medical organisations" in page
    assert "Create" in page and ">Русский</a>" in page
    page = operator_client.get("/admin/organisations/?lang=ru").get_data(as_text=True)
    assert "Медицинские организации" in page and "Создать" in page and ">English</a>" in page
