"""The ``guardianships`` section of a registry import batch (``POST /api/v1/registry/import``)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from core.api.schemas import PersonReferenceSchema
from core.registry_import import LinkImport
from core.russian_schema import RussianSchema, _t
from plugins.guardian import links


class GuardianshipImportSchema(RussianSchema):
    representative = fields.Nested(PersonReferenceSchema, required=True)
    child = fields.Nested(PersonReferenceSchema, required=True)
    kind = fields.String(
        load_default="parent",
        validate=validate.OneOf(["parent", "guardian"], error=_t("Вид связи: parent или guardian.")),
    )


def _plain(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {str(k): _plain(v) for k, v in messages.items()}
    if isinstance(messages, list | tuple):
        return [_plain(m) for m in messages]
    return str(messages)


def load_links(connection, rows: list[Any], organisation_id: int | None) -> LinkImport:
    """Every row checked first; with any error nothing of the section is written."""
    schema = GuardianshipImportSchema()
    loaded: list[tuple[int, dict]] = []
    errors: dict[int, dict] = {}
    for index, raw in enumerate(rows):
        try:
            loaded.append((index, schema.load(raw)))
        except ValidationError as error:
            errors[index] = _plain(error.messages)
    if errors:
        return LinkImport(errors=errors)
    plan = links.resolve_imported(connection, loaded, organisation_id=organisation_id)
    if plan.errors:
        return LinkImport(errors=plan.errors)
    links.write_imported(connection, plan)
    return LinkImport(outcomes=plan.outcomes, written=len(plan.inserts))
