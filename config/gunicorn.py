"""gunicorn settings for a teleconsult web process: ``gunicorn -c python:config.gunicorn``.

Settings come from ``core.settings`` like everywhere else (``TELECONSULT_*``), so a start
with unusable ones (eventlet with SQLite, a value of the wrong type) stops here, before a
worker is forked. One worker per gunicorn: Socket.IO keeps a connection in the process that
accepted it, so several processes sit behind a proxy with sticky sessions and share their
events through ``TELECONSULT_SOCKETIO_MESSAGE_QUEUE``.

- threading mode (the default): the ``gthread`` worker, ``threads`` connections at a time;
- eventlet mode: the ``eventlet`` worker where gunicorn still has it (it was removed in
  gunicorn 26; with the pinned release use ``python -m core.serve --async-mode eventlet``).
  psycopg must then use its pure Python implementation: its C build blocks the eventlet
  hub during a query. ``PSYCOPG_IMPL=python`` is set here, before the app (and so
  psycopg) is imported in the worker.

Command-line options (``--bind``, ``--threads``) override what is set here.
"""

import os

from gunicorn.workers import SUPPORTED_WORKERS

from core.settings import SettingsError, load

_settings = load()

wsgi_app = "core:create_app()"
bind = "127.0.0.1:8000"
workers = 1

if _settings["SOCKETIO_ASYNC_MODE"] == "eventlet":
    if "eventlet" not in SUPPORTED_WORKERS:
        raise SettingsError(
            "this gunicorn has no eventlet worker (removed in gunicorn 26): serve the eventlet "
            "mode with `python -m core.serve --async-mode eventlet`, or use the threading mode"
        )
    worker_class = "eventlet"
    os.environ.setdefault("PSYCOPG_IMPL", "python")
else:
    worker_class = "gthread"
    threads = 50


def post_worker_init(worker):
    """The app is loaded in the worker: settle its heap before the first request."""
    from core.app import settle_heap

    settle_heap()
