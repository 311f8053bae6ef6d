"""Notifications on the embedded default: tasks in-process, e-mail as .eml files (SPEC F3,
P7; seed 000 §3 and §4.1, seed 002 §4.4)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core import hookimpl, lifecycle
from core.access import principal_for_user
from core.db import db, utcnow
from core.models import Outcome, PluginState
from core.testing import Factory, login_session
from plugins.notifications import service
from plugins.notifications.channels import OutgoingMessage, PermanentFailure, TemporaryFailure, message_id
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import (
    conclusion_document,
    exact_slot,
    html_of,
    moscow_text,
    notifications,
    outbox,
    reason,
    text_of,
)


@pytest.fixture
def app(make_app):
    return make_app(plugins=["notifications"])


def test_registration_e_mail_lands_in_the_local_outbox_in_russian(app, factory):
    """Seed 000 §3: the patient gets an e-mail once the application is registered, with the
    date and time (Moscow) and the doctor's comment (seed 002 §4.4)."""
    consultation = factory.consultation(email="ivanova@example.ru", comment="Возьмите результаты анализов крови")
    [mail] = [m for m in outbox(app) if "зарегистрирована" in m["Subject"]]
    assert mail["To"] == "ivanova@example.ru"
    assert mail["Subject"] == "Заявка на дистанционную консультацию зарегистрирована"
    day, clock = moscow_text(consultation.scheduled_at)
    text = text_of(mail)
    assert f"Дата и время: {day}, {clock} (время московское)" in text
    assert "Комментарий врача: Возьмите результаты анализов крови" in text
    assert "«Чат с врачом»" in text and "за 10–15 минут" in text
    assert text.startswith("Здравствуйте, Пётр Ильич!")
    html = html_of(mail)
    assert f"<strong>{day}, {clock}</strong>" in html and "Возьмите результаты анализов крови" in html
    assert mail["Message-ID"] == message_id(f"registered:{consultation.id}:email", "teleconsult.local")
    [row] = notifications(event="registered")
    assert row.status == S.SENT and row.attempts == 1


def test_the_comment_is_escaped_in_html(app, factory):
    factory.consultation(comment="<script>alert(1)</script>")
    [mail] = [m for m in outbox(app) if "зарегистрирована" in m["Subject"]]
    assert "<script>" not in html_of(mail) and "&lt;script&gt;" in html_of(mail)


def test_reminder_is_a_row_that_goes_out_when_its_time_comes(app, factory):
    """Seed 000 §4.1: come 10-15 minutes early; the reminder is sent 15 minutes before."""
    doctor = factory.doctor()
    slot = exact_slot(doctor, timedelta(hours=3))
    consultation = factory.consultation(author=doctor, slot=slot)
    [reminder] = notifications(event="reminder")
    assert reminder.status == S.PENDING
    assert reminder.next_attempt_at == slot.starts_at - timedelta(minutes=15)

    # The clock is moved through the periodic task's argument, as beat would call it later.
    service.send_due(now=slot.starts_at - timedelta(minutes=16))
    db.session.commit()
    assert not [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]
    service.send_due(now=slot.starts_at - timedelta(minutes=14))
    db.session.commit()
    [mail] = [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]
    day, clock = moscow_text(slot.starts_at)
    assert mail["Subject"] == f"Напоминание: дистанционная консультация в {clock}"
    reminded_on, _ = moscow_text(slot.starts_at - timedelta(minutes=15))
    when = "сегодня" if reminded_on == day else day  # only differs just after midnight
    assert f"Напоминаем: {when} в {clock} (время московское)" in text_of(mail)
    assert notifications(event="reminder")[0].status == S.SENT
    assert consultation.id == reminder.consultation_id


def test_reminder_lead_and_grace_are_settings(make_app):
    config = {"NOTIFICATIONS_REMINDER_MINUTES": 60, "NOTIFICATIONS_REMINDER_GRACE_MINUTES": 10}
    app = make_app(plugins=["notifications"], config=config)
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(hours=3))
        factory.consultation(author=doctor, slot=slot)
        [reminder] = notifications(event="reminder")
        assert reminder.next_attempt_at == slot.starts_at - timedelta(minutes=60)
        # Late, within the grace after the start: it still goes out.
        assert reminder.expires_at == slot.starts_at + timedelta(minutes=10)
        service.send_due(now=slot.starts_at + timedelta(minutes=5))
        assert notifications(event="reminder")[0].status == S.SENT


def test_moving_the_consultation_sends_the_new_time_and_moves_the_reminder(app, factory):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor, slot=exact_slot(doctor, timedelta(hours=3)))
    later = exact_slot(doctor, timedelta(hours=5))
    lifecycle.schedule(consultation, later, principal_for_user(doctor))
    db.session.commit()
    subjects = sorted(m["Subject"] for m in outbox(app))
    assert subjects == [
        "Заявка на дистанционную консультацию зарегистрирована",
        "Изменено время дистанционной консультации",
    ]
    reminders = notifications(event="reminder")
    assert [r.status for r in reminders] == [S.CANCELLED, S.PENDING]
    assert reminders[1].next_attempt_at == later.starts_at - timedelta(minutes=15)
    day, clock = moscow_text(later.starts_at)
    [moved] = [m for m in outbox(app) if m["Subject"].startswith("Изменено")]
    assert f"Новые дата и время: {day}, {clock}" in text_of(moved)


def test_completion_without_conclusion_tells_the_reason_and_cancels_the_reminder(app, factory):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor, slot=exact_slot(doctor, timedelta(hours=3)))
    why = reason()
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(doctor), reason=why, note="Пациент не вышел на связь")
    db.session.commit()
    [mail] = [m for m in outbox(app) if "без заключения" in m["Subject"]]
    assert mail["Subject"] == "Дистанционная консультация завершена без заключения"
    assert f"Причина: {why.name}" in text_of(mail)
    assert "Пояснение врача: Пациент не вышел на связь" in text_of(mail)
    assert [r.status for r in notifications(event="reminder")] == [S.CANCELLED]


def test_conclusion_ready(app, factory):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor)
    document = conclusion_document(consultation)
    lifecycle.complete(consultation, Outcome.UPLOADED_CONCLUSION, principal_for_user(doctor), document=document)
    db.session.commit()
    [mail] = [m for m in outbox(app) if "Заключение" in m["Subject"]]
    assert mail["Subject"] == "Заключение по дистанционной консультации готово"
    assert "Посмотреть и скачать заключение" in text_of(mail)


def test_a_task_that_runs_twice_sends_one_message(app, factory):
    factory.consultation()
    [row] = notifications(event="registered")
    assert service.send(row.id) == "skipped"  # already sent after the commit
    db.session.commit()
    # Even a row forced back to "pending" rewrites the same outbox file, never a second one.
    row.status = S.PENDING
    db.session.commit()
    assert service.send(row.id) == "sent"
    assert len([m for m in outbox(app) if "зарегистрирована" in m["Subject"]]) == 1


def test_the_same_event_twice_makes_one_notification(app, factory):
    consultation = factory.consultation()
    service.on_scheduled(consultation)  # the hook firing again for the same booking
    service.notify("registered", consultation, key=f"registered:{consultation.id}")
    db.session.commit()
    assert len(notifications(event="registered")) == 1
    assert len(notifications(event="reminder")) == 1


def test_a_switched_off_plugin_sends_nothing(app, factory):
    db.session.add(PluginState(plugin="notifications", organisation_id=None, enabled=False))
    db.session.commit()
    factory.consultation()
    assert notifications() == []
    assert outbox(app) == []


def test_tasks_of_a_switched_off_plugin_are_skipped(app, factory):
    from core.tasks import run_inprocess

    doctor = factory.doctor()
    factory.consultation(author=doctor, slot=exact_slot(doctor, timedelta(hours=3)))
    db.session.add(PluginState(plugin="notifications", organisation_id=None, enabled=False))
    db.session.commit()
    later = (utcnow() + timedelta(hours=4)).isoformat()
    assert run_inprocess(app, "notifications.send_due", {"now": later}) is None
    assert notifications(event="reminder")[0].status == S.PENDING


class Flaky:
    """A channel whose provider fails a few times before it works."""

    code = "sms"

    def __init__(self, failures):
        self.failures = list(failures)
        self.delivered: list[OutgoingMessage] = []

    def address_for(self, consultation):
        return consultation.patient.phone

    def deliver(self, message):
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(message)


def sms_plugin(channel):
    class SmsProvider:
        """Replaces the built-in log SMS channel."""

        @hookimpl(optionalhook=True)  # another plugin's hook
        def teleconsult_register_notification_channels(self, app):
            return [channel]

    return ("sms_provider", SmsProvider())


def test_a_plugin_channel_replaces_the_built_in_sms(make_app):
    """Hook teleconsult_register_notification_channels: a provider plugin delivers the SMS."""
    channel = Flaky([])
    app = make_app(plugins=["notifications"], extra_plugins=[sms_plugin(channel)])
    with app.app_context():
        factory = Factory(app)
        patient = factory.patient(phone="+7 921 000-11-22")
        consultation = factory.consultation(patient=patient)
        [sms] = channel.delivered
        assert sms.recipient == "+7 921 000-11-22"
        day, clock = moscow_text(consultation.scheduled_at)
        assert sms.text.strip() == (
            f"Заявка на дистанционную консультацию зарегистрирована: {day}, {clock} (МСК). "
            "Портал «Здоровье петербуржца», раздел «Чат с врачом»."
        )
        assert {r.channel for r in notifications(event="registered")} == {"email", "sms"}


def test_the_built_in_sms_channel_logs_with_a_masked_number(app, factory, caplog):
    patient = factory.patient(phone="+7 921 000-11-22")
    with caplog.at_level("INFO", logger="plugins.notifications.channels"):
        factory.consultation(patient=patient)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("SMS")]
    assert "*******1122" in line and "921" not in line
    assert "«Чат с врачом»" in line


def test_temporary_failures_retry_with_backoff_then_give_up_for_the_operator(make_app):
    channel = Flaky([TemporaryFailure("451 busy")] * 3)
    config = {"NOTIFICATIONS_MAX_ATTEMPTS": 3, "NOTIFICATIONS_RETRY_BASE_SECONDS": 60, "NOTIFICATIONS_CHANNELS": ["sms"]}
    app = make_app(plugins=["notifications"], config=config, extra_plugins=[sms_plugin(channel)])
    with app.app_context():
        factory = Factory(app)
        factory.consultation(patient=factory.patient(phone="+79210001122"))
        [row] = notifications(event="registered")
        assert (row.status, row.attempts, row.last_error) == (S.PENDING, 1, "TemporaryFailure: 451 busy")
        first_wait = row.next_attempt_at - row.updated_at
        assert timedelta(seconds=59) < first_wait <= timedelta(seconds=61)

        assert service.send(row.id) == "skipped"  # not due yet
        second_try = row.next_attempt_at + timedelta(seconds=1)
        service.send_due(now=second_try)
        [row] = notifications(event="registered")
        assert (row.status, row.attempts) == (S.PENDING, 2)
        second_wait = row.next_attempt_at - second_try
        assert timedelta(seconds=119) < second_wait <= timedelta(seconds=121)  # doubled

        service.send_due(now=row.next_attempt_at + timedelta(seconds=1))
        [row] = notifications(event="registered")
        assert (row.status, row.attempts) == (S.FAILED, 3)
        assert channel.delivered == []

        # The operator sends it again from the console.
        assert service.retry_now(row)
        db.session.commit()
        [row] = notifications(event="registered")
        assert row.status == S.SENT and len(channel.delivered) == 1


def test_a_permanent_failure_is_not_retried(make_app):
    channel = Flaky([PermanentFailure("550 no such user")])
    config = {"NOTIFICATIONS_CHANNELS": ["sms"]}
    app = make_app(plugins=["notifications"], config=config, extra_plugins=[sms_plugin(channel)])
    with app.app_context():
        factory = Factory(app)
        factory.consultation(patient=factory.patient(phone="+79210001122"))
        [row] = notifications(event="registered")
        assert (row.status, row.attempts) == (S.FAILED, 1)
        assert "550 no such user" in row.last_error


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(app, factory):
    consultation = factory.consultation()
    [row] = notifications(event="registered")
    # As if a worker had claimed it and died before recording the result.
    row.status, row.claim_token, row.lease_until = S.SENDING, "dead-worker", utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert service.send(row.id) == "skipped"
    assert service.send(row.id, now=utcnow() + timedelta(minutes=6)) == "sent"
    assert notifications(event="registered")[0].attempts == 2
    assert consultation.id == row.consultation_id


def test_outbox_page_lists_the_messages_for_staff(app, factory):
    doctor = factory.doctor()
    factory.consultation(author=doctor, email="ivanova@example.ru")
    client = app.test_client()
    assert client.get("/notifications/outbox").status_code in (302, 401)
    login_session(client, doctor)
    page = client.get("/notifications/outbox").get_data(as_text=True)
    assert "ivanova@example.ru" in page and "Заявка на дистанционную консультацию зарегистрирована" in page
    assert "Исходящая почта" in page  # in the main menu too
    name = next((Path(app.config["DATA_DIR"]) / "outbox").glob("registered-*.eml")).name
    message = client.get(f"/notifications/outbox/{name}").get_data(as_text=True)
    assert "Дата и время:" in message and "sandbox" in message


def test_a_message_outside_the_outbox_is_never_shown(app, factory):
    """The router refuses a name with a slash before the view runs; the view itself
    refuses any name that leads out of the outbox folder, whoever calls it."""
    from flask_login import login_user
    from werkzeug.exceptions import NotFound

    from plugins.notifications.views import outbox_message

    doctor = factory.doctor()
    factory.consultation(author=doctor)
    data = Path(app.config["DATA_DIR"])
    (data / "secret.eml").write_bytes(next((data / "outbox").glob("registered-*.eml")).read_bytes())
    inside = next((data / "outbox").glob("registered-*.eml")).name
    client = app.test_client()
    login_session(client, doctor)
    assert client.get("/notifications/outbox/..%2Fsecret.eml").status_code == 404
    assert client.get("/notifications/outbox/secret.eml").status_code == 404
    with app.test_request_context():
        login_user(doctor)
        assert "Дата и время:" in outbox_message(inside)
        for name in ("../secret.eml", "..", f"{data}/secret.eml", "/etc/hostname"):
            with pytest.raises(NotFound):
                outbox_message(name)


def test_outbox_page_does_not_exist_with_a_real_mail_server(make_app):
    app = make_app(plugins=["notifications"], config={"NOTIFICATIONS_EMAIL_TRANSPORT": "smtp"})
    with app.app_context():
        doctor = Factory(app).doctor()
        client = app.test_client()
        login_session(client, doctor)
        assert client.get("/notifications/outbox").status_code == 404


def test_production_refuses_the_local_outbox():
    from core.app import create_app
    from core.settings import SettingsError

    settings = {
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/none",
        "TASKS_BACKEND": "inprocess",
    }
    with pytest.raises(SettingsError, match="NOTIFICATIONS_EMAIL_TRANSPORT must be 'smtp'"):
        create_app(settings, environment="production", plugins=["notifications"])


def test_a_reminder_a_day_ahead_names_the_date(make_app):
    app = make_app(plugins=["notifications"], config={"NOTIFICATIONS_REMINDER_MINUTES": 24 * 60})
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(days=3))
        factory.consultation(author=doctor, slot=slot)
        [reminder] = notifications(event="reminder")
        day, clock = moscow_text(slot.starts_at)
        assert f"Напоминаем: {day} в {clock} (время московское)" in reminder.body_text
