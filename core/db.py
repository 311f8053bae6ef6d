"""SQLAlchemy declarative base, the Flask-SQLAlchemy handle and shared column types."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

# Constraint names must be deterministic so Alembic can alter them on SQLite too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has been idle for a while.

    ``pool_pre_ping`` costs a round trip before every checkout, that is every request: as
    much as the registry lookup's own query. A connection handed back milliseconds ago is
    alive; one idle for longer may have been dropped (a database restart, a firewall), so it
    is pinged, and a dead one is replaced before the request sees it (the pool retries on
    ``DisconnectionError``).
    """

    @sa.event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["teleconsult_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("teleconsult_idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.DisconnectionError("pooled connection is gone") from error


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def increment(column, row_id: int) -> int:
    """Add one to ``column`` of the row with id ``row_id`` in the database itself
    (``SET c = c + 1 ... RETURNING c``) and return the new value: concurrent increments
    neither collide nor get lost, whatever this session read before."""
    model = column.class_
    return db.session.execute(
        sa.update(model)
        .where(model.id == row_id)
        .values({column.key: column + 1})
        .returning(column)
        .execution_options(synchronize_session=False)
    ).scalar_one()


class UTCDateTime(sa.types.TypeDecorator):
    """Stores naive UTC, hands back aware UTC: the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)
