"""What the database refuses becomes a 409/422 with a Russian message, as a page or as
JSON, and the request's writes are rolled back (charter: never a 500, never half-written).

A throwaway plugin's views write a row and then meet each refusal the database can give
a request that raced another one (or carried a value no check caught).
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from flask import Blueprint
from sqlalchemy.orm.exc import StaleDataError

from core import hookimpl
from core.db import db
from core.models import Organisation

REFUSALS = {
    "stale": lambda: StaleDataError("UPDATE statement on table 'consultations' expected to update 1 row(s); 0 were matched."),
    "duplicate": lambda: sa.exc.IntegrityError("INSERT INTO slots ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
    "locked": lambda: sa.exc.OperationalError("UPDATE consultations ...", {}, sqlite3.OperationalError("database is locked")),
    "deadlock": lambda: sa.exc.OperationalError("SELECT ... FOR UPDATE", {}, _Deadlock("deadlock detected")),
    "out_of_range": lambda: sa.exc.DataError("SELECT ...", {}, ValueError("integer out of range")),
    "broken": lambda: sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: nowhere")),
}
EXPECTED = {
    "stale": (409, "Заявку только что изменил кто-то другой"),
    "duplicate": (409, "Данные изменились одновременно с вашим запросом"),
    "locked": (409, "Данные сейчас изменяет другой запрос"),
    "deadlock": (409, "Данные сейчас изменяет другой запрос"),
    "out_of_range": (422, "Значение не подходит"),
    "broken": (500, "Внутренняя ошибка"),
}


class _Deadlock(Exception):
    sqlstate = "40P01"  # as psycopg's DeadlockDetected carries it


class Refusing:
    @hookimpl
    def teleconsult_register_blueprints(self, app):
        blueprint = Blueprint("refusing", __name__)

        def view(kind: str):
            db.session.add(Organisation(name="Записана наполовину", short_name="Половина"))
            db.session.flush()
            raise REFUSALS[kind]()

        blueprint.add_url_rule("/refusing/<kind>", "page", view, methods=["GET"])
        blueprint.add_url_rule("/api/refusing/<kind>", "api", view, methods=["GET"])
        return [blueprint]


@pytest.fixture
def refusing_app(make_app):
    return make_app(plugins=[], extra_plugins=[("refusing", Refusing())])


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_each_refusal_is_a_russian_page_and_json_and_nothing_is_kept(refusing_app, kind):
    status, message = EXPECTED[kind]
    client = refusing_app.test_client()

    page = client.get(f"/refusing/{kind}")
    assert page.status_code == status
    assert page.mimetype == "text/html"
    assert message in page.get_data(as_text=True)

    answer = client.get(f"/api/refusing/{kind}")
    error = answer.get_json()["error"]
    assert (answer.status_code, error["status"]) == (status, status)
    assert error["message"].startswith(message)

    with refusing_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id)).where(Organisation.short_name == "Половина")) == 0
