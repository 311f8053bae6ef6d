"""gunicorn settings for a teleconsult web process: ``gunicorn -c python:config.gunicorn``.

Settings come from ``core.settings`` like everywhere else (``TELECONSULT_*``), so a start
with unusable ones (gevent with SQLite, a value of the wrong type) stops here, before a
worker is forked. One worker per gunicorn: Socket.IO keeps a connection in the process that
accepted it, so several processes sit behind a proxy with sticky sessions and share their
events through ``TELECONSULT_SOCKETIO_MESSAGE_QUEUE``.

- threading mode (the default): the ``gthread`` worker, ``TELECONSULT_GUNICORN_THREADS``
  (50) connections at a time: one thread per open websocket;
- gevent mode: gunicorn's ``gevent`` worker, ``TELECONSULT_GUNICORN_CONNECTIONS`` (10,000)
  connections; psycopg must then use its pure Python implementation (its C build blocks
  the hub during a query): ``PSYCOPG_IMPL=python`` is set here, before the worker imports
  the app (and so psycopg);
- eventlet mode: gunicorn 26 and later have no eventlet worker; serve it with
  ``python -m core.serve --async-mode eventlet``.

Logs go to stderr (journald under systemd). SIGHUP reloads the worker without closing the
listening socket; SIGTERM lets open requests finish within ``graceful_timeout``.
Command-line options (``--bind``, ``--threads``) override what is set here.
"""

import os

from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import SUPPORTED_WORKERS

from core.headers import SERVER

from core.settings import SettingsError, load

_settings = load()
_mode = _settings["SOCKETIO_ASYNC_MODE"]

# gunicorn writes ``Server: gunicorn`` before the app's headers and has no setting for it:
# its name is a module constant, read for every response (and given to the app as
# SERVER_SOFTWARE, which tells the app not to add a second header).
gunicorn_wsgi.SERVER = SERVER
gunicorn_wsgi.SERVER_SOFTWARE = SERVER

wsgi_app = "core:create_app()"
bind = "127.0.0.1:8000"
workers = 1
accesslog = None  # the app logs its requests itself (LOG_FORMAT)
errorlog = "-"
graceful_timeout = 30
# gunicorn 27's control socket defaults to ~/.gunicorn/gunicorn.ctl: one path for every
# instance on the machine (teleconsult-web@8001, @8002 ...), each taking it from the
# previous one, and under the read-only home of the systemd unit (ProtectHome).
control_socket_disable = True
timeout = 60

if _mode == "eventlet":
    if "eventlet" not in SUPPORTED_WORKERS:
        raise SettingsError(
            "this gunicorn has no eventlet worker (removed in gunicorn 26): serve the eventlet "
            "mode with `python -m core.serve --async-mode eventlet`, or use the gevent mode"
        )
    worker_class = "eventlet"
    os.environ.setdefault("PSYCOPG_IMPL", "python")
elif _mode == "gevent":
    worker_class = "gevent"
    worker_connections = _settings["GUNICORN_CONNECTIONS"]
    os.environ.setdefault("PSYCOPG_IMPL", "python")
else:
    worker_class = "gthread"
    threads = _settings["GUNICORN_THREADS"]


def post_worker_init(worker):
    """The app is loaded in the worker: settle its heap before the first request."""
    from core.heap import settle_heap

    settle_heap()
