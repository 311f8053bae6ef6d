"""A failing request leaves no patient identifier in the log, in either log format
(charter: patient data never in logs)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa
from flask import Blueprint

from core import hookimpl
from core.db import db

IDENTIFIERS = ("2341 9980 7165 5749", "2341-9980-7165-5749", "112 233 445 95", "4510 № 123456", "11223344595")
FRAGMENTS = ("9980", "7165", "233 445", "123456", "11223344595")


class Leaky:
    @hookimpl
    def teleconsult_register_blueprints(self, app):
        blueprint = Blueprint("leaky", __name__)

        @blueprint.route("/leaky/exception")
        def exception():
            raise ValueError("no patient with " + ", ".join(IDENTIFIERS))

        @blueprint.route("/leaky/sql")
        def sql():
            db.session.execute(
                sa.text("SELECT id FROM patients WHERE snils = :snils AND no_such_column = 1"), {"snils": "11223344595"}
            )

        return [blueprint]


@pytest.fixture(params=["text", "json"])
def captured(request, make_app):
    """The app with the given LOG_FORMAT; what its log handler writes."""
    app = make_app(plugins=[], extra_plugins=[("leaky", Leaky())], config={"LOG_FORMAT": request.param})
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "teleconsult", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield app, stream, request.param
    handler.setStream(previous)


def test_an_exception_with_identifiers_is_logged_masked(captured):
    app, stream, log_format = captured
    assert app.test_client().get("/leaky/exception").status_code == 500
    output = stream.getvalue()
    assert "Traceback" in output and "ValueError: no patient with" in output
    assert output.count("[скрыто]") >= len(IDENTIFIERS)
    assert not [f for f in FRAGMENTS if f in output], output
    if log_format == "json":
        records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert [r for r in records if "no patient with" in r.get("exc", "")], records


def test_a_failed_statement_keeps_its_parameters_out_of_the_log(captured):
    app, stream, _format = captured
    assert app.test_client().get("/leaky/sql").status_code == 500
    output = stream.getvalue()
    assert "no_such_column" in output  # the statement itself is there to debug
    assert "SQL parameters hidden" in output
    assert not [f for f in FRAGMENTS if f in output], output
