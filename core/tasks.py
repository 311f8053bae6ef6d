"""Background tasks: declared by plugins, run in-process or on a Celery worker.

``enqueue`` (or ``enqueue_for(consultation, ...)``, for a task that works for one
consultation) never sends anything before the transaction commits. In the embedded default
(``TASKS_BACKEND = "inprocess"``) the task runs right after the commit in the same process;
with ``"celery"`` it is sent to the broker and a worker runs it inside an app context
(``core.celery_app``; ``teleconsult worker`` and ``teleconsult beat``).

Periodic tasks (``TaskSpec.every``) are run by Celery beat, or in the embedded default by
``PeriodicRunner``, a thread that ``teleconsult run`` and ``teleconsult beat`` start.
Whatever must happen at a time in the future is a database row that a periodic task
picks up, never a far-future ETA message (a broker redelivers those in loops).

Plugin switches: a task enqueued for a consultation runs only while its plugin is on for
the consultation's organisation; any other task (periodic ones included) runs while its
plugin is on anywhere, and checks ``core.plugins.is_enabled(name,
organisation_id=consultation.organisation_id)`` for each consultation it handles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
import threading
import time
from typing import Any

from flask import Flask, current_app

from core.tx import after_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskSpec:
    name: str  # "<plugin>.<task>"
    func: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)  # Celery task options
    # Run periodically: every N seconds, or the name of a setting holding N. None: on demand.
    every: float | str | None = None

    def interval(self, app: Flask) -> float | None:
        if self.every is None:
            return None
        value = app.config[self.every] if isinstance(self.every, str) else self.every
        return float(value)


def registry(app: Flask | None = None) -> dict[str, tuple[str, TaskSpec]]:
    """``{task name: (plugin name, spec)}``."""
    return (app or current_app).extensions["teleconsult.tasks"]


def enqueue(name: str, /, **kwargs: Any) -> None:
    """Run task ``name`` with keyword arguments (JSON-serialisable) after the commit.

    The task runs while its plugin is on for the deployment or for any organisation; a
    task that works for one consultation is enqueued with ``enqueue_for`` instead.
    """
    _enqueue(name, kwargs, None)


def enqueue_for(consultation: Any, name: str, /, **kwargs: Any) -> None:
    """Like ``enqueue``, for a task that works for ``consultation``: it runs only while its
    plugin is switched on for the consultation's organisation when it runs."""
    _enqueue(name, kwargs, consultation.organisation_id)


def _enqueue(name: str, kwargs: dict[str, Any], organisation_id: int | None) -> None:
    app = current_app._get_current_object()
    if name not in registry(app):
        raise LookupError(f"unknown task {name!r}")
    after_commit(lambda: dispatch(app, name, kwargs, organisation_id))


def dispatch(app: Flask, name: str, kwargs: dict[str, Any], organisation_id: int | None = None) -> None:
    backend = app.extensions.get("teleconsult.task_backend")
    if backend is not None:
        backend(name, kwargs, organisation_id)
    else:
        run_inprocess(app, name, kwargs, organisation_id)


def run_inprocess(app: Flask, name: str, kwargs: dict[str, Any], organisation_id: int | None = None) -> Any:
    """Run a task in an app context; ``organisation_id``: the organisation of the
    consultation it works for (``enqueue_for``), whose plugin switch decides."""
    from core.db import db
    from core.plugins import enabled_anywhere, is_enabled

    plugin, spec = registry(app)[name]
    with app.app_context():
        if organisation_id is not None:
            enabled = is_enabled(plugin, app, organisation_id=organisation_id)
        else:
            enabled = enabled_anywhere(plugin, app)
        if not enabled:
            log.info("task %s skipped: plugin %s is switched off", name, plugin)
            return None
        try:
            result = spec.func(**kwargs)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception("task %s failed", name)
            raise


def periodic(app: Flask) -> list[tuple[str, float]]:
    """``[(task name, interval in seconds), ...]`` of the registered periodic tasks."""
    result = []
    for name, (_plugin, spec) in sorted(registry(app).items()):
        interval = spec.interval(app)
        if interval:
            result.append((name, interval))
    return result


class PeriodicRunner:
    """Runs the periodic tasks in-process (the embedded default has no Celery beat)."""

    def __init__(self, app: Flask, tick: float = 1.0) -> None:
        self.app = app
        self.tick = tick
        self._stop = threading.Event()
        self._next: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    def run_due(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        ran = []
        for name, interval in periodic(self.app):
            if self._next.get(name, 0.0) <= now:
                self._next[name] = now + interval
                try:
                    run_inprocess(self.app, name, {})
                except Exception:  # logged by run_inprocess; try again next time
                    pass
                ran.append(name)
        return ran

    def run_forever(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(self.tick)

    def start(self) -> PeriodicRunner:
        self._thread = threading.Thread(target=self.run_forever, name="teleconsult-periodic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
