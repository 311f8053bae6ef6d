"""Notifications as database rows, and the one way they are sent (SPEC F3).

Creating
    A lifecycle hook adds one ``Notification`` row per event and channel, inside the
    transaction that made the change (a rolled back booking notifies nobody). The row's
    ``key`` is unique: ``registered:42:email``, ``reminder:42:<start>:email``... Asking
    twice for the same key adds nothing, so a hook that fires twice, or a booking that
    is moved, never produces a second "application registered" message. The text is
    rendered when the row is made, so the operator sees exactly what goes out.

Sending
    ``send(id)`` *claims* the row first, in its own committed transaction: an UPDATE
    that moves it from ``pending`` (and due) to ``sending`` with a random claim token
    and a lease (``NOTIFICATIONS_SEND_LEASE_SECONDS``). Only one worker's UPDATE can
    match, so two deliveries of the same Celery message, two workers or the sweep
    racing a fresh task send once. After the channel accepted the message the row
    becomes ``sent`` (only if the claim token is still ours). A temporary failure puts
    it back to ``pending`` with exponential backoff; a permanent one, or too many
    attempts, makes it ``failed``: the operator sees it in the console and may send it
    again.

    ``send_due`` (a periodic task: Celery beat, or the in-process runner) picks up rows
    whose time has come: reminders (no far-future ETA messages), retries, and rows whose
    lease ran out because their worker died. It also catches rows whose first task was
    lost (broker unreachable at commit time).

The guarantee, honestly
    Every notification is sent, or ends ``failed`` in front of the operator. It is sent
    at most once by our side: one claim at a time, the result recorded only with the
    claim's token. What no SMTP client can rule out (RFC 1047) is a worker dying after
    the server took the message but before the ``sent`` commit: the server's final
    reply, or our commit, never happened. After the lease expires the message is sent
    again, with the *same* ``Message-ID`` (derived from the key), so the copy is
    recognisable as the same message and mail clients that deduplicate by Message-ID
    show it once. A worker killed while connecting or transferring causes no copy (the
    transaction is incomplete); one killed while waiting for the final reply causes none
    with a server that drops a transaction it did not confirm (as the test server does),
    and one copy with a server that had already queued it. The local outbox (embedded
    default) is exactly once: a repeat overwrites the same file.

    A worker that is alive but slow does not overlap with the one that takes over: it
    begins the DATA transfer only while its lease has at least two SMTP timeouts left
    (``OutgoingMessage.deadline``), so it finishes or gives up before the lease ends.
    This assumes the workers' clocks agree (NTP) and a lease of more than three SMTP
    timeouts (production refuses less).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from core import audit
from core.db import db, utcnow
from core.models import Consultation
from core.plugins import hooks
from core.tasks import dispatch, enqueue
from plugins.notifications.channels import (
    NotificationChannel,
    OutgoingMessage,
    PermanentFailure,
)
from plugins.notifications.messages import render
from plugins.notifications.models import Notification, NotificationEvent as E, NotificationStatus as S

log = logging.getLogger(__name__)

SEND_TASK = "notifications.send"


# --------------------------------------------------------------------------- channels


def channels() -> dict[str, NotificationChannel]:
    """The channels in use, by code; a later plugin's channel replaces an earlier one."""
    app = current_app._get_current_object()
    wanted = set(app.config["NOTIFICATIONS_CHANNELS"])
    found: dict[str, NotificationChannel] = {}
    for group in reversed(hooks(app).teleconsult_notification_channels(app=app)):
        for channel in group or ():
            if channel.code in wanted:
                found[channel.code] = channel
    return found


# --------------------------------------------------------------------------- creating


def notify(
    event: str,
    consultation: Consultation,
    *,
    key: str,
    due_at: datetime | None = None,
    starts_at: datetime | None = None,
) -> list[Notification]:
    """Add the notification ``event`` for every channel that reaches the patient.

    ``key`` identifies the event (``registered:42``); the channel code is appended. Rows
    due now are sent after the commit; later ones wait for ``send_due``.
    """
    made = []
    now = utcnow()
    for code, channel in channels().items():
        address = channel.address_for(consultation)
        if not address:
            continue
        full_key = f"{key}:{code}"
        if db.session.scalar(sa.select(Notification.id).where(Notification.key == full_key)):
            continue
        message = render(event, code, consultation, starts_at, due_at or now)
        notification = Notification(
            key=full_key,
            event=event,
            channel=code,
            consultation_id=consultation.id,
            recipient=address,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            status=S.PENDING,
            next_attempt_at=due_at or now,
        )
        # The unique key also stops a concurrent request; the consultation's version
        # column already refuses two concurrent changes of one consultation.
        db.session.add(notification)
        db.session.flush()
        made.append(notification)
        if notification.next_attempt_at <= now:
            enqueue(SEND_TASK, notification_id=notification.id)
    return made


def cancel_pending(consultation_id: int, event: str) -> int:
    """Cancel what was not sent yet (a reminder of a moved or closed consultation)."""
    result = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.consultation_id == consultation_id,
            Notification.event == event,
            Notification.status.in_([S.PENDING, S.FAILED]),
        )
        .values(status=S.CANCELLED, updated_at=utcnow())
    )
    return result.rowcount


def on_scheduled(consultation: Consultation) -> None:
    """Registered (first booking) or moved (a later one); the reminder follows the slot."""
    starts_at = consultation.scheduled_at
    stamp = starts_at.strftime("%Y%m%dT%H%MZ")
    already = db.session.scalar(
        sa.select(Notification.id).where(
            Notification.consultation_id == consultation.id, Notification.event == E.REGISTERED
        )
    )
    if already:
        notify(E.RESCHEDULED, consultation, key=f"rescheduled:{consultation.id}:{stamp}")
    else:
        notify(E.REGISTERED, consultation, key=f"registered:{consultation.id}")
    cancel_pending(consultation.id, E.REMINDER)
    lead = timedelta(minutes=current_app.config["NOTIFICATIONS_REMINDER_MINUTES"])
    remind_at = starts_at - lead
    if lead and remind_at > utcnow():  # booked at short notice: the first message will do
        notify(
            E.REMINDER,
            consultation,
            key=f"reminder:{consultation.id}:{stamp}",
            due_at=remind_at,
            starts_at=starts_at,
        )


def on_completed(consultation: Consultation, outcome: str) -> None:
    cancel_pending(consultation.id, E.REMINDER)
    if outcome == "no_conclusion":
        notify(E.COMPLETED_WITHOUT_CONCLUSION, consultation, key=f"completed:{consultation.id}")
    elif consultation.conclusion_document_id is not None:
        notify(E.CONCLUSION_READY, consultation, key=f"completed:{consultation.id}")


# --------------------------------------------------------------------------- sending


def _settings() -> dict[str, Any]:
    return current_app.config


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2×base, 4×base... up to the cap."""
    base = float(_settings()["NOTIFICATIONS_RETRY_BASE_SECONDS"])
    cap = float(_settings()["NOTIFICATIONS_RETRY_MAX_SECONDS"])
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def _claimable(now: datetime):
    return sa.or_(
        sa.and_(Notification.status == S.PENDING, Notification.next_attempt_at <= now),
        sa.and_(Notification.status == S.SENDING, Notification.lease_until < now),
    )


def claim(notification_id: int, now: datetime) -> str | None:
    """Take the row for sending; returns the claim token, or None if it is not ours."""
    token = uuid.uuid4().hex
    lease = timedelta(seconds=float(_settings()["NOTIFICATIONS_SEND_LEASE_SECONDS"]))
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, _claimable(now))
        .values(
            status=S.SENDING,
            claim_token=token,
            lease_until=now + lease,
            attempts=Notification.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


def _finish(notification_id: int, token: str, **values: Any) -> bool:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.claim_token == token)
        .values(lease_until=None, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("notification %s: lease lost before the result was recorded", notification_id)
    return result.rowcount == 1


def send(notification_id: int, now: datetime | None = None) -> str:
    """Send one notification if it is due and nobody else is sending it.

    Returns what happened: ``sent``, ``retry``, ``failed``, ``cancelled`` or ``skipped``.
    """
    now = now or utcnow()
    token = claim(notification_id, now)
    if token is None:
        return "skipped"
    notification = db.session.get(Notification, notification_id, populate_existing=True)
    consultation = notification.consultation
    if notification.event == E.REMINDER and (consultation is None or consultation.is_closed):
        _finish(notification_id, token, status=S.CANCELLED)
        return "cancelled"
    channel = channels().get(notification.channel)
    message = OutgoingMessage(
        key=notification.key,
        recipient=notification.recipient,
        subject=notification.subject,
        text=notification.body_text,
        html=notification.body_html,
        # The lease ends at lease_until; the last exchanges with the server must fit before.
        deadline=notification.lease_until - timedelta(seconds=2 * float(_settings()["NOTIFICATIONS_SMTP_TIMEOUT"])),
    )
    attempts = notification.attempts
    try:
        if channel is None:
            raise PermanentFailure(f"channel {notification.channel!r} is not available")
        channel.deliver(message)
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        permanent = isinstance(error, PermanentFailure)
        exhausted = attempts >= int(_settings()["NOTIFICATIONS_MAX_ATTEMPTS"])
        text = f"{type(error).__name__}: {error}"[:2000]
        if permanent or exhausted:
            log.error("notification %s failed for good: %s", notification.key, text)
            _finish(notification_id, token, status=S.FAILED, last_error=text)
            return "failed"
        log.warning("notification %s failed (attempt %s), will retry: %s", notification.key, attempts, text)
        _finish(
            notification_id,
            token,
            status=S.PENDING,
            last_error=text,
            next_attempt_at=utcnow() + backoff(attempts),
            claim_token=None,
        )
        return "retry"
    _finish(notification_id, token, status=S.SENT, sent_at=utcnow())
    log.info("notification %s sent (attempt %s)", notification.key, attempts)
    return "sent"


def due_ids(now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Notification.id)
            .where(_claimable(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )


def send_due(now: datetime | None = None) -> int:
    """Hand every due notification to a worker (or send it here, in-process)."""
    now = now or utcnow()
    ids = due_ids(now)
    db.session.commit()
    app = current_app._get_current_object()
    for notification_id in ids:
        dispatch(app, SEND_TASK, {"notification_id": notification_id, "now": now.isoformat()})
    return len(ids)


def retry_now(notification: Notification) -> bool:
    """The operator sends a failed notification again."""
    if notification.status != S.FAILED:
        return False
    notification.status = S.PENDING
    notification.attempts = 0
    notification.next_attempt_at = utcnow()
    notification.claim_token = None
    audit.record(
        "notification.retried",
        notification,
        consultation_id=notification.consultation_id,
        data={"key": notification.key, "last_error": notification.last_error},
    )
    enqueue(SEND_TASK, notification_id=notification.id)
    return True
