"""Pytest fixtures for teleconsult and for plugin authors.

Use with ``pytest_plugins = ["core.testing"]`` in a ``conftest.py``. Fixtures:

- ``make_app(plugins=None, config=None, extra_plugins=())``: an app on a fresh database
  with the reference data loaded; ``plugins=[]`` is the bare core.
- ``app``, ``client``: the app with every installed plugin, and its test client.
- ``factory``: makes organisations, doctors, patients, slots and consultations.
- ``live_server``: the app served over real HTTP and Socket.IO on a free port.
- ``chromium``: Debian's Chromium driven by Playwright (browser tests), one browser for
  the run with the contexts a test opened closed after it; a missing browser skips
  locally and fails the run in CI. ``playwright_driver``: the run's Playwright, to launch
  a browser with other flags.

Database tests run on SQLite, and also on PostgreSQL when ``TELECONSULT_TEST_POSTGRES``
is set (a server URL, or ``1`` for postgresql://postgres@127.0.0.1:5432) or when
``CI=true``; in CI an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def postgres_admin_url() -> str | None:
    value = os.environ.get("TELECONSULT_TEST_POSTGRES", "")
    if value and value not in ("0", "1", "true"):
        return value
    if value in ("1", "true") or in_ci():
        return DEFAULT_POSTGRES
    return None


def database_backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_admin_url() else ["sqlite"]


def reuse_apps() -> bool:
    """``TELECONSULT_TEST_REUSE_APPS=1``: tests share apps built with default settings."""
    return os.environ.get("TELECONSULT_TEST_REUSE_APPS", "") in ("1", "true")


def every_test_on_both_backends() -> bool:
    """``TELECONSULT_TEST_BOTH_BACKENDS=1``: every database test on SQLite as well."""
    return os.environ.get("TELECONSULT_TEST_BOTH_BACKENDS", "") in ("1", "true")


class TeleconsultClient(FlaskClient):
    """A test client that fills in the CSRF token, as a browser with the page would."""

    _csrf: str | None = None

    def csrf_token(self, path: str = "/login") -> str:
        if self._csrf is None:
            page = self.get(path).get_data(as_text=True)
            match = _CSRF_META.search(page)
            assert match, f"no csrf-token meta on {path}"
            self._csrf = match.group(1)
        return self._csrf

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, login: str, password: str):
        self._csrf = None
        response = self.post_form("/login", {"login": login, "password": password})
        self._csrf = None  # a new session: a new token
        return response

    def logout(self):
        response = self.post_form("/logout")
        self._csrf = None
        return response


class _PostgresDatabase:
    """One database per test session; tables are emptied before each test."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"teleconsult_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        finally:
            admin.dispose()
        self.url = sa.engine.make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)
        self.created: set[str] = set()  # tables made so far this session
        self._engine: sa.engine.Engine | None = None

    def reset(self, metadata: sa.MetaData) -> None:
        """Empty every table. ``DELETE`` with the foreign keys' triggers off costs next to
        nothing on the few rows a test leaves, where ``TRUNCATE`` gives every table and
        index a new file (half a second a test for ~40 tables).

        The ids go on from where the last test left them, never starting at 1 again: a
        write that an earlier test's thread makes late (a request still in flight when its
        live server stopped, a background task) then names rows that are gone, never this
        test's. With the ids restarted such a write could land on this test's rows as if
        they were its own (one run showed a colleague a patient's surname on the schedule,
        as a participant of the consultation would see it)."""
        if self._engine is None:
            self._engine = sa.create_engine(self.url, poolclass=sa.pool.StaticPool)
        engine = self._engine
        # A plugin's models may be imported after the first app of the session (one
        # built with fewer plugins): their tables are made when first needed.
        names = [table.name for table in metadata.sorted_tables]
        if not set(names) <= self.created:
            metadata.create_all(engine)
            self.created |= set(names)
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.exec_driver_sql("; ".join(f'DELETE FROM "{name}"' for name in reversed(names)))

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@pytest.fixture(scope="session")
def _postgres() -> Iterator[_PostgresDatabase | None]:
    url = postgres_admin_url()
    if url is None:
        yield None
        return
    database = _PostgresDatabase(url)  # fails loudly when PostgreSQL is unreachable
    yield database
    database.drop()


class _SqliteDatabase:
    """One database file per test session; tables are emptied before each test."""

    def __init__(self, folder) -> None:
        self.url = f"sqlite:///{folder / 'teleconsult.sqlite3'}"

    def reset(self, metadata: sa.MetaData) -> None:
        engine = sa.create_engine(self.url)
        try:
            metadata.create_all(engine)
            with engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                for table in reversed(metadata.sorted_tables):
                    connection.execute(table.delete())
                if connection.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
                ).first():
                    connection.exec_driver_sql("DELETE FROM sqlite_sequence")
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def _sqlite(tmp_path_factory) -> _SqliteDatabase:
    return _SqliteDatabase(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(params=database_backends())
def database_backend(request) -> str:
    return request.param


@pytest.fixture
def _database(database_backend, request):
    """The session's database of the backend: ``.url``, ``.reset(metadata)``."""
    return request.getfixturevalue("_postgres" if database_backend == "postgresql" else "_sqlite")


@pytest.fixture
def database_url(_database) -> str:
    return _database.url


class _AppCache:
    """Apps kept between tests of a run, by what built them.

    Building an app (every plugin, the console's views, Werkzeug compiling ~500 URL rules)
    costs more than most tests, so an app made with the default settings is handed to the
    next test that asks for the same plugins on the same backend, once that test's database
    is emptied, its data folder cleared and its settings restored. Apps with settings of
    their own (queues, storage, log formats...), plugin instances made by the test, and
    tests marked ``fresh_app`` always get an app of their own.
    """

    SIZE = 12

    def __init__(self) -> None:
        self.apps: dict[tuple, tuple[Flask, dict[str, Any]]] = {}

    @staticmethod
    def key(backend: str, plugins, config, extra_plugins, reference_data: bool) -> tuple | None:
        import inspect
        import sys

        if config or not all(inspect.ismodule(p) or inspect.isclass(p) for _name, p in extra_plugins):
            return None
        names = None if plugins is None else tuple(plugins)
        return (backend, tuple(sys.path), names, tuple((name, plugin) for name, plugin in extra_plugins), reference_data)

    def take(self, key: tuple) -> Flask | None:
        entry = self.apps.pop(key, None)  # out of the cache while a test holds it
        if entry is None:
            return None
        app, settings = entry
        import inspect
        import sys

        for _name, plugin in app.extensions["teleconsult.pm"].list_name_plugin():
            if inspect.ismodule(plugin) and sys.modules.get(plugin.__name__) is not plugin:
                return None  # a plugin module imported anew since (a test installed it): build afresh
        app.config.clear()
        app.config.update(settings)
        return app

    def give_back(self, key: tuple, app: Flask, settings: dict[str, Any]) -> None:
        self.apps[key] = (app, settings)
        while len(self.apps) > self.SIZE:
            self.apps.pop(next(iter(self.apps)))


_apps = _AppCache()


def _clear_data_dir(app: Flask) -> None:
    """Empty a reused app's data folder (stored files, outboxes), keeping its compiled
    message catalogues."""
    import shutil
    from pathlib import Path

    root = Path(app.config["DATA_DIR"])
    if root.is_dir():
        for child in root.iterdir():
            if child.name == "translations":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def _reset_app_state(app: Flask) -> None:
    """What an app keeps in memory between requests, as a fresh app has it."""
    from core.health import Metrics
    from core.plugins import forget_switches

    # A test may have swapped an extension (a task backend, a storage) or added one.
    built = app.teleconsult_built_extensions
    for name in [name for name in app.extensions if name not in built]:
        del app.extensions[name]
    app.extensions.update(built)
    forget_switches(app)
    app.extensions["teleconsult.metrics"] = Metrics()
    app.extensions.pop("teleconsult.socket_sessions", None)


@pytest.fixture
def make_app(request, database_backend, database_url, _database, tmp_path):
    """Build apps on the test database: ``make_app(plugins=[...], config={...})``."""
    built: list[tuple[Flask, tuple | None, dict[str, Any]]] = []
    # Kept apps are opt-in (TELECONSULT_TEST_REUSE_APPS=1): faster, but state that a test
    # leaves in an app's threads can reach a later test, which a fresh app rules out.
    reuse = reuse_apps() and request.node.get_closest_marker("fresh_app") is None

    def make(
        plugins: list[str] | None = None,
        config: dict[str, Any] | None = None,
        extra_plugins=(),
        reference_data: bool = True,
    ) -> Flask:
        from core.app import create_app
        from core.db import db
        from core.dictionaries import sync_reference_data

        extra_plugins = tuple(extra_plugins)
        key = _AppCache.key(database_backend, plugins, config, extra_plugins, reference_data) if reuse else None
        if key is not None and any(held == key for _app, held, _settings in built):
            key = None  # a second app of the same kind in one test: its own
        app = _apps.take(key) if key is not None else None
        if app is None:
            settings = {
                "DATA_DIR": str(tmp_path / f"data{len(built)}"),
                "DATABASE_URL": database_url,
                "SERVER_NAME": None,
            }
            if key is not None:  # kept for later tests: files of its own, outside this test's folder
                settings["DATA_DIR"] = _kept_data_dir()
            settings.update(config or {})
            app = create_app(settings, environment="testing", plugins=plugins, extra_plugins=extra_plugins)
            app.test_client_class = TeleconsultClient
            app.teleconsult_built_extensions = dict(app.extensions)  # what _reset_app_state restores
            snapshot = dict(app.config)
        else:
            snapshot = dict(app.config)
            _clear_data_dir(app)
            _reset_app_state(app)
        if not built:  # the first app of a test prepares the schema
            with app.app_context():
                _database.reset(db.metadata)
                if reference_data:
                    sync_reference_data()
                    db.session.commit()
        built.append((app, key, snapshot))
        return app

    yield make
    from core.db import db

    for app, key, snapshot in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if key is not None and getattr(request.node, "teleconsult_passed", False):
            _apps.give_back(key, app, snapshot)


def _kept_data_dir() -> str:
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="teleconsult-test-app-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _share_url_builders() -> None:
    """Every app of a run compiles the same ~250 URL rules; Werkzeug generates and compiles
    two Python functions for each (half the time an app takes to build). A builder depends
    on the rule's text and parts alone (it reads the rule's converters through its bound
    ``self`` when called), so the run compiles each once and shares it."""
    from werkzeug.routing.rules import Rule

    original = Rule._compile_builder
    if getattr(original, "teleconsult_shared", False):
        return
    built: dict[tuple, Any] = {}

    def compile_builder(self, append_unknown: bool = True):
        trace = getattr(self, "_trace", None)
        if self.defaults or trace is None:  # defaults are folded into the code: not shared
            return original(self, append_unknown)
        key = (self.rule, tuple(trace), append_unknown)
        function = built.get(key)
        if function is None:
            function = built[key] = original(self, append_unknown)
        return function

    compile_builder.teleconsult_shared = True
    Rule._compile_builder = compile_builder


def pytest_configure(config) -> None:
    _share_url_builders()
    config.addinivalue_line("markers", "fresh_app: the test's apps are built for it alone, never kept ones")
    config.addinivalue_line(
        "markers", "embedded: with PostgreSQL in the run, runs on SQLite (the embedded default) as well"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """With PostgreSQL in the run (CI), a database test runs on PostgreSQL, the production
    database; on SQLite too only when marked ``embedded`` (the walks through the embedded
    default and what differs between the dialects) or with ``TELECONSULT_TEST_BOTH_BACKENDS``.
    Without PostgreSQL every database test runs on SQLite."""
    if postgres_admin_url() is None or every_test_on_both_backends():
        return
    kept, dropped = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("database_backend")
        if backend == "sqlite" and item.get_closest_marker("embedded") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether a test passed: only then is its app kept for the next one."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.teleconsult_passed = report.passed


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app) -> TeleconsultClient:
    return app.test_client()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield app


PASSWORD = "test-password-1"


class Factory:
    """Makes domain objects for tests; call inside an app context. Commits each one."""

    _counter = itertools.count(1)

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _n(self) -> int:
        return next(self._counter)

    def commit(self, obj):
        from core.db import db

        db.session.add(obj)
        db.session.commit()
        return obj

    def organisation(self, name: str | None = None):
        from core.models import Organisation

        n = self._n()
        return self.commit(Organisation(name=name or f"Поликлиника № {n}", short_name=name or f"П-{n}"))

    def user(self, roles=("doctor",), organisation=None, login: str | None = None, specialty="терапевт", **kw):
        import sqlalchemy as sa

        from core.db import db
        from core.models import Role, User

        organisation = organisation or self.organisation()
        n = self._n()
        role_rows = list(db.session.scalars(sa.select(Role).where(Role.code.in_(roles))))
        user = User(
            login=login or f"user{n}",
            last_name=kw.pop("last_name", f"Врачев{n}"),
            first_name=kw.pop("first_name", "Иван"),
            middle_name=kw.pop("middle_name", "Петрович"),
            organisation_id=organisation.id if organisation else None,
            specialty=specialty,
            roles=role_rows,
            **kw,
        )
        user.set_password(PASSWORD)
        return self.commit(user)

    def doctor(self, organisation=None, **kw):
        return self.user(("doctor",), organisation, **kw)

    def patient(self, organisation=None, **kw):
        from core.models import Patient
        from core.validators import complete_oms, complete_snils

        n = self._n()
        defaults = dict(
            last_name=f"Пациентов{n}",
            first_name="Пётр",
            middle_name="Ильич",
            birth_date=date(1980, 1, 1),
            sex="male",
            snils=complete_snils(f"{200000000 + n:09d}"),
            oms_policy=complete_oms(f"{780000000100000 + n:015d}"),
            email=f"patient{n}@example.ru",
            organisation_id=organisation.id if organisation else None,
        )
        defaults.update(kw)
        return self.commit(Patient(**defaults))

    def slot(self, doctor, starts_in: timedelta | None = None, minutes: int = 20):
        """A free slot of ``doctor``; by default a distinct time tomorrow or later."""
        from core.models import Slot

        starts_in = starts_in or timedelta(days=1, minutes=30 * self._n())
        start = (datetime.now(timezone.utc) + starts_in).replace(second=0, microsecond=0)
        return self.commit(
            Slot(doctor_id=doctor.id, starts_at=start, ends_at=start + timedelta(minutes=minutes))
        )

    def consultation_type(self, code: str = "remote_patient"):
        import sqlalchemy as sa

        from core.db import db
        from core.models import ConsultationType

        return db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == code))

    def consultation(self, author=None, consultant=None, patient=None, slot=True, type_code="remote_patient", **kw):
        """A scheduled consultation (``slot=False``: only created)."""
        from core.access import principal_for_user
        from core.consultations import ConsultationDraft, create_consultation
        from core.db import db

        author = author or self.doctor()
        consultant = consultant or author
        patient = patient or self.patient(organisation=author.organisation)
        ctype = self.consultation_type(type_code)
        profile = ctype.profiles[0]
        booked = self.slot(consultant) if slot is True else slot or None
        draft = ConsultationDraft(
            type_id=ctype.id,
            profile_id=kw.pop("profile_id", profile.id),
            patient_id=patient.id,
            consultant_id=consultant.id,
            email=kw.pop("email", patient.email or "patient@example.ru"),
            slot_id=booked.id if booked else None,
            **kw,
        )
        consultation = create_consultation(draft, principal_for_user(author))
        db.session.commit()
        return consultation


@pytest.fixture
def factory(app_context) -> Factory:
    return Factory(app_context)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_delay_handler():
    from core.headers import RequestHandler

    class NoDelay(RequestHandler):
        """Small Socket.IO frames go out at once (no Nagle delay against delayed ACKs)."""

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelay


_NoDelayRequestHandler = _no_delay_handler()


def wait_for_port(port: int, *, process=None, limit: float = 30, what: str = "the server") -> None:
    """Wait until something accepts connections on the loopback ``port``: at most
    ``limit`` seconds, or until ``process`` (a ``subprocess.Popen``) has stopped."""
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> LiveServer:
        from werkzeug.serving import make_server

        self.server = make_server(
            "127.0.0.1", self.port, self.app, threaded=True, request_handler=_NoDelayRequestHandler
        )
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        wait_for_port(self.port, limit=30, what="live server")
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # no new connection reaches this app once its test ended


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The app over real HTTP and Socket.IO (threading mode) on a free local port."""
    server = LiveServer(app).start()
    yield server
    server.stop()


# Debian's package: `playwright install` cannot download browsers on these machines.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--disable-background-networking", "--disable-component-update", "--no-first-run")


def require_or_skip(missing: list[str]) -> None:
    """What a test needs from the machine: skip without it locally, fail in CI."""
    if not missing:
        return
    if in_ci():
        pytest.fail("missing: " + ", ".join(missing))
    pytest.skip("missing: " + ", ".join(missing))


def require_chromium() -> None:
    require_or_skip([] if os.path.exists(CHROMIUM) else [f"Chromium ({CHROMIUM})"])


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright's driver for the whole run (sync API); launch browsers with
    ``playwright_driver.chromium.launch(executable_path=CHROMIUM, ...)``. One per run:
    the sync API allows one at a time in a thread, and starting it costs a second."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


class _SharedChromium:
    """One headless Chromium for the run, launched again should it ever go away."""

    def __init__(self, playwright) -> None:
        self.playwright = playwright
        self.browser = None

    def get(self):
        if self.browser is None or not self.browser.is_connected():
            self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        return self.browser

    def close(self) -> None:
        if self.browser is not None and self.browser.is_connected():
            self.browser.close()


@pytest.fixture(scope="session")
def _shared_chromium(playwright_driver):
    shared = _SharedChromium(playwright_driver)
    yield shared
    shared.close()


@pytest.fixture
def chromium(_shared_chromium):
    """A headless Chromium (Playwright ``Browser``); open pages with ``new_context()``.

    The browser is shared by the run's tests (launching one costs seconds); what a test
    sees of it is its own: every context it opened is closed after it, so no page,
    cookie or storage reaches the next test."""
    browser = _shared_chromium.get()
    before = set(browser.contexts)
    yield browser
    for context in browser.contexts:
        if context not in before:
            context.close()


def aware(day: date, at: dtime) -> datetime:
    return datetime.combine(day, at, timezone.utc)


def login_session(client: FlaskClient, person) -> None:
    """Log a staff ``User`` or a ``PortalAccount`` in on a test client, skipping the form
    (patients have no password: in the real app they come through ESIA)."""
    from flask import session
    from flask_login import login_user

    app = client.application
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": f"Werkzeug/{_werkzeug_version()}"}
    from core import sessions
    from core.db import db

    with app.test_request_context(environ_base=environ):
        login_user(person)
        sessions.start(person)
        db.session.commit()
        values = dict(session)
    with client.session_transaction() as sess:
        sess.clear()
        sess.update(values)
        sess.permanent = True
    if isinstance(client, TeleconsultClient):
        client._csrf = None


def _werkzeug_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("werkzeug")


def enable_test_login(app: Flask) -> None:
    """Add ``/_test/login/<staff|patient>/<id>`` for real HTTP clients of a live server.

    Only tests call this; the app itself never registers such a route.
    """
    from flask import Blueprint
    from flask_login import login_user

    from core.db import db
    from core.models import PortalAccount, User

    blueprint = Blueprint("_test_login", __name__)

    @blueprint.route("/_test/login/<kind>/<int:person_id>")
    def _login(kind: str, person_id: int):
        from core import sessions

        model = {"staff": User, "patient": PortalAccount}[kind]
        person = db.session.get(model, person_id)
        login_user(person)
        sessions.start(person)
        db.session.commit()
        return "ok"

    if blueprint.name in app.blueprints:
        return
    # A kept app (see _AppCache) may have answered requests in an earlier test; Flask then
    # refuses setup methods. Adding one blueprint to its URL map is safe between tests.
    answered, app._got_first_request = app._got_first_request, False
    try:
        app.register_blueprint(blueprint)
    finally:
        app._got_first_request = answered


@contextlib.contextmanager
def empty_postgres_database(prefix: str = "teleconsult_tmp") -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (migrations, separate processes)."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        raise RuntimeError("PostgreSQL tests are not enabled (TELECONSULT_TEST_POSTGRES or CI)")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def moto_s3_server(bucket: str = "teleconsult") -> Iterator[dict[str, Any]]:
    """moto's S3 stand-in as a server of its own on a free loopback port, with ``bucket``
    created; yields the settings of ``core.s3storage.S3Storage`` that point at it."""
    import subprocess
    import sys

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process, limit=60, what="moto's S3 server")
        settings = {
            "STORAGE_BACKEND": "core.s3storage:S3Storage",
            "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "STORAGE_S3_BUCKET": bucket,
            "STORAGE_S3_REGION": "us-east-1",
            "STORAGE_S3_ACCESS_KEY_ID": "testing",
            "STORAGE_S3_SECRET_ACCESS_KEY": "testing",
        }
        from core.s3storage import S3Storage

        S3Storage.from_settings(settings).client.create_bucket(Bucket=bucket)
        yield settings
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[int, Any]]:
    """A redis-server of the test's own on a free loopback port (so stopping it affects
    no other test); yields ``(port, process)``."""
    import subprocess

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process, limit=20, what="redis-server")
        yield port, process
    finally:
        process.terminate()
        process.wait(10)
