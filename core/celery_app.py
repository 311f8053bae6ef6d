"""Celery bound to the Flask app (``TASKS_BACKEND = "celery"``).

Every task a plugin registers (``teleconsult_register_tasks``) becomes a Celery task of
the same name that runs inside an app context, commits on success, rolls back on error,
and is skipped while the operator has its plugin switched off. Periodic tasks
(``TaskSpec.every``) form the beat schedule.

Delivery settings follow from "tasks are idempotent, a lost worker loses nothing":

- ``task_acks_late``: a message is acknowledged only after its task finished, so a worker
  that dies in the middle leaves it to another worker;
- ``task_reject_on_worker_lost``: a pool process killed by a signal (OOM killer, SIGKILL)
  puts its message back instead of acknowledging it as failed;
- ``worker_prefetch_multiplier = 1``: a worker does not sit on messages it is not running;
- Redis ``visibility_timeout`` (``CELERY_VISIBILITY_TIMEOUT``): a message held by a worker
  that vanished altogether is delivered again after this time. Nothing is ever scheduled
  with a far-future ETA (Redis would redeliver it in loops); future work is database rows
  that a periodic task picks up.

Run a worker with ``teleconsult worker`` (or ``celery -A core.worker worker``) and
the scheduler with ``teleconsult beat`` (or ``teleconsult worker -B`` for a single box).
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from flask import Flask

from core.settings import SettingsError
from core.tasks import periodic, registry, run_inprocess

log = logging.getLogger(__name__)

_bound: weakref.WeakSet[Flask] = weakref.WeakSet()


def make_celery(app: Flask) -> Celery:
    config = app.config
    if not config.get("CELERY_BROKER_URL"):
        raise SettingsError("TASKS_BACKEND is 'celery' but CELERY_BROKER_URL is empty")
    celery = Celery("teleconsult", set_as_current=False)
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        result_backend=config.get("CELERY_RESULT_BACKEND") or None,
        task_ignore_result=not config.get("CELERY_RESULT_BACKEND"),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=config["CELERY_TASK_DEFAULT_QUEUE"],
        task_routes=config.get("CELERY_TASK_ROUTES") or None,
        broker_transport_options={"visibility_timeout": int(config["CELERY_VISIBILITY_TIMEOUT"])},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        worker_hijack_root_logger=False,
        beat_schedule={
            name: {"task": name, "schedule": interval} for name, interval in periodic(app)
        },
        beat_schedule_filename=str(Path(config["DATA_DIR"]) / "celerybeat-schedule"),
    )
    celery.conf.update(config.get("CELERY_OPTIONS") or {})
    for name, (_plugin, spec) in registry(app).items():
        celery.task(name=name, shared=False, **spec.options)(_task_body(app, name))
    celery.flask_app = app
    return celery


# The organisation whose plugin switch decides (``core.tasks.enqueue_for``) travels in
# the message beside the task's own arguments.
ORGANISATION_ARG = "_teleconsult_organisation_id"


def _task_body(app: Flask, name: str):
    def run(**kwargs: Any) -> Any:
        # An app context, the plugin switch, commit or rollback: the same as in-process.
        organisation_id = kwargs.pop(ORGANISATION_ARG, None)
        return run_inprocess(app, name, kwargs, organisation_id)

    run.__name__ = name.replace(".", "_")
    run.__qualname__ = run.__name__
    return run


def bind(app: Flask) -> Celery:
    """Create the app's Celery and route ``core.tasks.enqueue`` through its broker."""
    celery = make_celery(app)
    app.extensions["celery"] = celery

    def send(name: str, kwargs: dict[str, Any], organisation_id: int | None = None) -> None:
        if organisation_id is not None:
            kwargs = {**kwargs, ORGANISATION_ARG: organisation_id}
        celery.tasks[name].apply_async(kwargs=kwargs)

    app.extensions["teleconsult.task_backend"] = send
    _bound.add(app)
    return celery


def celery_for(app: Flask) -> Celery:
    celery = app.extensions.get("celery")
    if celery is None:
        raise RuntimeError("this app runs tasks in-process (TASKS_BACKEND is not 'celery')")
    return celery


@worker_process_init.connect(weak=False)
def _fresh_connections_in_pool_process(**_kwargs: Any) -> None:
    """A forked pool process must not share the parent's database connections."""
    from core.db import db

    for app in list(_bound):
        with app.app_context():
            db.engine.dispose(close=False)
