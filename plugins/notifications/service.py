"""Notifications as database rows, and the one way they are sent (SPEC F3).

Creating
    A lifecycle hook adds one ``Notification`` row per event and channel, inside the
    transaction that made the change (a rolled back booking notifies nobody). The row's
    ``key`` is unique: ``registered:42:email``, ``reminder:42:v3:<start>:email``...
    Asking twice for the same key adds nothing, so a hook that fires twice never
    produces a second message. A booking is known by the consultation's version (it
    changes with every move), so a consultation moved back to a time it had before gets
    a new "time changed" message and a new reminder. The text is rendered when the row
    is made, so the operator sees exactly what goes out.

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

    Before sending, a row is checked against what changed since it was made: a
    reminder of a closed consultation is ``cancelled``; one whose consultation has
    begun (``expires_at``: the start plus ``NOTIFICATIONS_REMINDER_GRACE_MINUTES``),
    held up by retries, an outage or the plugin switched off meanwhile, is ``expired``;
    a notification of an organisation that switched the plugin off is ``skipped``. The
    operator sees each of these states in the console.

    ``send_due`` (a periodic task: Celery beat, or the in-process runner) picks up rows
    whose time has come: reminders (no far-future ETA messages), retries, and rows whose
    lease ran out because their worker died. It also catches rows whose first task was
    lost (broker unreachable at commit time). A row handed to a task is stamped
    ``dispatched_at`` and handed over again only when no task claimed it within
    ``NOTIFICATIONS_DISPATCH_LEASE_SECONDS``, so a queue that is slow to drain is not
    flooded with copies of the same task on every sweep.

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
from core.plugins import LiveHooks, is_enabled, plugin_manager
from core.tasks import dispatch, enqueue
from plugins.notifications.channels import (
    NotificationChannel,
    OutgoingMessage,
    PermanentFailure,
)
from plugins.notifications.messages import render
from plugins.notifications.models import Notification, NotificationEvent as E, NotificationStatus as S

log = logging.getLogger(__name__)

PLUGIN = "notifications"
SEND_TASK = "notifications.send"
SCHEDULE_NOTICES = (E.REGISTERED, E.RESCHEDULED)


def enabled_for(organisation_id: int | None, plugin: str = PLUGIN) -> bool:
    """Whether ``plugin`` is on for the organisation a notification belongs to. A worker
    or the sweep has no viewer whose organisation the switches could follow."""
    return is_enabled(plugin, organisation_id=organisation_id)


# --------------------------------------------------------------------------- channels


def channels(organisation_id: int | None) -> dict[str, NotificationChannel]:
    """The channels in use for an organisation's patients, by code; a later plugin's
    channel replaces an earlier one (a provider plugin that organisation switched off
    does not)."""
    app = current_app._get_current_object()
    pm = plugin_manager(app)
    wanted = set(app.config["NOTIFICATIONS_CHANNELS"])
    found: dict[str, NotificationChannel] = {}
    off = frozenset(name for name in pm.optional_plugins() if not enabled_for(organisation_id, name))
    for group in reversed(LiveHooks(pm, off).teleconsult_register_notification_channels(app=app)):
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
    expires_at: datetime | None = None,
) -> list[Notification]:
    """Add the notification ``event`` for every channel that reaches the patient.

    ``key`` identifies the event (``registered:42``); the channel code is appended. Rows
    due now are sent after the commit; later ones wait for ``send_due``. ``starts_at``:
    the start the message speaks of (the consultation's current one by default);
    ``expires_at``: not sent after this moment.
    """
    made = []
    now = utcnow()
    starts_at = starts_at or consultation.scheduled_at
    for code, channel in channels(consultation.organisation_id).items():
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
            starts_at=starts_at,
            expires_at=expires_at,
        )
        # The unique key also stops a concurrent request; the consultation's version
        # column already refuses two concurrent changes of one consultation.
        db.session.add(notification)
        db.session.flush()
        made.append(notification)
        if notification.next_attempt_at <= now:
            notification.dispatched_at = now
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


def _latest_notice(consultation_id: int) -> Notification | None:
    return db.session.scalar(
        sa.select(Notification)
        .where(Notification.consultation_id == consultation_id, Notification.event.in_(SCHEDULE_NOTICES))
        .order_by(Notification.id.desc())
        .limit(1)
    )


def _reminder_planned(consultation_id: int, starts_at: datetime) -> bool:
    """A reminder of this very start exists and was not cancelled (it is waiting, has
    gone out, or failed in front of the operator): the hook fired again for the same
    booking."""
    return db.session.scalar(
        sa.select(Notification.id)
        .where(
            Notification.consultation_id == consultation_id,
            Notification.event == E.REMINDER,
            Notification.starts_at == starts_at,
            Notification.status != S.CANCELLED,
        )
        .limit(1)
    ) is not None


def on_scheduled(consultation: Consultation) -> None:
    """Registered (first booking) or moved (a later one); the reminder follows the slot.

    A booking is identified by the consultation's version, which changes with every
    move: moving A→B→A sends "time changed" twice and plans a new reminder for A, while
    the hook firing twice for the same booking adds nothing.
    """
    starts_at = consultation.scheduled_at
    stamp = starts_at.strftime("%Y%m%dT%H%MZ")
    booking = f"{consultation.id}:v{consultation.version}:{stamp}"
    latest = _latest_notice(consultation.id)
    if latest is None:
        notify(E.REGISTERED, consultation, key=f"registered:{consultation.id}")
    elif latest.starts_at != starts_at:
        notify(E.RESCHEDULED, consultation, key=f"rescheduled:{booking}")
    if _reminder_planned(consultation.id, starts_at):
        return
    cancel_pending(consultation.id, E.REMINDER)
    lead = timedelta(minutes=current_app.config["NOTIFICATIONS_REMINDER_MINUTES"])
    remind_at = starts_at - lead
    if lead and remind_at > utcnow():  # booked at short notice: the first message will do
        grace = timedelta(minutes=float(current_app.config["NOTIFICATIONS_REMINDER_GRACE_MINUTES"]))
        notify(
            E.REMINDER,
            consultation,
            key=f"reminder:{booking}",
            due_at=remind_at,
            starts_at=starts_at,
            expires_at=starts_at + grace,
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
    """Take the row for sending; returns the claim token, or None if it is not ours.

    The claim also ends the sweep's dispatch lease: the task it handed out has arrived."""
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
            dispatched_at=None,
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

    Returns what happened: ``sent``, ``retry``, ``failed``, ``cancelled``, ``expired``,
    ``switched_off`` (the row is marked ``skipped``) or ``skipped`` (not due, or another
    worker has it).
    """
    now = now or utcnow()
    token = claim(notification_id, now)
    if token is None:
        return "skipped"
    # ``now`` may be ahead of the clock (a sweep catching up, a test) or behind it (a
    # task that waited in the queue): the later of the two is when this attempt happens.
    clock = max(now, utcnow())
    notification = db.session.get(Notification, notification_id, populate_existing=True)
    consultation = notification.consultation
    if notification.event == E.REMINDER and (consultation is None or consultation.is_closed):
        _finish(notification_id, token, status=S.CANCELLED)
        return "cancelled"
    if notification.expires_at is not None and clock >= notification.expires_at:
        log.info("notification %s expired unsent at %s", notification.key, notification.expires_at.isoformat())
        _finish(notification_id, token, status=S.EXPIRED)
        return "expired"
    organisation_id = consultation.organisation_id if consultation is not None else None
    if not enabled_for(organisation_id):
        log.info("notification %s skipped: the plugin is off for its organisation", notification.key)
        _finish(notification_id, token, status=S.SKIPPED)
        return "switched_off"
    channel = channels(organisation_id).get(notification.channel)
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
        next_at = clock + backoff(attempts)
        if notification.expires_at is not None and next_at >= notification.expires_at:
            log.warning("notification %s failed and expires before another attempt: %s", notification.key, text)
            _finish(notification_id, token, status=S.EXPIRED, last_error=text)
            return "expired"
        log.warning("notification %s failed (attempt %s), will retry: %s", notification.key, attempts, text)
        _finish(
            notification_id,
            token,
            status=S.PENDING,
            last_error=text,
            next_attempt_at=next_at,
            claim_token=None,
        )
        return "retry"
    _finish(notification_id, token, status=S.SENT, sent_at=utcnow())
    log.info("notification %s sent (attempt %s)", notification.key, attempts)
    return "sent"


def _not_dispatched(now: datetime):
    lease = timedelta(seconds=float(_settings()["NOTIFICATIONS_DISPATCH_LEASE_SECONDS"]))
    return sa.or_(Notification.dispatched_at.is_(None), Notification.dispatched_at <= now - lease)


def due_ids(now: datetime, limit: int = 200) -> list[int]:
    """Rows whose time has come and that no task handed out recently is on its way to."""
    return list(
        db.session.scalars(
            sa.select(Notification.id)
            .where(_claimable(now), _not_dispatched(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )


def send_due(now: datetime | None = None) -> int:
    """Hand every due notification to a worker (or send it here, in-process)."""
    now = now or utcnow()
    ids = due_ids(now)
    if ids:
        # Stamped before the tasks exist: a sweep that dies between the two only delays
        # the rows by one dispatch lease, and no second sweep hands them out meanwhile.
        result = db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(ids), _not_dispatched(now))
            .values(dispatched_at=now)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        stamped = set(result.scalars())
        ids = [notification_id for notification_id in ids if notification_id in stamped]
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
    notification.dispatched_at = notification.next_attempt_at
    notification.claim_token = None
    audit.record(
        "notification.retried",
        notification,
        consultation_id=notification.consultation_id,
        data={"key": notification.key, "last_error": notification.last_error},
    )
    enqueue(SEND_TASK, notification_id=notification.id)
    return True
