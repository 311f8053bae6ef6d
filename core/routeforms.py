"""Route forms: a route's marshmallow schema as a Russian HTML form (SPEC F2, D5).

A route plugin describes the extra fields of its application and of its conclusion as a
``RouteSchema`` built with the helpers below. The same schema then

- renders the form (``form_fields`` → the macro ``route_fields`` of
  ``_route_form.html``): input type from the field's class, the «*» of a required field,
  choices, hints and the Russian label from the field's ``metadata``;
- reads the submitted form back (``read_form``: strings as a browser sends them, a
  decimal comma accepted, unticked boxes false);
- validates it with Russian messages per field (``load_application``,
  ``load_conclusion``: ``InvalidInput`` whose ``field_errors`` nest the field messages
  under ``route_data`` / ``conclusion_data``, so they never collide with core fields);
- shows what was stored (``data_items`` → the macro ``route_data_list``), on the card,
  in the patient's view, in the chat's completion message and in a PDF.

Metadata keys a field may carry: ``label`` (Russian, shown before the input; also the
OpenAPI ``title``), ``hint`` (shown under it; also the ``description``), ``choices``
(``[(value, label), ...]`` for a ``OneOf`` field or a list of them), ``widget``
(``"textarea"``, ``"radio"``, ``"select"``, ``"checkboxes"``), ``unit`` (shown after a
number). Plain marshmallow fields work too; the helpers just fill these in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date as date_type
from typing import TYPE_CHECKING, Any

import marshmallow
from flask_babel import gettext, lazy_gettext as _l
from marshmallow import fields, validate

from core.russian_schema import RussianSchema, _t
from core.errors import InvalidInput
from core.routing import route_for

if TYPE_CHECKING:
    from core.models import Consultation
    from core.routespec import RouteSpec

APPLICATION = "route_data"
CONCLUSION = "conclusion_data"
TEXT_MAX_LENGTH = 500
TEXTAREA_MAX_LENGTH = 4000


class RouteSchema(RussianSchema):
    """The base of a route's application or conclusion schema.

    Russian messages for every field (through the catalogue, so the English locale
    works), unknown keys refused («Неизвестное поле.»), integers within the database's
    range, no NUL in strings, dates within the calendar the app can store.
    """


# --------------------------------------------------------------------------- field helpers


def _meta(label, hint, **extra) -> dict:
    meta = {"label": label, "title": label}
    if hint:
        meta["hint"] = hint
        meta["description"] = hint
    meta.update({k: v for k, v in extra.items() if v is not None})
    return meta


def _required_kwargs(required: bool) -> dict:
    return {"required": True} if required else {"load_default": None, "allow_none": True}


def text(label, *, required=False, hint=None, max_length=TEXT_MAX_LENGTH, pattern=None, pattern_error=None) -> fields.String:
    """A one-line text field."""
    checks = [validate.Length(max=max_length, error=_t("Не длиннее %(n)s символов.", n=max_length))]
    if required:
        checks.append(validate.Length(min=1, error=_t("Обязательное поле.")))
    if pattern:
        checks.append(validate.Regexp(pattern, error=pattern_error or _t("Недопустимое значение.")))
    return fields.String(validate=checks, metadata=_meta(label, hint), **_required_kwargs(required))


def textarea(label, *, required=False, hint=None, max_length=TEXTAREA_MAX_LENGTH) -> fields.String:
    """A text of several lines."""
    field_obj = text(label, required=required, hint=hint, max_length=max_length)
    field_obj.metadata = {**field_obj.metadata, "widget": "textarea"}
    return field_obj


def _range(minimum, maximum):
    if minimum is None and maximum is None:
        return []
    error = _t("Значение от %(a)s до %(b)s.", a=minimum, b=maximum) if minimum is not None and maximum is not None else None
    return [validate.Range(min=minimum, max=maximum, error=error or _t("Недопустимое значение."))]


def integer(label, *, required=False, hint=None, minimum=None, maximum=None, unit=None) -> fields.Integer:
    """A whole number (pulse, breathing rate), optionally within ``minimum``..``maximum``."""
    return fields.Integer(
        validate=_range(minimum, maximum),
        metadata=_meta(label, hint, unit=unit, minimum=minimum, maximum=maximum),
        **_required_kwargs(required),
    )


def number(label, *, required=False, hint=None, minimum=None, maximum=None, unit=None, places=1) -> fields.Float:
    """A decimal number (temperature, weight); the form accepts «37,8» as well as «37.8»."""
    return fields.Float(
        validate=_range(minimum, maximum),
        metadata=_meta(label, hint, unit=unit, minimum=minimum, maximum=maximum, places=places),
        **_required_kwargs(required),
    )


def date(label, *, required=False, hint=None, not_future=False, not_past=False) -> fields.Date:
    """A calendar date (``<input type="date">``)."""
    checks = []
    if not_future:
        checks.append(_not_after_today)
    if not_past:
        checks.append(_not_before_today)
    return fields.Date(validate=checks, metadata=_meta(label, hint, not_future=not_future or None), **_required_kwargs(required))


def _not_after_today(value: date_type) -> None:
    if value > date_type.today():
        raise marshmallow.ValidationError(_t("Дата не может быть в будущем."))


def _not_before_today(value: date_type) -> None:
    if value < date_type.today():
        raise marshmallow.ValidationError(_t("Дата не может быть в прошлом."))


def _one_of(choices: Sequence[tuple[str, Any]]):
    return validate.OneOf([value for value, _label in choices], error=_t("Выберите значение из списка."))


def choice(label, choices: Sequence[tuple[str, Any]], *, required=False, hint=None, widget="select") -> fields.String:
    """One of ``choices`` (``[(value, label), ...]``), as a list (``"select"``) or radio buttons."""
    return fields.String(
        validate=_one_of(choices),
        metadata=_meta(label, hint, choices=tuple(choices), widget=widget),
        **_required_kwargs(required),
    )


def choices(label, choices: Sequence[tuple[str, Any]], *, required=False, hint=None) -> fields.List:
    """Any number of ``choices``, as checkboxes; ``required``: at least one."""
    checks = [validate.Length(min=1, error=_t("Отметьте хотя бы один вариант."))] if required else []
    return fields.List(
        fields.String(validate=_one_of(choices)),
        validate=checks,
        metadata=_meta(label, hint, choices=tuple(choices), widget="checkboxes"),
        **({"required": True} if required else {"load_default": list}),
    )


def flag(label, *, hint=None) -> fields.Boolean:
    """A yes/no checkbox (false when left unticked)."""
    return fields.Boolean(load_default=False, metadata=_meta(label, hint, widget="checkbox"))


ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$"


def icd10(label=_l("Код диагноза по МКБ-10"), *, required=False, hint=_l("Например, J06.9")) -> fields.String:
    """A code of the ICD-10 (МКБ-10): a Latin capital letter, two digits, an optional
    subcategory (``U07.1``, ``J18``); the form upper-cases what is typed."""
    field_obj = text(
        label, required=required, hint=hint, max_length=7, pattern=ICD10_PATTERN,
        pattern_error=_t("Код МКБ-10: латинская буква, две цифры и, при необходимости, точка и подрубрика (J06.9)."),
    )
    field_obj.metadata = {**field_obj.metadata, "widget": "icd10"}
    return field_obj


# --------------------------------------------------------------------------- the form


@dataclass
class FieldView:
    """One field of a route form, as its template needs it."""

    name: str
    input_name: str
    input_id: str
    label: str
    kind: str  # text, textarea, integer, number, date, select, radio, checkboxes, checkbox
    required: bool
    hint: str | None = None
    unit: str | None = None
    minimum: Any = None
    maximum: Any = None
    step: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    errors: list[str] = field(default_factory=list)


def _kind(field_obj: fields.Field) -> str:
    widget = field_obj.metadata.get("widget")
    if isinstance(field_obj, fields.Boolean):
        return "checkbox"
    if isinstance(field_obj, fields.List):
        return "checkboxes"
    if isinstance(field_obj, fields.Date):
        return "date"
    if isinstance(field_obj, fields.Integer):
        return "integer"
    if isinstance(field_obj, fields.Float | fields.Decimal):
        return "number"
    if _choices(field_obj):
        return "radio" if widget == "radio" else "select"
    if widget == "textarea":
        return "textarea"
    return "text"


def _choices(field_obj: fields.Field) -> list[tuple[str, str]]:
    listed = field_obj.metadata.get("choices")
    if listed:
        return [(str(value), str(label)) for value, label in listed]
    inner = field_obj.inner if isinstance(field_obj, fields.List) else field_obj
    for check in getattr(inner, "validators", ()):
        if isinstance(check, validate.OneOf):
            return [(str(value), str(label)) for value, label in check.options()]
    return []


def _label(name: str, field_obj: fields.Field) -> str:
    meta = field_obj.metadata
    return str(meta.get("label") or meta.get("title") or name)


def _hint(field_obj: fields.Field) -> str | None:
    meta = field_obj.metadata
    hint = meta.get("hint") or meta.get("description")
    return str(hint) if hint else None


def _errors_of(errors: Any, name: str) -> list[str]:
    found = errors.get(name) if isinstance(errors, Mapping) else None
    if found is None:
        return []
    if isinstance(found, Mapping):  # a list's per-item messages: {0: [...]}
        return [str(m) for messages in found.values() for m in (messages if isinstance(messages, list) else [messages])]
    return [str(m) for m in (found if isinstance(found, list) else [found])]


def _shown_value(kind: str, value: Any) -> Any:
    if kind == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list | tuple) else []
    if kind == "checkbox":
        return value in (True, "true", "on", "1", 1)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_fields(schema: type[marshmallow.Schema] | None, values: Mapping | None = None,
                errors: Mapping | None = None, prefix: str = APPLICATION) -> list[FieldView]:
    """The fields of ``schema`` filled with ``values`` (stored or as typed) and ``errors``
    (the field messages of ``InvalidInput.field_errors[prefix]``)."""
    if schema is None:
        return []
    values = values or {}
    shown = []
    for name, field_obj in schema().fields.items():
        if field_obj.dump_only:
            continue
        kind = _kind(field_obj)
        meta = field_obj.metadata
        shown.append(
            FieldView(
                name=name,
                input_name=f"{prefix}.{name}",
                input_id=f"{prefix}-{name}",
                label=_label(name, field_obj),
                kind=kind,
                required=bool(field_obj.required),
                hint=_hint(field_obj),
                unit=str(meta["unit"]) if meta.get("unit") else None,
                minimum=meta.get("minimum"),
                maximum=meta.get("maximum"),
                step="1" if kind == "integer" else None,
                choices=_choices(field_obj),
                value=_shown_value(kind, values.get(name)),
                errors=_errors_of(errors, name),
            )
        )
    return shown


def read_form(schema: type[marshmallow.Schema] | None, formdata, prefix: str = APPLICATION) -> dict:
    """What the browser sent for ``schema``'s fields, ready for ``schema.load``: empty
    inputs left out (so a required one is «Обязательное поле.»), a decimal comma made a
    point, checkbox lists as lists, an unticked box false. Other form keys are ignored."""
    if schema is None:
        return {}
    raw: dict[str, Any] = {}
    for name, field_obj in schema().fields.items():
        key = f"{prefix}.{name}"
        kind = _kind(field_obj)
        if kind == "checkboxes":
            raw[name] = [v for v in formdata.getlist(key) if v]
            continue
        if kind == "checkbox":
            raw[name] = formdata.get(key) in ("on", "true", "1")
            continue
        value = (formdata.get(key) or "").strip()
        if not value:
            continue
        if kind == "number":
            value = value.replace(",", ".").replace(" ", "")
        elif field_obj.metadata.get("widget") == "icd10":
            value = value.upper().replace(",", ".")
        raw[name] = value
    return raw


def _load(schema: type[marshmallow.Schema] | None, data: Any, key: str, message) -> dict:
    if schema is None:
        return {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        text_ = gettext("Ожидается объект.")
        raise InvalidInput(message, field_errors={key: [text_]})
    instance = schema()
    try:
        # Round trip so that dates and decimals are stored as JSON-friendly values; what
        # was left empty is not stored.
        dumped = instance.dump(instance.load(dict(data)))
        return {key: value for key, value in dumped.items() if value is not None}
    except marshmallow.ValidationError as error:
        raise InvalidInput(message, field_errors={key: error.messages}) from None


def load_application(route: RouteSpec, data: Any) -> dict:
    """The route's application fields, validated; else ``InvalidInput`` with the field
    messages under ``route_data``."""
    return _load(route.application_schema, data, APPLICATION, _l("Проверьте сведения для консультации"))


def load_conclusion(route: RouteSpec, data: Any) -> dict:
    """The route's conclusion fields, validated; else ``InvalidInput`` with the field
    messages under ``conclusion_data``."""
    return _load(route.conclusion_schema, data, CONCLUSION, _l("Проверьте поля заключения"))


def field_messages(error: InvalidInput, key: str) -> dict:
    """The per-field messages of a refused route form (for ``form_fields``)."""
    found = (error.field_errors or {}).get(key)
    return found if isinstance(found, Mapping) else {}


# --------------------------------------------------------------------------- showing


def _display(kind: str, field_obj: fields.Field, value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if kind == "checkbox":
        return gettext("да") if value else None
    labels = dict(_choices(field_obj))
    if kind == "checkboxes":
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if labels:
        return labels.get(str(value), str(value))
    if kind == "date":
        try:
            return date_type.fromisoformat(str(value)).strftime("%d.%m.%Y")
        except ValueError:
            return str(value)
    if kind == "number" and isinstance(value, float):
        shown = f"{value:g}".replace(".", ",")
    else:
        shown = str(value)
    unit = field_obj.metadata.get("unit")
    return f"{shown} {unit}" if unit else shown


def data_items(schema: type[marshmallow.Schema] | None, data: Mapping | None) -> list[tuple[str, str]]:
    """``[(label, text), ...]`` of what is filled in, in the schema's order; choices by
    their labels, dates as ДД.ММ.ГГГГ. Keys the schema no longer has are shown by name."""
    data = data or {}
    if not data:
        return []
    items = []
    known = schema().fields if schema is not None else {}
    for name, field_obj in known.items():
        shown = _display(_kind(field_obj), field_obj, data.get(name))
        if shown is not None:
            items.append((_label(name, field_obj), shown))
    for name, value in data.items():
        if name not in known and value not in (None, "", []):
            items.append((name, str(value)))
    return items


def application_items(consultation: Consultation) -> list[tuple[str, str]]:
    """The consultation's route data as ``[(label, text), ...]``."""
    return data_items(route_for(consultation.type).application_schema, consultation.route_data)


def conclusion_items(consultation: Consultation) -> list[tuple[str, str]]:
    """The consultation's conclusion fields as ``[(label, text), ...]``."""
    return data_items(route_for(consultation.type).conclusion_schema, consultation.conclusion_data)
