"""``celery -A core.worker worker|beat``: the Celery app of the app built from settings.

The app is built on first use of ``core.worker.celery`` (or ``.app``), not on import.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from core.app import create_app
from core.celery_app import celery_for

_default: Celery | None = None


def __getattr__(name: str) -> Any:
    global _default
    if name in ("celery", "app"):
        if _default is None:
            _default = celery_for(create_app({"TASKS_BACKEND": "celery"}))
        return _default
    raise AttributeError(name)
