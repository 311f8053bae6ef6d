"""Property-based fuzz of the REST API from its own OpenAPI document (issue 12).

Schemathesis reads ``/api/v1/openapi.json`` and generates requests for every operation,
valid by the schema and deliberately invalid; a hypothesis strategy then plants one
hostile value into a path parameter, a query parameter or a body field: lone UTF-16
surrogates, NUL, ``1e400``, ±inf, NaN, 2³¹, 2⁶³, 2⁶⁴, negatives, wrong JSON types,
a 1 MB string. Every answer must be below 500 and no traceback may reach the log.

Bounded and deterministic: ``derandomize`` with a fixed number of examples an operation,
no example database, and pytest-timeout as the bound in time (no clock is asserted).
"""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode

from core.db import db

EXAMPLES = 20  # an operation, in each generation mode

ALL_SCOPES = ["registry:read", "registry:write", "consultations:read", "consultations:write"]


class _Raw:
    """A JSON number Python cannot hold (``1e400``): written into the body as it is."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.marker = f"\u0001RAW{id(self)}\u0001"


E400 = _Raw("1e400")
HOSTILE = [
    "\ud800", "a\udfffb", "\udc00\ud800", "\x00", "nul\x00byte", E400, "1e400",
    float("inf"), float("-inf"), float("nan"), "Infinity", "NaN",
    2**31, 2**31 - 1, 2**63, 2**64, -(2**63), -(2**31) - 1, -1, 0,
    "٣", "１２", "9" * 400, "x" * (1 << 20),
    True, None, [], {}, [1, "a"], {"a": {"b": {"c": [None]}}},
]


def _text(value) -> str:
    """A hostile value as it goes into a URL (path or query), percent-encoded from its
    UTF-8 bytes, lone surrogates kept as the bytes a careless client would send."""
    if isinstance(value, _Raw):
        value = value.text
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif value is None:
        value = ""
    elif not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (list, dict)) else repr(value) if isinstance(value, float) else str(value)
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _dumps(body) -> bytes:
    markers = {}

    def swap(value):
        if isinstance(value, _Raw):
            markers[value.marker] = value.text
            return value.marker
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(body), allow_nan=True, ensure_ascii=True)
    for marker, raw in markers.items():
        text = text.replace(json.dumps(marker), raw)
    return text.encode()


def _containers(body) -> list:
    """Every dict and list inside a JSON body, the body first."""
    found, stack = [], [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            found.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    return found


@st.composite
def _plant(draw, case):
    """Where the hostile value goes: nowhere, a path or query parameter, or a body field."""
    value = draw(st.sampled_from(HOSTILE))
    path = dict(case.path_parameters or {})
    query = dict(case.query or {})
    body = None if isinstance(case.body, NotSet) else case.body
    places = ["none"] + (["path"] if path else []) + ["query"] + (["body"] if isinstance(body, (dict, list)) else [])
    place = draw(st.sampled_from(places))
    if place == "path":
        path[draw(st.sampled_from(sorted(path)))] = value
    elif place == "query":
        names = sorted(query) + [p.name for p in case.operation.query] + ["page"]
        query[draw(st.sampled_from(names))] = value
    elif place == "body":
        target = draw(st.sampled_from(_containers(body)))
        if isinstance(target, dict):
            keys = sorted(map(str, target)) + ["text", "snils", "last_name", "phone", "id", "patient_id"]
            target[draw(st.sampled_from(keys))] = value
        elif target:
            target[draw(st.integers(0, len(target) - 1))] = value
        else:
            target.append(value)
    return path, query, body


def _url(case, path: dict, query: dict) -> str:
    url = case.operation.path
    for name, value in path.items():
        url = url.replace("{" + name + "}", _text(value))
    if query:
        url += "?" + "&".join(
            f"{quote(str(k))}={_text(item)}"
            for k, v in query.items()
            for item in (v if isinstance(v, list) and v and k != "page" else [v])
        )
    return "/api/v1" + url if not url.startswith("/api/") else url


def _send(client, case, path, query, body, token: str):
    headers = {"Authorization": f"Bearer {token}"}
    url = _url(case, path, query)
    method = case.method.lower()
    if case.media_type == "multipart/form-data" and isinstance(body, dict):
        form = {}
        for key, value in body.items():
            if isinstance(value, (bytes, bytearray)):
                form[key] = (io.BytesIO(bytes(value)), "upload.pdf")
            else:
                form[key] = _text(value)
        return getattr(client, method)(url, data=form, headers=headers)
    if body is None and method == "get":
        return client.get(url, headers=headers)
    data = _dumps(body) if not isinstance(body, (bytes, bytearray)) else bytes(body)
    return getattr(client, method)(url, data=data, headers={**headers, "Content-Type": "application/json"})


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _labels() -> list[str]:
    from core.app import create_app
    import tempfile

    folder = tempfile.mkdtemp(prefix="fuzz-schema-")
    app = create_app(
        {"DATA_DIR": folder, "DATABASE_URL": f"sqlite:///{folder}/schema.sqlite3", "SERVER_NAME": None},
        environment="testing",
    )
    return [f"{op.method.upper()} {op.path}" for op in _operations(app)]


OPERATIONS = _labels()


def test_the_fuzz_covers_every_operation():
    assert len(OPERATIONS) >= 15, OPERATIONS
    assert "POST /registry/import" in {label.replace("/api/v1", "") for label in OPERATIONS}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error_for_any_generated_request(app, client, factory, caplog, label, mode):
    from core.api.auth import create_token

    consultation = factory.consultation()
    factory.doctor(organisation=consultation.organisation)
    _token, token = create_token("МИС «Фазз»", consultation.organisation_id, ALL_SCOPES)
    db.session.commit()
    (operation,) = [op for op in _operations(app) if f"{op.method.upper()} {op.path}" == label]
    failures: list[str] = []
    statuses: list[int] = []
    caplog.set_level(logging.WARNING)

    @settings(
        max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        case = data.draw(operation.as_strategy(generation_mode=mode))
        path, query, body = data.draw(_plant(case))
        response = _send(client, case, path, query, body, token)
        db.session.rollback()  # the test's session sees the app's commits afresh
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.method} {_url(case, path, query)[:200]} {str(body)[:200]}")

    run()
    tracebacks = [r.getMessage()[:300] for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not failures, failures[:5]
    assert statuses and 401 not in statuses, "every request carries a valid token: the fuzz reaches the handlers"
    assert not tracebacks, tracebacks[:5]
