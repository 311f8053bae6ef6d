"""Marshmallow's messages in Russian, and the base schema that uses them (SPEC F4, F2).

``RussianSchema`` swaps marshmallow's default messages for ours when a field is bound,
per request, so the client's locale applies. The REST API's schemas and the route
schemas of plugins (``core.routeforms.RouteSchema``) derive from it.
"""

from __future__ import annotations

import functools
from datetime import datetime

from flask import has_request_context
from flask_babel import get_locale, gettext
from marshmallow import RAISE, Schema, ValidationError, fields

from core.params import EARLIEST_DATE, INTEGER_MAX, INTEGER_MIN, LATEST_DATE


def _t(message: str, **kwargs) -> str:
    if has_request_context():
        return gettext(message, **kwargs)
    return message % kwargs if kwargs else message


# marshmallow's own messages by key, and per field class where the wording differs.
_COMMON = {
    "required": "Обязательное поле.",
    "null": "Поле не может быть пустым (null).",
    "validator_failed": "Недопустимое значение.",
}
_INVALID = {
    fields.Integer: "Ожидается целое число.",
    fields.String: "Ожидается строка.",
    fields.Date: "Ожидается дата в формате ГГГГ-ММ-ДД.",
    fields.DateTime: "Ожидается дата и время в формате ISO 8601.",
    fields.Boolean: "Ожидается true или false.",
    fields.Email: "Укажите корректный адрес электронной почты.",
    fields.Dict: "Ожидается объект.",
    fields.List: "Ожидается список.",
    fields.Nested: "Ожидается объект.",
}


def _russian_messages(field_obj: fields.Field) -> dict[str, str]:
    locale = str(get_locale()) if has_request_context() else None
    return _messages_for(type(field_obj), locale)


@functools.lru_cache(maxsize=512)
def _messages_for(field_class: type, locale: str | None) -> dict[str, str]:
    """The messages depend only on the field's class and the language: worked out once,
    not for every field of every schema of every request (a tenth of a registry lookup)."""
    messages = {key: _t(text) for key, text in _COMMON.items()}
    for cls in field_class.__mro__:
        if cls in _INVALID:
            messages["invalid"] = _t(_INVALID[cls])
            messages["type"] = _t(_INVALID[cls])
            break
    if issubclass(field_class, fields.Integer):
        messages["too_large"] = _t("Слишком большое число.")
    if issubclass(field_class, fields.String):
        messages["invalid_utf8"] = _t("Строка должна быть в кодировке UTF-8.")
    return messages


def _integer(value: int) -> None:
    # Every integer a client sends must fit the INTEGER columns it is compared with,
    # whatever the field's own range says.
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise ValidationError(_t("Слишком большое число."))


def _in_calendar(value) -> None:
    # A moment in year 1 or 9999 leaves what ``datetime`` holds once shifted to UTC.
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(_t("Дата вне допустимого диапазона."))


def _no_nul(value: str) -> None:
    # PostgreSQL cannot store a NUL byte in text (CSV files reach the schemas directly).
    if "\x00" in value:
        raise ValidationError(_t("Недопустимый символ (NUL)."))


class RussianSchema(Schema):
    class Meta:
        unknown = RAISE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages = {
            **self.error_messages,
            "unknown": _t("Неизвестное поле."),
            "type": _t("Ожидается JSON-объект."),
        }

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.error_messages = {**field_obj.error_messages, **_russian_messages(field_obj)}
        if isinstance(field_obj, fields.Integer):
            field_obj.validators = [*field_obj.validators, _integer]
        elif isinstance(field_obj, fields.String):
            field_obj.validators = [*field_obj.validators, _no_nul]
        elif isinstance(field_obj, fields.Date | fields.DateTime):
            field_obj.validators = [*field_obj.validators, _in_calendar]
