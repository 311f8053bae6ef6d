"""The texts of the notifications: Russian, plain text and HTML (SPEC F3, seed 000 §3).

Patients get the message in ``NOTIFICATIONS_LOCALE`` (Russian) whatever language the
doctor's screen uses. Times are shown in the deployment's time zone
(``BABEL_DEFAULT_TIMEZONE``), as the portal shows them, and say which time they are:
«время московское» in Moscow time, otherwise «местное время, МСК+2» (SMS: «МСК»,
«МСК+2»), the way times are given across Russia.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import TemplateNotFound

from core.models import Consultation
from plugins.notifications.models import NotificationEvent as E

MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str | None


def _subject(event: str, context: dict[str, Any]) -> str:
    if event == E.REGISTERED:
        return _("Заявка на дистанционную консультацию зарегистрирована")
    if event == E.RESCHEDULED:
        return _("Изменено время дистанционной консультации")
    if event == E.REMINDER:
        return _("Напоминание: дистанционная консультация в %(time)s", time=context["time"])
    if event == E.CONCLUSION_READY:
        return _("Заключение по дистанционной консультации готово")
    if event == E.COMPLETED_WITHOUT_CONCLUSION:
        return _("Дистанционная консультация завершена без заключения")
    raise ValueError(f"unknown notification event {event!r}")


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def zone_labels(moment: datetime) -> tuple[str, str]:
    """What the time ``moment`` (local) is, in full and in short: («время московское»,
    «МСК») or («местное время, МСК+2», «МСК+2»)."""
    difference = moment.utcoffset() - moment.astimezone(MOSCOW).utcoffset()
    if not difference:
        return _("время московское"), _("МСК")
    minutes = int(difference.total_seconds() // 60)
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    offset = f"{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return _("местное время, МСК%(offset)s", offset=offset), _("МСК%(offset)s", offset=offset)


def context_for(
    consultation: Consultation, starts_at: datetime | None = None, sent_at: datetime | None = None
) -> dict[str, Any]:
    person = consultation.portal_patient
    polite = " ".join(p for p in (person.first_name, person.middle_name) if p)
    consultant = consultation.consultant
    specialty = consultant.specialty or consultation.profile.name
    starts_at = starts_at or consultation.scheduled_at
    start = local(starts_at) if starts_at else None
    zone, zone_short = zone_labels(start) if start else ("", "")
    reason = consultation.outcome_reason
    return {
        "greeting": _("Здравствуйте, %(name)s!", name=polite),
        "type_name": consultation.type.name,
        "consultant": f"{consultant.full_name}, {specialty}" if specialty else consultant.full_name,
        "date": format_date(start.date(), "d MMMM y", locale="ru") if start else "",
        "time": start.strftime("%H:%M") if start else "",
        "zone": zone,
        "zone_short": zone_short,
        # A reminder sent on the day of the consultation says «сегодня»; earlier, the date.
        "same_day": bool(start and sent_at and local(sent_at).date() == start.date()),
        "comment": consultation.comment,
        "reason": reason.name if reason else "",
        "note": consultation.outcome_note,
        "organisation": consultation.organisation.name if consultation.organisation else "",
        "portal_url": current_app.config["NOTIFICATIONS_PORTAL_URL"],
    }


def _template(channel: str, event: str, locale: str, suffix: str) -> str | None:
    for candidate in (locale, "ru"):
        name = f"notifications/{channel}/{candidate}/{event}.{suffix}"
        try:
            current_app.jinja_env.get_template(name)
        except TemplateNotFound:
            continue
        return name
    return None


def render(
    event: str,
    channel: str,
    consultation: Consultation,
    starts_at: datetime | None = None,
    sent_at: datetime | None = None,
) -> RenderedMessage:
    """The subject, text and HTML of ``event`` for ``channel`` (``email`` or ``sms``);
    ``sent_at``: when it will go out (reminders)."""
    locale = current_app.config["NOTIFICATIONS_LOCALE"]
    with force_locale(locale):
        context = context_for(consultation, starts_at, sent_at)
        subject = _subject(event, context)
        context["subject"] = subject
        kind = "email" if channel == "email" else "sms"
        text_name = _template(kind, event, locale, "txt")
        html_name = _template(kind, event, locale, "html") if kind == "email" else None
        text = render_template(text_name, **context).strip() + "\n"
        html = render_template(html_name, **context) if html_name else None
    return RenderedMessage(subject=subject, text=text, html=html)
