"""Pooled PostgreSQL connections: checked only after being idle, replaced when dead."""

import pytest
import sqlalchemy as sa

from core.db import db
from core.testing import postgres_admin_url

# Only PostgreSQL drops connections; without it configured there is nothing to test (CI has it).
postgres_only = pytest.mark.parametrize(
    "database_backend", ["postgresql"] if postgres_admin_url() else [], indirect=True
)


def _backend_pid(app) -> int:
    with app.app_context():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        db.session.remove()  # back to the pool
    return pid


def _pings(app, monkeypatch) -> list:
    with app.app_context():
        dialect = db.engine.dialect
    calls = []
    original = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda connection: calls.append(1) or original(connection))
    return calls


@postgres_only
def test_a_connection_dropped_while_idle_is_replaced_before_use(make_app, monkeypatch):
    app = make_app(plugins=[], config={"DATABASE_PING_AFTER_IDLE_SECONDS": 0.0})
    pings = _pings(app, monkeypatch)
    pid = _backend_pid(app)
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    # The pooled connection is dead: the ping notices and the pool hands out a fresh one.
    new_pid = _backend_pid(app)
    assert new_pid != pid and pings


@postgres_only
def test_a_busy_connection_is_not_pinged_on_every_use(make_app, monkeypatch):
    app = make_app(plugins=[], config={"DATABASE_PING_AFTER_IDLE_SECONDS": 60.0})
    pings = _pings(app, monkeypatch)
    pids = {_backend_pid(app) for _ in range(5)}
    assert len(pids) == 1 and pings == []
