"""Pytest fixtures for teleconsult and for plugin authors.

Use with ``pytest_plugins = ["core.testing"]`` in a ``conftest.py``. Fixtures:

- ``make_app(plugins=None, config=None, extra_plugins=())``: an app on a fresh database
  with the reference data loaded; ``plugins=[]`` is the bare core.
- ``app``, ``client``: the app with every installed plugin, and its test client.
- ``factory``: makes organisations, doctors, patients, slots and consultations.
- ``live_server``: the app served over real HTTP and Socket.IO on a free port.
- ``chromium``: Debian's Chromium driven by Playwright (browser tests); a missing
  browser skips locally and fails the run in CI.

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
        self.schema_ready = False

    def reset(self, metadata: sa.MetaData) -> None:
        engine = sa.create_engine(self.url)
        try:
            if not self.schema_ready:
                metadata.create_all(engine)
                self.schema_ready = True
            tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            with engine.begin() as connection:
                connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()

    def drop(self) -> None:
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


@pytest.fixture(params=database_backends())
def database_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(database_backend, _postgres, tmp_path) -> str:
    if database_backend == "postgresql":
        return _postgres.url
    return f"sqlite:///{tmp_path / 'teleconsult.sqlite3'}"


@pytest.fixture
def make_app(database_backend, database_url, _postgres, tmp_path):
    """Build apps on the test database: ``make_app(plugins=[...], config={...})``."""
    built: list[Flask] = []

    def make(
        plugins: list[str] | None = None,
        config: dict[str, Any] | None = None,
        extra_plugins=(),
        reference_data: bool = True,
    ) -> Flask:
        from core.app import create_app
        from core.db import db
        from core.dictionaries import sync_reference_data

        settings = {
            "DATA_DIR": str(tmp_path / f"data{len(built)}"),
            "DATABASE_URL": database_url,
            "SERVER_NAME": None,
        }
        settings.update(config or {})
        app = create_app(settings, environment="testing", plugins=plugins, extra_plugins=extra_plugins)
        app.test_client_class = TeleconsultClient
        if not built:  # the first app of a test prepares the schema
            with app.app_context():
                if database_backend == "postgresql":
                    _postgres.reset(db.metadata)
                else:
                    db.create_all()
                if reference_data:
                    sync_reference_data()
                    db.session.commit()
        built.append(app)
        return app

    yield make
    from core.db import db

    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


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
    from werkzeug.serving import WSGIRequestHandler

    class NoDelay(WSGIRequestHandler):
        """Small Socket.IO frames go out at once (no Nagle delay against delayed ACKs)."""

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelay


_NoDelayRequestHandler = _no_delay_handler()


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
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.shutdown()


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


@pytest.fixture
def chromium():
    """A headless Chromium (Playwright ``Browser``); open pages with ``new_context()``."""
    require_or_skip([] if os.path.exists(CHROMIUM) else [f"Chromium ({CHROMIUM})"])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


def aware(day: date, at: dtime) -> datetime:
    return datetime.combine(day, at, timezone.utc)


def login_session(client: FlaskClient, person) -> None:
    """Log a staff ``User`` or a ``PortalAccount`` in on a test client, skipping the form
    (patients have no password: in the real app they come through ESIA)."""
    from flask import session
    from flask_login import login_user

    app = client.application
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": f"Werkzeug/{_werkzeug_version()}"}
    with app.test_request_context(environ_base=environ):
        login_user(person)
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
        model = {"staff": User, "patient": PortalAccount}[kind]
        login_user(db.session.get(model, person_id))
        return "ok"

    app.register_blueprint(blueprint)


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
