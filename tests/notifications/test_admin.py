"""The operator's notification views (SPEC A1, F3): failed sends are visible and can be
sent again. The plugin's views reach the operator console through the hook
teleconsult_register_admin_views and live under /admin/ in the category «Уведомления»."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent
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


def test_views_are_in_the_plugin_category(console):
    assert {str(view.category) for view in console.admin_views} == {"Уведомления"}
    assert {str(view.name) for view in console.admin_views} == {"Журнал уведомлений", "Ошибки отправки"}


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
