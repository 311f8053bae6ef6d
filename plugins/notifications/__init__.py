"""Notifications to patients: e-mail (SMS through the same hook) and reminders, on Celery."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.menus import MenuItem

# What the console's «Плагины» shows (Russian, translated through Flask-Babel).
DESCRIPTION = _l("Уведомления пациентам: электронная почта и напоминания о консультации")

NAME = "notifications"


@hookimpl
def teleconsult_register_hookspecs():
    from plugins.notifications import hookspecs

    return [hookspecs]


@hookimpl
def teleconsult_register_config_defaults():
    return {
        # Channels in use, by code; each comes from teleconsult_register_notification_channels.
        "NOTIFICATIONS_CHANNELS": ["email", "sms"],
        # Patients get their messages in this language, whatever the doctor's screen shows.
        "NOTIFICATIONS_LOCALE": "ru",
        # The reminder goes this many minutes before the start (seed 000 §4.1: 10–15);
        # 0 turns reminders off.
        "NOTIFICATIONS_REMINDER_MINUTES": 15,
        # A reminder not sent by the start plus this many minutes (retries, an outage,
        # the plugin switched off meanwhile) is marked expired instead of going out late.
        "NOTIFICATIONS_REMINDER_GRACE_MINUTES": 0,
        # How often the periodic task looks for due reminders, retries and lost sends.
        "NOTIFICATIONS_SWEEP_SECONDS": 30.0,
        # A worker owns a notification it is sending for this long; then another takes
        # over. More than three NOTIFICATIONS_SMTP_TIMEOUT.
        "NOTIFICATIONS_SEND_LEASE_SECONDS": 300.0,
        # The sweep hands a due notification to a task again only if no task claimed it
        # within this many seconds (the first was lost, or the queue is that long).
        "NOTIFICATIONS_DISPATCH_LEASE_SECONDS": 300.0,
        "NOTIFICATIONS_MAX_ATTEMPTS": 8,
        "NOTIFICATIONS_RETRY_BASE_SECONDS": 60.0,  # then 2×, 4×... up to the maximum
        "NOTIFICATIONS_RETRY_MAX_SECONDS": 3600.0,
        # "outbox": .eml files in DATA_DIR/outbox (embedded default); "smtp": a mail server.
        "NOTIFICATIONS_EMAIL_TRANSPORT": "outbox",
        "NOTIFICATIONS_MAIL_FROM": "noreply@teleconsult.local",
        "NOTIFICATIONS_MAIL_FROM_NAME": "Дистанционные консультации",
        "NOTIFICATIONS_MESSAGE_ID_DOMAIN": "",  # empty: the domain of MAIL_FROM
        "NOTIFICATIONS_SMTP_HOST": "localhost",
        "NOTIFICATIONS_SMTP_PORT": 587,
        "NOTIFICATIONS_SMTP_SECURITY": "starttls",  # starttls | ssl | none
        "NOTIFICATIONS_SMTP_USERNAME": "",
        "NOTIFICATIONS_SMTP_PASSWORD": "",
        "NOTIFICATIONS_SMTP_TIMEOUT": 30.0,
        "NOTIFICATIONS_SMTP_CA_FILE": "",  # empty: the system's trusted authorities
        # Where patients log in; put in the messages when set.
        "NOTIFICATIONS_PORTAL_URL": "",
    }


@hookimpl
def teleconsult_config_check(settings):
    problems = []
    if settings["TASKS_BACKEND"] == "inprocess":
        # Reminders wait for a sweep and sends retry with backoff: both need a worker and
        # beat that outlive a web request, and web processes must not send mail.
        problems.append("TASKS_BACKEND must be 'celery' in production when the notifications plugin is loaded")
    if settings["NOTIFICATIONS_EMAIL_TRANSPORT"] not in ("outbox", "smtp"):
        problems.append("NOTIFICATIONS_EMAIL_TRANSPORT must be 'outbox' or 'smtp'")
    if settings["NOTIFICATIONS_SMTP_SECURITY"] not in ("starttls", "ssl", "none"):
        problems.append("NOTIFICATIONS_SMTP_SECURITY must be 'starttls', 'ssl' or 'none'")
    if "email" in settings["NOTIFICATIONS_CHANNELS"]:
        if settings["NOTIFICATIONS_EMAIL_TRANSPORT"] != "smtp":
            problems.append("NOTIFICATIONS_EMAIL_TRANSPORT must be 'smtp' in production")
        elif settings["NOTIFICATIONS_SMTP_SECURITY"] == "none":
            problems.append("NOTIFICATIONS_SMTP_SECURITY must be 'starttls' or 'ssl' in production")
    if settings["NOTIFICATIONS_SEND_LEASE_SECONDS"] <= settings["NOTIFICATIONS_SMTP_TIMEOUT"] * 3:
        problems.append("NOTIFICATIONS_SEND_LEASE_SECONDS must exceed three times NOTIFICATIONS_SMTP_TIMEOUT")
    return problems


@hookimpl
def teleconsult_register_tasks():
    from plugins.notifications.tasks import TASKS

    return TASKS


@hookimpl
def teleconsult_register_migrations():
    return [str(Path(__file__).parent / "migrations" / "versions")]


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.notifications.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_access_rules():
    from plugins.notifications.views import ACCESS_RULES

    return ACCESS_RULES


@hookimpl
def teleconsult_register_menu_items(area):
    from plugins.notifications.views import outbox_page_enabled

    if area != "workplace" or not has_app_context() or not outbox_page_enabled(current_app):
        return []
    return [MenuItem(_l("Исходящая почта"), "notifications.outbox", order=95, icon="mail", roles=("doctor", "registrar", "operator"))]


@hookimpl
def teleconsult_register_admin_views():
    from plugins.notifications.admin import admin_views

    return admin_views()


@hookimpl
def teleconsult_register_audit_titles():
    from core.audit import AuditTitles

    return AuditTitles(
        actions={"notification.retried": _l("Уведомление отправлено повторно")},
        objects={"notifications_messages": _l("Уведомление")},
    )


@hookimpl
def teleconsult_register_notification_channels(app):
    from plugins.notifications.channels import EmailChannel, LogSmsChannel

    return [EmailChannel(app.config), LogSmsChannel()]


@hookimpl
def teleconsult_consultation_scheduled(consultation, slot, actor):
    from plugins.notifications.service import on_scheduled

    on_scheduled(consultation)


@hookimpl
def teleconsult_consultation_completed(consultation, outcome, actor):
    from plugins.notifications.service import on_completed

    on_completed(consultation, outcome)
