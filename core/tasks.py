"""Background tasks: declared by plugins, run in-process or on a Celery worker.

``enqueue`` never sends anything before the transaction commits. In the embedded default
(``TASKS_BACKEND = "inprocess"``) the task runs right after the commit in the same process;
with ``"celery"`` it is sent to the broker and a worker runs it inside an app context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from core.tx import after_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskSpec:
    name: str  # "<plugin>.<task>"
    func: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)  # Celery task options


def registry(app: Flask | None = None) -> dict[str, tuple[str, TaskSpec]]:
    """``{task name: (plugin name, spec)}``."""
    return (app or current_app).extensions["teleconsult.tasks"]


def enqueue(name: str, **kwargs: Any) -> None:
    """Run task ``name`` with keyword arguments (JSON-serialisable) after the commit."""
    app = current_app._get_current_object()
    if name not in registry(app):
        raise LookupError(f"unknown task {name!r}")
    after_commit(lambda: dispatch(app, name, kwargs))


def dispatch(app: Flask, name: str, kwargs: dict[str, Any]) -> None:
    backend = app.extensions.get("teleconsult.task_backend")
    if backend is not None:
        backend(name, kwargs)
    else:
        run_inprocess(app, name, kwargs)


def run_inprocess(app: Flask, name: str, kwargs: dict[str, Any]) -> Any:
    from core.db import db
    from core.plugins import is_enabled

    plugin, spec = registry(app)[name]
    with app.app_context():
        if not is_enabled(plugin, app):
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
