"""The task backends of the core (SPEC F3): Celery bound to the app, periodic tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import db, utcnow
from core.settings import SettingsError
from core.tasks import PeriodicRunner, periodic
from core.testing import Factory
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import exact_slot, notifications, outbox


def test_celery_is_configured_so_that_a_lost_worker_loses_nothing(make_app):
    app = make_app(
        plugins=["notifications"],
        config={
            "TASKS_BACKEND": "celery",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6",
            "CELERY_VISIBILITY_TIMEOUT": 1800,
            "NOTIFICATIONS_SWEEP_SECONDS": 20,
        },
    )
    celery = app.extensions["celery"]
    conf = celery.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options == {"visibility_timeout": 1800}
    assert conf.beat_schedule == {
        "notifications.send_due": {"task": "notifications.send_due", "schedule": 20.0}
    }
    assert {"notifications.send", "notifications.send_due"} <= set(celery.tasks)


def test_celery_without_a_broker_refuses_to_start(make_app):
    with pytest.raises(SettingsError, match="CELERY_BROKER_URL"):
        make_app(plugins=["notifications"], config={"TASKS_BACKEND": "celery"})


def test_an_unknown_backend_refuses_to_start(make_app):
    with pytest.raises(SettingsError, match="TASKS_BACKEND"):
        make_app(plugins=["notifications"], config={"TASKS_BACKEND": "threads"})


def test_the_in_process_runner_sends_due_reminders(make_app):
    """The embedded default has no beat: `teleconsult run` starts this runner."""
    app = make_app(plugins=["notifications"], config={"NOTIFICATIONS_SWEEP_SECONDS": 5})
    assert periodic(app) == [("notifications.send_due", 5.0)]
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        factory.consultation(author=doctor, slot=exact_slot(doctor, timedelta(hours=2)))
        [reminder] = notifications(event="reminder")
        reminder.next_attempt_at = utcnow() - timedelta(seconds=1)  # its time has come
        db.session.commit()
        runner = PeriodicRunner(app)
        assert runner.run_due(now=100.0) == ["notifications.send_due"]
        assert runner.run_due(now=104.0) == []  # not again before the interval
        assert notifications(event="reminder")[0].status == S.SENT
        assert any(m["Subject"].startswith("Напоминание") for m in outbox(app))
