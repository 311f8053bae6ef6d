"""The operator's notification views (SPEC A1, F3): failed sends are visible and can be
sent again. The plugin's views reach the operator console through the hook
teleconsult_register_admin_views and live under /admin/ in the category «Уведомления»."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, PluginState
from core.testing import Factory, login_session
from plugins.notifications.channels import PermanentFailure
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import notifications
from tests.notifications.test_inprocess import Flaky, sms_plugin


@pytest.fixture
def console(make_app):
    channel = Flaky([PermanentFailure("550 5.1.1 No such mailbox")])
    app = make_app(plugins=["notifications"], extra_plugins=[sms_plugin(channel)])
    owners = app.extensions["teleconsult.admin_views"]
    [console] = app.extensions["admin"]  # Flask-Admin keeps its instances in a list
    app.channel = channel
    app.admin_views = [view for view in console._views if owners.get(view.endpoint) == "notifications"]
    return app


def menu_of(page: str) -> dict[str, list[tuple[str, str]]]:
    """The console's menu as the operator sees it: {category: [(item, link), ...]}."""
    from html.parser import HTMLParser

    class Menu(HTMLParser):
        def __init__(self):
            super().__init__()
            self.menu, self.category, self.href, self.depth, self.text = {}, None, None, 0, ""

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "a" and "dropdown-toggle" in (a.get("class") or ""):
                self.category, self.text = "", ""
            elif tag == "a" and self.category is not None and "dropdown-item" in (a.get("class") or ""):
                self.href, self.text = a.get("href"), ""

        def handle_data(self, data):
            self.text += data

        def handle_endtag(self, tag):
            if tag == "a" and self.category == "":
                self.category = self.text.strip()
                self.menu.setdefault(self.category, [])
            elif tag == "a" and self.href:
                self.menu[self.category].append((self.text.strip(), self.href))
                self.href = None
            elif tag == "ul" and self.category:
                self.category = None

    parser = Menu()
    parser.feed(page)
    return parser.menu


def test_the_operator_finds_the_views_in_the_menu_under_the_plugins_category(console):
    with console.app_context():
        operator = Factory(console).user(roles=("operator",))
        client = console.test_client()
        login_session(client, operator)
        menu = menu_of(client.get("/admin/").get_data(as_text=True))
        assert menu["Уведомления"] == [
            ("Журнал уведомлений", "/admin/notifications_log/"),
            ("Ошибки отправки", "/admin/notifications_failed/"),
        ]
        for _title, link in menu["Уведомления"]:
            assert client.get(link).status_code == 200
        # Switched off in the console: gone from the menu, and the pages with it.
        db.session.add(PluginState(plugin="notifications", organisation_id=None, enabled=False))
        db.session.commit()
        assert "Уведомления" not in menu_of(client.get("/admin/").get_data(as_text=True))
        assert client.get("/admin/notifications_log/").status_code == 404


def test_operator_sees_failed_sends_and_sends_them_again(console):
    with console.app_context():
        factory = Factory(console)
        operator = factory.user(roles=("operator",))
        factory.consultation(email="ivanova@example.ru", patient=factory.patient(phone="+79210001122"))
        [failed] = notifications(status=S.FAILED)
        assert failed.channel == "sms"

        client = console.test_client()
        login_session(client, operator)
        log = client.get("/admin/notifications_log/").get_data(as_text=True)
        assert "ivanova@example.ru" in log and "Отправлено" in log and "Ошибка" in log
        page = client.get("/admin/notifications_failed/").get_data(as_text=True)
        assert "550 5.1.1 No such mailbox" in page and "ivanova@example.ru" not in page
        assert "Отправить повторно" in page

        token = client.csrf_token("/notifications/outbox")
        response = client.post(
            "/admin/notifications_failed/action/",
            data={"action": "retry", "rowid": [str(failed.id)], "csrf_token": token},
        )
        assert response.status_code == 302
        [row] = notifications(channel="sms", event="registered")
        assert row.status == S.SENT
        assert len(console.channel.delivered) == 1
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_type == "notifications_messages")) == "notification.retried"


def test_doctors_are_refused_and_strangers_sent_to_login(console):
    with console.app_context():
        doctor = Factory(console).doctor()
        client = console.test_client()
        assert client.get("/admin/notifications_log/").status_code == 302
        login_session(client, doctor)
        assert client.get("/admin/notifications_log/").status_code == 403
        assert client.get("/admin/notifications_failed/").status_code == 403


def test_the_log_is_a_console_view_local_time_filters_and_an_audited_safe_export(console):
    import csv
    import io
    from datetime import timedelta

    from admin.views import title_of
    from plugins.notifications import service
    from tests.notifications.helpers import exact_slot

    with console.app_context():
        factory = Factory(console)
        operator = factory.user(roles=("operator",), last_name="Операторова")
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(hours=3))
        factory.consultation(author=doctor, slot=slot, email="ivanova@example.ru",
                             patient=factory.patient(phone="+79210001122"))
        service.send_due(now=slot.starts_at + timedelta(minutes=1))  # far too late for the reminder
        db.session.commit()
        [registered] = notifications(event="registered", channel="email")
        client = console.test_client()
        login_session(client, operator)

        page = client.get("/admin/notifications_log/").get_data(as_text=True)
        # Local (Moscow) time as the rest of the console shows it, not raw UTC.
        from zoneinfo import ZoneInfo

        created = registered.created_at.astimezone(ZoneInfo("Europe/Moscow"))
        assert created.strftime("%d.%m.%Y %H:%M") in page
        assert registered.created_at.isoformat(sep=" ")[:19] not in page
        assert "Просрочено: консультация уже началась" in page
        # A time filter, typed in local time like every console filter.
        view = [v for v in console.admin_views if v.endpoint == "admin_notifications_log"][0]
        [since] = [i for i, f in enumerate(view._filters)
                   if str(f.name) == "Начало консультации" and type(f).__name__ == "LocalDateTimeGreater"]
        later = (slot.starts_at + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Moscow"))
        rows = client.get("/admin/notifications_log/", query_string={f"flt0_{since}": later.strftime("%Y-%m-%d %H:%M:%S")})
        assert "ivanova@example.ru" not in rows.get_data(as_text=True).split("<tbody")[-1]

        response = client.get("/admin/notifications_log/export/csv/?search=79210001122")
        assert response.status_code == 200
        table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        header, lines = table[0], table[1:]
        assert header[:4] == ["Создано", "Событие", "Канал", "Получатель"]
        # A phone number starting with «+» stays text in a spreadsheet.
        assert {line[3] for line in lines} == {"'+79210001122"}
        assert {line[1] for line in lines} == {"Заявка зарегистрирована", "Напоминание"}
        assert all(line[0].count(":") == 2 and "." in line[0] for line in lines)  # dd.MM.yyyy HH:mm:ss
        db.session.expire_all()
        [exported] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "admin.notifications_log.exported")
        ).all()
        assert exported.actor_name.startswith("Операторова")
        assert exported.data["view"] == "admin_notifications_log" and exported.data["rows"] == len(lines) == 2
        assert exported.data["search"] == "79210001122"
        with console.test_request_context():
            assert title_of("actions", exported.action) == "Консоль: выгрузка в CSV («Журнал уведомлений»)"
            assert title_of("objects", "notifications_messages") == "Уведомление"
