"""Notifications on a real Celery worker process, a real Redis broker and a local SMTP
server (SPEC F3). Marked ``service``: they run in CI and wherever Redis is reachable."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.db import db
from core.testing import Factory, postgres_admin_url
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import exact_slot, header, html_of, moscow_text, notifications, reason, text_of
from tests.notifications.services import (
    SmtpServer,
    Worker,
    celery_settings,
    delete_amqp_queue,
    rabbitmq_or_skip,
    redis_or_skip,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.service


@pytest.fixture
def database_backend():
    """One database per run for these slower tests: PostgreSQL, the production one, when
    the suite has it; the database logic itself runs on both in test_inprocess.py."""
    return "postgresql" if postgres_admin_url() else "sqlite"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def queue():
    """A queue of this test alone, emptied afterwards (Redis database 6 is ours)."""
    import redis

    url = redis_or_skip()
    name = f"teleconsult-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"*{name}*"):
        client.delete(key)
    client.delete("unacked", "unacked_index")  # kombu's bookkeeping of unacknowledged messages


@pytest.fixture
def celery_app(make_app, smtp, queue):
    def build(**extra):
        settings = celery_settings(redis_or_skip(), smtp, queue, **extra)
        app = make_app(plugins=["notifications"], config=settings)
        app.test_settings = settings
        return app

    return build


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(app, concurrency: int = 2) -> Worker:
        log = tmp_path / f"worker{len(started)}.log"
        worker = Worker(worker_env(app, app.test_settings), log, concurrency=concurrency)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(graceful=False)


def all_sent(app, count: int):
    def check() -> bool:
        with app.app_context():
            rows = notifications()
            return len(rows) == count and all(r.status == S.SENT for r in rows)

    return check


def test_messages_arrive_by_smtp_with_the_right_russian_text(celery_app, workers, smtp):
    app = celery_app(NOTIFICATIONS_REMINDER_MINUTES=0)
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor(specialty="кардиолог", last_name="Сердцева", first_name="Анна", middle_name="Павловна")
        first = factory.consultation(author=doctor, email="ivanova@example.ru", comment="Подготовьте ЭКГ")
        second = factory.consultation(author=doctor, email="petrov@example.ru")
        # The same task delivered three more times (a redelivery, a retry by hand...).
        from core.tasks import enqueue

        for _ in range(3):
            enqueue("notifications.send", notification_id=notifications(recipient="ivanova@example.ru")[0].id)
        db.session.commit()
        worker = workers(app)
        wait_for(lambda: len(smtp.handler.messages()) == 2, message="two registration e-mails")

        [mail] = smtp.handler.messages("ivanova@example.ru")
        assert mail["Subject"] == "Заявка на дистанционную консультацию зарегистрирована"
        assert header(mail, "From") == "Дистанционные консультации <noreply@teleconsult.local>"
        day, clock = moscow_text(first.scheduled_at)
        text = text_of(mail)
        assert f"Дата и время: {day}, {clock} (время московское)" in text
        assert "Врач-консультант: Сердцева Анна Павловна, кардиолог" in text
        assert "Комментарий врача: Подготовьте ЭКГ" in text
        assert "Подготовьте ЭКГ" in html_of(mail)
        assert "Комментарий врача" not in text_of(smtp.handler.messages("petrov@example.ru")[0])

        from core import lifecycle
        from core.access import principal_for_user
        from core.models import Outcome

        why = reason()
        lifecycle.complete(second, Outcome.NO_CONCLUSION, principal_for_user(doctor), reason=why)
        db.session.commit()
        wait_for(lambda: len(smtp.handler.messages("petrov@example.ru")) == 2, message="the completion e-mail")
        closing = smtp.handler.messages("petrov@example.ru")[1]
        assert closing["Subject"] == "Дистанционная консультация завершена без заключения"
        assert f"Причина: {why.name}" in text_of(closing)
        wait_for(all_sent(app, 3), message="rows marked sent")
        worker.stop()  # the duplicate tasks have run (and sent nothing) or never will
        assert len(smtp.handler.messages("ivanova@example.ru")) == 1


def test_a_worker_killed_during_a_send_leaves_every_message_delivered_once(celery_app, workers, smtp):
    """SIGKILL lands while the worker has transferred a message and waits for the server's
    reply, and more messages wait in the queue. (A kill in the instant between the
    server's "250" and the worker's commit would cause a second copy with the same
    Message-ID: the limit every SMTP client has, see plugins.notifications.service.)"""
    app = celery_app(NOTIFICATIONS_REMINDER_MINUTES=0)
    smtp.handler.stall.add("stalled@example.ru")
    first = workers(app, concurrency=1)  # busy with the stalled send, it takes nothing else
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        factory.consultation(author=doctor, email="stalled@example.ru")
        wait_for(smtp.handler.stalled.is_set, message="the worker to be in the middle of a send")
        for n in range(3):
            factory.consultation(author=doctor, email=f"patient{n}@example.ru")
        first.kill()
        wait_for(lambda: smtp.handler.aborted == ["stalled@example.ru"], message="the server to see the client vanish")
        # The claimed row is left "sending" by the dead worker.
        assert [r.status for r in notifications(recipient="stalled@example.ru")] == [S.SENDING]

        second = workers(app)
        wait_for(all_sent(app, 4), 60, "every notification to be sent")
        second.stop()  # nothing still in flight can add a copy after this point

        counts = smtp.handler.count_by_message_id()
        assert sorted(counts.values()) == [1, 1, 1, 1], counts
        recipients = sorted(r.recipient for r in smtp.handler.received)
        assert recipients == ["patient0@example.ru", "patient1@example.ru", "patient2@example.ru", "stalled@example.ru"]
        # The copy that got through is the same message the dead worker had begun to send.
        assert smtp.handler.messages("stalled@example.ru")[0]["Message-ID"] == smtp.handler.stalled_message_id
        [row] = notifications(recipient="stalled@example.ru")
        assert row.attempts == 2


def test_a_pool_process_killed_mid_send_gives_its_task_back_and_the_message_goes_out_once(celery_app, workers, smtp):
    """Only the pool process running the send is killed (the OOM killer's way); the
    worker lives on. ``task_reject_on_worker_lost`` puts the task back in the queue
    instead of acknowledging it as failed: it is delivered again (same task id), finds
    the row still leased to the dead process and leaves it; once the lease ends the
    sweep sends it, and the server holds one copy, with the Message-ID the dead
    process had begun to send."""
    import os
    import re
    import signal

    app = celery_app(NOTIFICATIONS_REMINDER_MINUTES=0)
    smtp.handler.stall.add("stalled@example.ru")
    worker = workers(app, concurrency=1)
    with app.app_context():
        Factory(app).consultation(email="stalled@example.ru")
        wait_for(smtp.handler.stalled.is_set, message="the pool process to be in the middle of a send")
        sender = worker.process_connected_to(smtp.port)
        assert sender != worker.process.pid
        os.kill(sender, signal.SIGKILL)
        wait_for(lambda: smtp.handler.aborted == ["stalled@example.ru"], message="the server to see the client vanish")
        wait_for(all_sent(app, 1), 60, "the notification to be sent")
        assert worker.process.poll() is None, "the worker itself must survive its pool process"
        worker.stop()

        counts = smtp.handler.count_by_message_id()
        assert list(counts.values()) == [1], counts
        assert smtp.handler.messages("stalled@example.ru")[0]["Message-ID"] == smtp.handler.stalled_message_id
        [row] = notifications(recipient="stalled@example.ru")
        assert row.attempts == 2
        log = worker.log_text()
        assert "WorkerLostError" in log or "exited with 'signal 9" in log
        received = re.findall(r"Task notifications\.send\[([0-9a-f-]+)\] received", log)
        redelivered = [task for task in set(received) if received.count(task) > 1]
        assert redelivered, "the killed process's task must come back from the broker:\n" + log[-3000:]


def test_a_copy_sent_again_after_a_lost_final_reply_keeps_its_message_id(celery_app, workers, smtp):
    """The server took the message, but its "250" never reached the worker (the SMTP
    limit of RFC 1047): the worker cannot tell, times out and sends again. The copy is
    the same message: same Message-ID, same text, so mail clients show it once."""
    app = celery_app(NOTIFICATIONS_REMINDER_MINUTES=0)
    smtp.handler.lose_reply.add("ivanova@example.ru")
    workers(app)
    with app.app_context():
        Factory(app).consultation(email="ivanova@example.ru")
        wait_for(lambda: len(smtp.handler.messages("ivanova@example.ru")) == 2, 60, "the copy")
        wait_for(all_sent(app, 1), 30, "the row marked sent")
        first, copy = smtp.handler.messages("ivanova@example.ru")
        assert first["Message-ID"] == copy["Message-ID"] == smtp.handler.stalled_message_id
        assert text_of(first) == text_of(copy) and first["Subject"] == copy["Subject"]
        [row] = notifications(recipient="ivanova@example.ru")
        assert row.attempts == 2 and "timed out" in (row.last_error or "")


def test_the_reminder_goes_out_at_its_time(celery_app, workers, smtp):
    """The reminder is a row picked up by beat once due: here 15 minutes before a
    consultation that starts in 15 minutes and 3 seconds."""
    app = celery_app()
    workers(app)
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor()
        slot = exact_slot(doctor, timedelta(minutes=15, seconds=3))
        factory.consultation(author=doctor, slot=slot, email="ivanova@example.ru")
        [reminder_row] = notifications(event="reminder")
        due = reminder_row.next_attempt_at
        assert due == slot.starts_at - timedelta(minutes=15)
        wait_for(lambda: len(smtp.handler.messages("ivanova@example.ru")) == 2, 30, "the reminder")
        registered, reminder = sorted(
            (r for r in smtp.handler.received), key=lambda r: r.at
        )
        assert registered.message["Subject"] == "Заявка на дистанционную консультацию зарегистрирована"
        _day, clock = moscow_text(slot.starts_at)
        assert reminder.message["Subject"] == f"Напоминание: дистанционная консультация в {clock}"
        assert reminder.at >= due.timestamp(), "the reminder must not go out before its time"


def test_a_failing_smtp_server_is_retried_with_backoff(celery_app, workers, smtp):
    app = celery_app(NOTIFICATIONS_REMINDER_MINUTES=0)
    smtp.handler.refuse["flaky@example.ru"] = ["451 4.3.0 Try again later", "421 4.3.2 Shutting down"]
    smtp.handler.refuse["gone@example.ru"] = ["550 5.1.1 No such mailbox"]
    workers(app)
    with app.app_context():
        factory = Factory(app)
        factory.consultation(email="flaky@example.ru")
        factory.consultation(email="gone@example.ru")
        wait_for(lambda: len(smtp.handler.messages("flaky@example.ru")) == 1, 30, "the third attempt")
        attempts = smtp.handler.attempts["flaky@example.ru"]
        assert len(attempts) == 3
        # Backoff: at least 1 s, then at least 2 s (base 1 s, doubled).
        assert attempts[1] - attempts[0] >= 1.0
        assert attempts[2] - attempts[1] >= 2.0

        def settled():
            rows = {r.recipient: r for r in notifications()}
            return rows["flaky@example.ru"].status == S.SENT and rows["gone@example.ru"].status == S.FAILED

        wait_for(settled, message="both rows to settle")
        rows = {r.recipient: r for r in notifications()}
        assert rows["flaky@example.ru"].attempts == 3
        assert "421" in rows["flaky@example.ru"].last_error
        # A permanent refusal is not retried and waits for the operator.
        assert rows["gone@example.ru"].attempts == 1
        assert "550 5.1.1 No such mailbox" in rows["gone@example.ru"].last_error
        assert len(smtp.handler.attempts["gone@example.ru"]) == 1


def test_rabbitmq_works_as_the_broker_too(make_app, workers, smtp):
    url = rabbitmq_or_skip()
    queue = f"teleconsult-test-{uuid.uuid4().hex[:10]}"
    settings = celery_settings(url, smtp, queue, NOTIFICATIONS_REMINDER_MINUTES=0)
    app = make_app(plugins=["notifications"], config=settings)
    app.test_settings = settings
    try:
        with app.app_context():
            factory = Factory(app)
            factory.consultation(email="ivanova@example.ru")
            workers(app)
            wait_for(lambda: len(smtp.handler.messages("ivanova@example.ru")) == 1, message="the e-mail")
            wait_for(all_sent(app, 1), message="the row marked sent")
    finally:
        delete_amqp_queue(queue)
