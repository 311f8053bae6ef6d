"""Celery tasks of the notifications plugin (run in-process on the embedded default)."""

from __future__ import annotations

from datetime import datetime

from core.tasks import TaskSpec
from plugins.notifications import service


def send(notification_id: int, now: str | None = None) -> str:
    """Send one notification; safe to run any number of times."""
    return service.send(notification_id, datetime.fromisoformat(now) if now else None)


def send_due(now: str | None = None) -> int:
    """Pick up reminders, retries and abandoned sends whose time has come.

    ``now`` (ISO 8601 with a zone) moves the clock: an operator catching up after an
    outage, or a test making a reminder's time come without waiting for it.
    """
    return service.send_due(datetime.fromisoformat(now) if now else None)


TASKS = [
    TaskSpec("notifications.send", send),
    TaskSpec("notifications.send_due", send_due, every="NOTIFICATIONS_SWEEP_SECONDS"),
]
