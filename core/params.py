"""Values that clients send, checked the same way for every view.

Query strings and forms carry text; views want row ids, page numbers and bounded counts.
``str.isdigit`` and ``int()`` accept much more than a person types: ``"²".isdigit()`` is
true while ``int("²")`` fails, ``int("٣")`` is 3, ``int(" 1_0 ")`` is 10, and a number
past 64 bits overflows SQLite's driver, while PostgreSQL refuses to compare its INTEGER
columns (every id here) with anything past 32 bits. The helpers take ASCII digits only,
within the INTEGER range, and the URL converter that replaces Flask's ``int`` does the
same for ``<int:...>`` parts of URLs.

A NUL byte is refused for the whole request (``refuse_nul_bytes``): PostgreSQL cannot
store it in text, and no person types one; so are a lone UTF-16 surrogate (``"\\ud800"``
in JSON: no encoder can write it) and JSON numbers no column holds (``1e400`` and
``NaN`` parse as floats that are not finite; integers past the INTEGER range). The same
guard checks every argument of every Socket.IO event (``refuse_nul_in``).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from core.db import db
from core.errors import InvalidInput, UserError

# Ids, counters and sequence numbers are INTEGER columns (PostgreSQL's int4).
INTEGER_MAX = 2**31 - 1
INTEGER_MIN = -(2**31)
MAX_PAGE = 100_000
# Dates a person may mean; past these, a week or a day later (or earlier) leaves what
# ``datetime`` and the databases can hold.
EARLIEST_DATE = date(1800, 1, 1)
LATEST_DATE = date(2999, 12, 31)
# A longer run of digits is out of range before it is parsed.
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def to_int(value: Any, minimum: int = 0, maximum: int = INTEGER_MAX) -> int | None:
    """``value`` (text of ASCII digits, or an int) if it lies in ``[minimum, maximum]``,
    else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if minimum <= number <= maximum else None


def to_id(value: Any) -> int | None:
    """A row id picked by the client (``?organisation=12``, ``slot_id=34``), or None."""
    return to_int(value, 1)


def ids(values) -> list[int]:
    """The row ids among what the client sent (``rowid=3&rowid=4``); the rest is dropped."""
    return [number for number in map(to_id, values) if number is not None]


def row(model: type, value: Any):
    """The row of ``model`` whose id the client sent (``reason_id=3``), or None."""
    row_id = to_id(value)
    return db.session.get(model, row_id) if row_id is not None else None


def page_number(value: Any) -> int:
    """A list's page (``?page=``): anything but a sensible page number is the first page."""
    return to_int(value, 1, MAX_PAGE) or 1


def bounded_int(value: Any, minimum: int, maximum: int, message=None, *, required: bool = True) -> int | None:
    """An integer the client gives within ``[minimum, maximum]``, else ``InvalidInput``
    with ``message``; with ``required=False`` an absent or empty value is None."""
    if not required and value in (None, ""):
        return None
    number = to_int(value, minimum, maximum)
    if number is None:
        raise InvalidInput(message or _l("Укажите целое число от %(a)s до %(b)s", a=minimum, b=maximum))
    return number


def to_date(value: Any, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE) -> date | None:
    """An ISO date (``2025-03-14``) between ``earliest`` and ``latest``, or None."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if earliest <= day <= latest else None


class BoundedIntegerConverter(IntegerConverter):
    """Flask's ``int`` URL converter, limited to ASCII digits: a URL with ``²`` or a
    number past what a row id can be matches no route and answers 404. (``<int:...>``
    parts are row ids.)"""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False):
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=INTEGER_MIN if min is None else min,
            max=INTEGER_MAX if max is None else max,
            signed=signed,
        )


# --------------------------------------------------------------------------- request guards

NUL_MESSAGE = _l("Запрос содержит недопустимый символ (NUL). Уберите его и повторите.")
SURROGATE_MESSAGE = _l(
    "Запрос содержит недопустимый символ (непарный суррогат UTF-16). Уберите его и повторите."
)
NUMBER_MESSAGE = _l(
    "Запрос содержит недопустимое число (бесконечность, NaN или вне диапазона от %(a)s до %(b)s).",
    a=INTEGER_MIN,
    b=INTEGER_MAX,
)
# No request of this app nests deeper; Python's JSON parser and encoder give up far below
# what a client can send (``[[[[...`` ten thousand times).
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> Any:
    """Why a client's text cannot be stored (a NUL byte: PostgreSQL refuses it; a lone
    UTF-16 surrogate: no encoder takes it), or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    if _SURROGATE.search(text):
        return SURROGATE_MESSAGE
    return None


def value_problem(value: Any) -> Any:
    """Why a JSON scalar from a client is refused, or None: text as ``text_problem``;
    numbers that are not finite (``1e400``, ``NaN``, ``Infinity``: Python's JSON parser
    takes them all) or integers no column of this app holds (past PostgreSQL's INTEGER)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else NUMBER_MESSAGE
    if isinstance(value, int):
        return None if INTEGER_MIN <= value <= INTEGER_MAX else NUMBER_MESSAGE
    return None


def refuse_nul_bytes() -> None:
    """Before every request, the one guard of what clients send over HTTP: a NUL byte or
    a lone surrogate in the path, the query string, the form (names, values, file names)
    or a JSON body (keys and values), or a JSON number that is not finite or past the
    INTEGER range, is a 400; a JSON body that is not valid JSON, or not an object, too.
    JSON answers name the fields (``{"patients": {"3": {"last_name": [...]}}}``), so a
    registry batch shows which record to fix."""
    problems: dict[str, list] = {}
    found = text_problem(request.path)
    if found:
        problems["_path"] = [found]
    for source, values in (("_query", request.args), ("_form", request.form)):
        for name, value in values.items(multi=True):
            found = text_problem(name) or text_problem(value)
            if found:
                problems[source] = [found]
                break
    for _name, upload in request.files.items(multi=True):
        found = text_problem(upload.filename or "")
        if found:
            problems["_files"] = [found]
            break
    if request.is_json and request.content_length != 0:
        problems.update(_bad_paths(json_object()))
    if problems:
        raise UserError(_first_message(problems), field_errors=problems, status=400)


def json_object() -> dict:
    """The request's JSON body, which must be an object; else a 400 in Russian."""
    try:
        data = request.get_json()
    except (BadRequest, RecursionError):
        raise UserError(_l("Тело запроса не является корректным JSON"), status=400) from None
    if not isinstance(data, dict):
        raise UserError(_l("Тело запроса должно быть JSON-объектом"), status=400)
    return data


def refuse_nul_in(values) -> None:
    """The same guard for the arguments of a Socket.IO event (every event of every
    namespace, ``core.realtime``): a refused value anywhere in them, or nesting deeper
    than ``MAX_JSON_DEPTH``, is a 400 before any handler sees them."""
    problems = _bad_paths(list(values))
    if problems:
        raise UserError(_first_message(problems), field_errors=problems, status=400)


def _first_message(problems: dict) -> Any:
    value: Any = problems
    while isinstance(value, dict):
        value = next(iter(value.values()))
    return value[0]


def _bad_paths(value: Any, depth: int = 0) -> dict:
    """The places in a JSON value that hold a refused value, as a tree of the same shape."""
    if depth > MAX_JSON_DEPTH:
        raise UserError(_l("В теле запроса слишком глубокая вложенность (больше %(n)s уровней)", n=MAX_JSON_DEPTH), status=400)
    if not isinstance(value, dict | list):
        found = value_problem(value)
        return {"": [found]} if found else {}
    items = value.items() if isinstance(value, dict) else enumerate(value)
    problems: dict = {}
    for key, item in items:
        key = str(key)
        found = text_problem(key)
        if found:
            problems[key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace").replace("\x00", "\\u0000")] = [found]
            continue
        inner = _bad_paths(item, depth + 1)
        if inner:
            problems[key] = inner.get("") if list(inner) == [""] else inner
    return problems
