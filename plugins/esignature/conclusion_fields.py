"""The conclusion form's fields: the consultation route's conclusion schema, shown,
read and validated by the core's route forms (``core.routeforms``, SPEC F2)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import routeforms
from core.errors import InvalidInput
from core.routing import route_for

PREFIX = routeforms.CONCLUSION


def conclusion_schema(consultation):
    return route_for(consultation.type).conclusion_schema


def read_form(consultation, formdata) -> dict:
    return routeforms.read_form(conclusion_schema(consultation), formdata, PREFIX)


def load(consultation, typed: dict) -> dict:
    """Validated conclusion data; ``InvalidInput`` (Russian, per field) otherwise. A
    signed conclusion must say something: a form left wholly empty is refused."""
    data = routeforms.load_conclusion(route_for(consultation.type), typed)
    if conclusion_schema(consultation) is not None and not data:
        message = _l("Заполните поля заключения: пустое заключение не подписывается")
        raise InvalidInput(message, field_errors={PREFIX: {}})
    return data


def field_errors(problem: InvalidInput) -> dict:
    return routeforms.field_messages(problem, PREFIX)


def form_fields(consultation, values: dict, errors: dict):
    return routeforms.form_fields(conclusion_schema(consultation), values, errors, PREFIX)


def items(consultation, data: dict) -> list[tuple[str, str]]:
    return routeforms.data_items(conclusion_schema(consultation), data)
