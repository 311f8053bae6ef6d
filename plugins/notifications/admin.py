"""The operator's view of notifications in the admin console (category «Уведомления»).

«Журнал уведомлений» lists every notification with its state; «Ошибки отправки» only
those that gave up. The operator reads the error and sends a failed one again. Both are
console views (``admin.base.ConsoleModelView``): local time, time filters, audited CSV
export whose cells stay text in a spreadsheet.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual, IntEqualFilter
from flask_babel import lazy_gettext as _l
from flask_babel import gettext as _
from markupsafe import Markup

from admin.base import ConsoleModelView, bounded
from core import params
from core.access import can, require
from core.db import db
from plugins.notifications import service
from plugins.notifications.models import Notification, NotificationStatus as S

CATEGORY = _l("Уведомления")

STATUS_TITLES = {
    S.PENDING: _l("Ожидает отправки"),
    S.SENDING: _l("Отправляется"),
    S.SENT: _l("Отправлено"),
    S.FAILED: _l("Ошибка"),
    S.CANCELLED: _l("Отменено"),
    S.EXPIRED: _l("Просрочено: консультация уже началась"),
    S.SKIPPED: _l("Не отправлено: уведомления выключены для организации"),
}
EVENT_TITLES = {
    "registered": _l("Заявка зарегистрирована"),
    "rescheduled": _l("Время изменено"),
    "reminder": _l("Напоминание"),
    "conclusion_ready": _l("Заключение готово"),
    "completed_without_conclusion": _l("Завершена без заключения"),
}
CHANNEL_TITLES = {"email": _l("Электронная почта"), "sms": _l("SMS")}


def _title(titles):
    def formatter(view, context, model, name):
        value = getattr(model, name)
        return str(titles.get(value, value))

    return formatter


class NotificationLogView(ConsoleModelView):
    """Read-only: what went out, what is waiting, and what did not go out and why."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_types = ["csv"]
    column_default_sort = ("created_at", True)
    column_list = (
        "created_at",
        "event",
        "channel",
        "recipient",
        "subject",
        "starts_at",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    column_details_list = (*column_list, "expires_at", "key", "consultation_id", "body_text")
    column_export_list = column_list
    column_labels = {
        "created_at": _l("Создано"),
        "event": _l("Событие"),
        "channel": _l("Канал"),
        "recipient": _l("Получатель"),
        "subject": _l("Тема"),
        "starts_at": _l("Начало консультации"),
        "status": _l("Состояние"),
        "attempts": _l("Попыток"),
        "next_attempt_at": _l("Следующая попытка"),
        "sent_at": _l("Отправлено"),
        "expires_at": _l("Не отправлять после"),
        "last_error": _l("Последняя ошибка"),
        "key": _l("Ключ идемпотентности"),
        "consultation_id": _l("Заявка"),
        "body_text": _l("Текст"),
    }
    column_searchable_list = ("recipient", "subject", "key")
    column_filters = (
        FilterEqual(Notification.status, _l("Состояние"), options=list(STATUS_TITLES.items())),
        FilterEqual(Notification.event, _l("Событие"), options=list(EVENT_TITLES.items())),
        FilterEqual(Notification.channel, _l("Канал"), options=list(CHANNEL_TITLES.items())),
        # An integer filter: PostgreSQL does not compare an integer column with text.
        bounded(IntEqualFilter)(Notification.consultation_id, _l("Заявка")),
        "created_at",
        "starts_at",
        "sent_at",
    )
    column_formatters = {
        "status": _title(STATUS_TITLES),
        "event": _title(EVENT_TITLES),
        "channel": _title(CHANNEL_TITLES),
    }
    column_formatters_export = column_formatters
    column_formatters_detail = {
        **column_formatters,
        "body_text": lambda v, c, m, n: Markup("<pre>{}</pre>").format(m.body_text),
    }

    def __init__(self, name, endpoint: str) -> None:
        self.audit_name = endpoint  # its exports are recorded as admin.<endpoint>.exported
        super().__init__(Notification, name, category=CATEGORY, endpoint=endpoint, url=endpoint)

    def is_accessible(self) -> bool:
        return super().is_accessible() and can("notifications.manage")

    def inaccessible_callback(self, name, **kwargs):
        super().inaccessible_callback(name, **kwargs)
        require("notifications.manage")

    @action(
        "retry",
        _l("Отправить повторно"),
        _l("Отправить выбранные уведомления с ошибкой повторно?"),
    )
    def action_retry(self, ids):
        rows = db.session.scalars(sa.select(Notification).where(Notification.id.in_(params.ids(ids))))
        count = sum(1 for row in rows if service.retry_now(row))
        db.session.commit()
        flash(_("Поставлено в очередь на отправку: %(num)s", num=count), "success")


class FailedNotificationView(NotificationLogView):
    def get_query(self):
        return super().get_query().filter(Notification.status == S.FAILED)

    def get_count_query(self):
        return super().get_count_query().filter(Notification.status == S.FAILED)


def admin_views() -> list:
    return [
        NotificationLogView(_l("Журнал уведомлений"), endpoint="notifications_log"),
        FailedNotificationView(_l("Ошибки отправки"), endpoint="notifications_failed"),
    ]
