"""Default settings shared by every environment.

Every key can be overridden by an environment variable named ``TELECONSULT_<KEY>``
(``TELECONSULT_DATABASE_URL``, ``TELECONSULT_PLUGINS_DISABLED=video,esia``...), read as
the type of its default: lists comma-separated or JSON, dicts JSON, ``null`` for None.
A setting whose default is None declares its type here (``NAME: list[str] | None``).
A value of the wrong type stops the start with a message naming the setting.
"""

from datetime import timedelta

# Where the embedded default keeps its SQLite file, uploaded files and outbox.
# Relative paths are resolved against the current directory.
DATA_DIR = "instance"

# SQLAlchemy URL. Empty means "SQLite file in DATA_DIR" (the embedded default).
DATABASE_URL = ""
# A pooled PostgreSQL connection idle for longer than this is checked (and replaced if the
# server dropped it) before a request uses it; a busy one is not pinged on every request.
DATABASE_PING_AFTER_IDLE_SECONDS = 10.0

SECRET_KEY = "change-me"

# Plugins the deployment never loads (entry-point names). The operator can switch
# loaded plugins on and off live in the admin console.
PLUGINS_DISABLED: list[str] = []
# When set, only these plugins (entry-point names) are loaded; None loads all installed.
PLUGINS_ENABLED: list[str] | None = None
# The operator's switches are re-read at most this often by each process; a change made
# in a process takes effect there at once.
PLUGIN_SWITCH_REFRESH_SECONDS = 2.0

# Russian first; English is the second locale.
BABEL_DEFAULT_LOCALE = "ru"
BABEL_DEFAULT_TIMEZONE = "Europe/Moscow"
LANGUAGES = ["ru", "en"]

# How many reverse proxies in front of the app set X-Forwarded-For and X-Forwarded-Proto
# (Werkzeug's ProxyFix trusts that many hops). 0: none, the headers are ignored; behind
# a proxy the client address (stored with an accepted consent, SPEC P2) is then the proxy's.
TRUSTED_PROXIES = 0

# Sessions and login (SPEC D1).
SESSION_COOKIE_NAME = "teleconsult_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SECURE = False
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
# Server-side sessions (core.sessions; OWASP ASVS 5.0 §7): a login ends after this long
# without a request, and this long after it began whatever the activity.
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
SESSION_TOUCH_SECONDS = 60  # how often a request renews its session's last use
SESSION_RECHECK_SECONDS = 1.0  # how often each web process re-checks its sockets' sessions
SESSION_REFRESH_EACH_REQUEST = False  # the cookie's own expiry does not slide either
# Strict-Transport-Security max-age in seconds (0: no header; production: a year).
HSTS_SECONDS = 0
LOGIN_MAX_FAILURES = 5
LOGIN_LOCKOUT_MINUTES = 15
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT: int | None = None  # the token lives as long as the session

# Uploaded files: the storage backend's class (``package.module:Class`` with a
# ``from_settings(settings)`` class method; core.storage.Storage). The default keeps
# them in a local folder, STORAGE_DIR.
STORAGE_BACKEND = "core.storage:LocalStorage"
STORAGE_DIR = ""  # empty: DATA_DIR/files
MAX_CONTENT_LENGTH = 110 * 1024 * 1024  # a whole request, several files together
DOCUMENT_MAX_SIZE = 20 * 1024 * 1024  # one file
# Origins the pages may connect to besides their own (Content-Security-Policy
# connect-src), e.g. a media server's WebSocket when no proxy puts it on the app's origin.
CSP_CONNECT_SRC: list[str] = []
# An S3-compatible object store (``STORAGE_BACKEND = "core.s3storage:S3Storage"``): Ceph's
# radosgw, MinIO or the region's own S3. Path-style addressing (``endpoint/bucket/key``)
# unless STORAGE_S3_ADDRESSING is "virtual". Empty keys: boto3's own chain (environment,
# ~/.aws, instance role).
STORAGE_S3_ENDPOINT_URL = ""  # https://s3.region.example; empty: AWS
STORAGE_S3_BUCKET = ""
STORAGE_S3_PREFIX = ""  # keys are stored under this prefix, e.g. "teleconsult/"
STORAGE_S3_REGION = "us-east-1"
STORAGE_S3_ACCESS_KEY_ID = ""
STORAGE_S3_SECRET_ACCESS_KEY = ""
STORAGE_S3_ADDRESSING = "path"
STORAGE_S3_VERIFY_TLS = True

# Socket.IO: "threading" (embedded default and tests) or "eventlet".
SOCKETIO_ASYNC_MODE = "threading"
SOCKETIO_MESSAGE_QUEUE = ""  # redis://... shares events between web processes
# /metrics (Prometheus format) answers only clients in these networks; everyone else gets
# 404. Behind the proxy the client address is the one the proxy forwarded (TRUSTED_PROXIES).
METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
# gunicorn (config/gunicorn.py): threads of a gthread worker (one per open websocket) and
# connections of a gevent worker.
GUNICORN_THREADS = 50
GUNICORN_CONNECTIONS = 10000
# Each process checks its subscription to the queue this often (core.socket_queue).
SOCKETIO_QUEUE_PROBE_SECONDS = 5.0
SOCKETIO_CORS_ALLOWED_ORIGINS: list[str] | None = None  # None: same origin only
# False: a connection's events are handled one after another in the thread (greenlet)
# that reads the connection, as a client waiting for each acknowledgement sends them; True:
# a new thread per event, so one connection's slow event does not hold up its next ones.
SOCKETIO_ASYNC_HANDLERS = False

# Background tasks: "inprocess" runs them after commit in the web process;
# "celery" sends them to a worker through CELERY_BROKER_URL.
TASKS_BACKEND = "inprocess"
CELERY_BROKER_URL = ""  # redis://127.0.0.1:6379/0 or amqp://guest@127.0.0.1:5672//
CELERY_RESULT_BACKEND = ""  # results are not needed: tasks write to the database
CELERY_TASK_DEFAULT_QUEUE = "teleconsult"
# Redis: a task not acknowledged within this many seconds is delivered again (tasks are
# acknowledged after they finish). Longer than the slowest task; short in tests.
CELERY_VISIBILITY_TIMEOUT = 3600
# Extra Celery settings (lowercase Celery names), e.g. {"worker_concurrency": 4}.
CELERY_OPTIONS: dict = {}
# Which queue a task goes to (Celery's task_routes: task name or glob -> {"queue": ...});
# tasks no route names go to CELERY_TASK_DEFAULT_QUEUE. deploy/teleconsult.env routes
# e-mail to "mail", PDF rendering to "pdf", signatures to "signature".
CELERY_TASK_ROUTES: dict = {}

# Slots are generated this many days ahead of today.
SCHEDULE_DAYS_AHEAD = 28

# Where `npm ci` put the console's browser packages (Chart.js); empty: node_modules
# beside the code.
ADMIN_NODE_MODULES = ""

# Demo data is loaded by `teleconsult run` on an empty database.
DEMO_DATA = False

LOG_LEVEL = "INFO"
LOG_FORMAT = "text"  # or "json"
