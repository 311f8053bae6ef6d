"""What decides whether, and when, a notification goes out (SPEC F3): a booking moved
back and forth, a reminder that comes too late, the organisation's switch, the sweep's
dispatch lease, the deployment's time zone, what production refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import lifecycle
from core.access import principal_for_user
from core.db import db
from core.models import PluginState
from core.testing import Factory
from plugins.notifications import service
from plugins.notifications.channels import TemporaryFailure
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import exact_slot, moscow_text, notifications, outbox, text_of
from tests.notifications.test_inprocess import Flaky, sms_plugin


@pytest.fixture
def app(make_app):
    return make_app(plugins=["notifications"])


def subjects(app) -> list[str]:
    return sorted(m["Subject"] for m in outbox(app))


def moved_mails(app) -> list:
    return [m for m in outbox(app) if m["Subject"].startswith("Изменено")]


def move(consultation, slot, doctor):
    lifecycle.schedule(consultation, slot, principal_for_user(doctor))
    db.session.commit()


# --------------------------------------------------------------------------- moving back and forth


def test_moving_back_to_the_first_time_tells_the_patient_and_plans_its_reminder_again(app, factory):
    doctor = factory.doctor()
    a = exact_slot(doctor, timedelta(hours=3))
    b = exact_slot(doctor, timedelta(hours=5))
    consultation = factory.consultation(author=doctor, slot=a)
    move(consultation, b, doctor)
    move(consultation, a, doctor)

    # Every move is told: the patient's last message names A's time.
    assert len(moved_mails(app)) == 2
    day, clock = moscow_text(a.starts_at)
    assert {f"Новые дата и время: {day}, {clock}" in text_of(m) for m in moved_mails(app)} == {True, False}
    reminders = notifications(event="reminder")
    assert [r.status for r in reminders] == [S.CANCELLED, S.CANCELLED, S.PENDING]
    assert reminders[-1].next_attempt_at == a.starts_at - timedelta(minutes=15)
    assert reminders[-1].starts_at == a.starts_at

    # And A's reminder goes out at its time.
    service.send_due(now=a.starts_at - timedelta(minutes=14))
    db.session.commit()
    [reminder] = [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]
    assert reminder["Subject"] == f"Напоминание: дистанционная консультация в {clock}"


def test_moving_a_b_a_b_tells_every_move_and_the_last_time_wins(app, factory):
    doctor = factory.doctor()
    a = exact_slot(doctor, timedelta(hours=3))
    b = exact_slot(doctor, timedelta(hours=5))
    consultation = factory.consultation(author=doctor, slot=a)
    for slot in (b, a, b):
        move(consultation, slot, doctor)

    assert subjects(app) == ["Заявка на дистанционную консультацию зарегистрирована"] + [
        "Изменено время дистанционной консультации"
    ] * 3
    day_b, clock_b = moscow_text(b.starts_at)
    [last] = [row for row in notifications(event="rescheduled")][-1:]
    assert f"Новые дата и время: {day_b}, {clock_b}" in last.body_text and last.status == S.SENT
    reminders = notifications(event="reminder")
    assert [r.status for r in reminders] == [S.CANCELLED] * 3 + [S.PENDING]
    assert reminders[-1].starts_at == b.starts_at
    # Nothing reminds the patient of A any more.
    service.send_due(now=a.starts_at - timedelta(minutes=14))
    db.session.commit()
    assert not [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]


def test_the_hook_firing_again_for_the_same_booking_tells_nothing_new(app, factory):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor, slot=exact_slot(doctor, timedelta(hours=3)))
    service.on_scheduled(consultation)
    db.session.commit()
    assert notifications(event="rescheduled") == []
    assert len(notifications(event="reminder")) == 1
    assert subjects(app) == ["Заявка на дистанционную консультацию зарегистрирована"]


# --------------------------------------------------------------------------- late reminders


def test_a_reminder_whose_consultation_has_begun_expires_instead_of_going_out(app, factory):
    doctor = factory.doctor()
    slot = exact_slot(doctor, timedelta(hours=3))
    factory.consultation(author=doctor, slot=slot)
    [reminder] = notifications(event="reminder")
    assert reminder.expires_at == slot.starts_at

    # A worker outage: the sweep catches up only after the start.
    assert service.send_due(now=slot.starts_at + timedelta(minutes=1)) == 1
    [reminder] = notifications(event="reminder")
    assert reminder.status == S.EXPIRED and reminder.sent_at is None
    assert not [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]


def test_a_reminder_held_while_the_plugin_was_off_expires_when_it_comes_back(app, factory):
    from core.tasks import run_inprocess

    doctor = factory.doctor()
    slot = exact_slot(doctor, timedelta(hours=3))
    factory.consultation(author=doctor, slot=slot)
    switch = PluginState(plugin="notifications", organisation_id=None, enabled=False)
    db.session.add(switch)
    db.session.commit()
    assert run_inprocess(app, "notifications.send_due", {"now": (slot.starts_at - timedelta(minutes=10)).isoformat()}) is None
    assert notifications(event="reminder")[0].status == S.PENDING
    switch.enabled = True
    db.session.commit()
    run_inprocess(app, "notifications.send_due", {"now": (slot.starts_at + timedelta(minutes=2)).isoformat()})
    assert notifications(event="reminder")[0].status == S.EXPIRED
    assert not [m for m in outbox(app) if m["Subject"].startswith("Напоминание")]


def test_a_reminder_whose_next_retry_falls_after_the_start_expires_at_once(make_app):
    channel = Flaky([])
    config = {"NOTIFICATIONS_CHANNELS": ["sms"], "NOTIFICATIONS_RETRY_BASE_SECONDS": 600}
    app = make_app(plugins=["notifications"], config=config, extra_plugins=[sms_plugin(channel)])
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(minutes=20, seconds=30))
        factory.consultation(author=doctor, slot=slot, patient=factory.patient(phone="+79210001122"))
        [reminder] = notifications(event="reminder")
        # The provider fails; the next try comes 10 minutes later, before the start: worth it.
        channel.failures = [TemporaryFailure("451 busy")]
        assert service.send(reminder.id, now=reminder.next_attempt_at) == "retry"
        [reminder] = notifications(event="reminder")
        assert reminder.status == S.PENDING and reminder.next_attempt_at < slot.starts_at
        # It fails again: the next try would wait 20 minutes, after the start.
        channel.failures = [TemporaryFailure("451 still busy")]
        assert service.send(reminder.id, now=reminder.next_attempt_at) == "expired"
        [reminder] = notifications(event="reminder")
        assert reminder.status == S.EXPIRED and reminder.last_error == "TemporaryFailure: 451 still busy"
        assert [m.key for m in channel.delivered] == [f"registered:{reminder.consultation_id}:sms"]


# --------------------------------------------------------------------------- the organisation's switch


def booked_in_two_organisations(factory, first: str, second: str):
    """A consultation in three hours with a reminder pending in each of two
    organisations, for the patients ``first`` and ``second`` (e-mail); returns the
    organisations, the first's doctor, and the later of the two starts."""
    organisations = factory.organisation(f"Поликлиника {first}"), factory.organisation(f"Поликлиника {second}")
    starts_in = timedelta(hours=3)
    doctors = []
    for organisation, email in zip(organisations, (first, second)):
        doctor = factory.doctor(organisation)
        slot = exact_slot(doctor, starts_in)
        factory.consultation(author=doctor, slot=slot, email=email)
        doctors.append(doctor)
    return organisations, doctors[0], slot.starts_at


def sweep_at_reminder_time(app, starts_at) -> dict[str, str]:
    """The periodic task, run as beat would once the reminders are due: {recipient: state}."""
    from core.tasks import run_inprocess

    run_inprocess(app, "notifications.send_due", {"now": (starts_at - timedelta(minutes=14)).isoformat()})
    return {r.recipient: r.status for r in notifications(event="reminder")}


def reminded(app) -> list[str]:
    return [m["To"] for m in outbox(app) if m["Subject"].startswith("Напоминание")]


def test_an_organisation_that_switched_notifications_off_gets_none(app, factory):
    (quiet, _loud), quiet_doctor, starts_at = booked_in_two_organisations(factory, "quiet@example.ru", "loud@example.ru")
    db.session.add(PluginState(plugin="notifications", organisation_id=quiet.id, enabled=False))
    db.session.commit()
    # The sweep has no viewer: the switch of each reminder's organisation decides.
    assert sweep_at_reminder_time(app, starts_at) == {"quiet@example.ru": S.SKIPPED, "loud@example.ru": S.SENT}
    assert reminded(app) == ["loud@example.ru"]
    # A booking made outside a request (the API, a script) while it is off: nothing at all.
    factory.consultation(author=quiet_doctor, email="quiet-later@example.ru")
    assert notifications(recipient="quiet-later@example.ru") == []
    assert "quiet-later@example.ru" not in [m["To"] for m in outbox(app)]


def test_an_organisation_keeps_notifications_on_when_the_deployment_switches_them_off(app, factory):
    (keen, _other), _doctor, starts_at = booked_in_two_organisations(factory, "keen@example.ru", "other@example.ru")
    db.session.add(PluginState(plugin="notifications", organisation_id=None, enabled=False))
    db.session.add(PluginState(plugin="notifications", organisation_id=keen.id, enabled=True))
    db.session.commit()
    # The sweep runs (one organisation has the plugin on) and sends that one's reminder only.
    assert sweep_at_reminder_time(app, starts_at) == {"keen@example.ru": S.SENT, "other@example.ru": S.SKIPPED}
    assert reminded(app) == ["keen@example.ru"]


# --------------------------------------------------------------------------- the sweep's dispatch lease


def test_the_sweep_hands_a_due_row_to_one_task_until_the_dispatch_lease_ends(make_app):
    channel = Flaky([])
    config = {"NOTIFICATIONS_DISPATCH_LEASE_SECONDS": 120, "NOTIFICATIONS_CHANNELS": ["sms"]}
    app = make_app(plugins=["notifications"], config=config, extra_plugins=[sms_plugin(channel)])
    handed: list[int] = []

    def queue(name, kwargs, organisation_id=None):  # a broker whose workers are busy elsewhere: tasks wait
        handed.append(kwargs["notification_id"])

    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(hours=3))
        factory.consultation(author=doctor, slot=slot, patient=factory.patient(phone="+79210001122"))
        [reminder] = notifications(event="reminder")
        app.extensions["teleconsult.task_backend"] = queue
        due = reminder.next_attempt_at
        assert service.send_due(now=due) == 1
        assert service.send_due(now=due + timedelta(seconds=30)) == 0
        assert service.send_due(now=due + timedelta(seconds=119)) == 0
        assert handed == [reminder.id]
        # The task was lost: after the lease another one is handed out.
        assert service.send_due(now=due + timedelta(seconds=121)) == 1
        assert handed == [reminder.id, reminder.id]

        # A task claims the row and fails: its retry is handed out when due, lease or not.
        channel.failures = [TemporaryFailure("451 busy")]
        assert service.send(reminder.id, now=due + timedelta(seconds=122)) == "retry"
        [reminder] = notifications(event="reminder")
        assert reminder.dispatched_at is None and reminder.status == S.PENDING
        assert service.send_due(now=reminder.next_attempt_at) == 1
        assert handed == [reminder.id] * 3


def test_a_notification_sent_at_once_is_not_handed_out_again_by_the_sweep(make_app):
    app = make_app(plugins=["notifications"])
    handed: list[str] = []
    with app.app_context():
        app.extensions["teleconsult.task_backend"] = lambda name, kwargs, organisation_id=None: handed.append(name)
        Factory(app).consultation()
        [row] = notifications(event="registered")
        assert row.status == S.PENDING and row.dispatched_at is not None
        assert handed == ["notifications.send"]  # after the commit
        assert service.send_due() == 0
        assert handed == ["notifications.send"]


# --------------------------------------------------------------------------- time zone


def test_times_are_in_the_deployments_time_zone(make_app):
    config = {"BABEL_DEFAULT_TIMEZONE": "Asia/Yekaterinburg", "NOTIFICATIONS_CHANNELS": ["email", "sms"]}
    channel = Flaky([])
    app = make_app(plugins=["notifications"], config=config, extra_plugins=[sms_plugin(channel)])
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(hours=3))
        factory.consultation(author=doctor, slot=slot, patient=factory.patient(phone="+79220001122"))
        from zoneinfo import ZoneInfo

        from babel.dates import format_date

        local = slot.starts_at.astimezone(ZoneInfo("Asia/Yekaterinburg"))
        day, clock = format_date(local.date(), "d MMMM y", locale="ru"), local.strftime("%H:%M")
        assert clock != moscow_text(slot.starts_at)[1]
        [mail] = [m for m in outbox(app) if "зарегистрирована" in m["Subject"]]
        assert f"Дата и время: {day}, {clock} (местное время, МСК+2)" in text_of(mail)
        [sms] = channel.delivered
        assert f"{day}, {clock} (МСК+2)." in sms.text
        [reminder] = notifications(event="reminder", channel="email")
        assert reminder.subject == f"Напоминание: дистанционная консультация в {clock}"


# --------------------------------------------------------------------------- production


def test_production_refuses_in_process_tasks_with_the_notifications_plugin(tmp_path):
    from core.app import create_app
    from core.settings import SettingsError

    settings = {
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/none",
        "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    with pytest.raises(SettingsError, match="TASKS_BACKEND must be 'celery'"):
        create_app({**settings, "TASKS_BACKEND": "inprocess"}, environment="production", plugins=["notifications"])
    app = create_app({**settings, "TASKS_BACKEND": "celery"}, environment="production", plugins=["notifications"])
    assert "celery" in app.extensions
    # Without the plugin nothing needs a worker.
    create_app({**settings, "TASKS_BACKEND": "inprocess"}, environment="production", plugins=[])
