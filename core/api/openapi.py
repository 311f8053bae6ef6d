"""The OpenAPI 3 document of ``/api/v1``, built with apispec from the URL map, the
``@operation`` notes on the views and their marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from core.api.schemas import ErrorSchema
from core.routing import route_registry

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")
_ERROR_TEXT = {
    400: "Некорректный запрос (например, тело не JSON)",
    401: "Нет действующего токена",
    403: "У токена нет нужной области доступа (scope)",
    404: "Не найдено или не относится к вашей организации",
    409: "Конфликт (слот уже занят, заявка уже закрыта, одновременное изменение)",
    413: "Слишком большой пакет или файл",
    415: "Тело не того типа (JSON или multipart/form-data, как описано)",
    422: "Ошибки в полях запроса",
}
# Which token scope satisfies each access rule (for the reader of the document).
SCOPES_FOR_ACTION = {
    "registry.search": ["registry:read"],
    "registry.view_record": ["registry:read"],
    "registry.import": ["registry:write"],
    "dictionary.view": ["consultations:read", "consultations:write"],
    "staff.directory": ["consultations:read", "consultations:write"],
    "schedule.free_slots": ["consultations:read", "consultations:write"],
    "consultation.create": ["consultations:write"],
    "consultation.list": ["consultations:read"],
    "consultation.view": ["consultations:read"],
    "consultation.complete": ["consultations:write"],
    "document.view": ["consultations:read"],
    "api.docs": [],
}


def api_rules(app: Flask):
    """The URL rules of the ``api`` blueprint, in a stable order."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")),
        key=lambda rule: (rule.rule, rule.endpoint),
    )


def _path(rule) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match):
        kind = {"int": "integer", "float": "number"}.get(match.group("conv") or "", "string")
        parameters.append({"in": "path", "name": match.group("name"), "required": True, "schema": {"type": kind}})
        return "{" + match.group("name") + "}"

    return _CONVERTER.sub(replace, rule.rule), parameters


def build(app: Flask) -> dict:
    spec = APISpec(
        title="teleconsult API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "REST API телемедицинской системы для медицинских информационных систем: "
            "регистр пациентов, типы консультаций, заявки, расписание. Доступ — по токену "
            "(Authorization: Bearer); ошибки — {\"error\": {\"status\", \"message\", \"fields\"}}."
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        docs = getattr(view, "api_docs", None)
        if docs is None:
            raise RuntimeError(f"API view {rule.endpoint} has no @operation description")
        path, parameters = _path(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = {
                "operationId": rule.endpoint.removeprefix("api.").replace(".", "_"),
                "summary": docs["summary"],
                "description": docs["description"],
                "parameters": list(parameters),
                "responses": {},
            }
            scopes = docs["scopes"] if docs["scopes"] is not None else SCOPES_FOR_ACTION.get(docs["action"])
            if scopes is None:
                raise RuntimeError(f"no scope documented for access rule {docs['action']!r}")
            if docs["action"] == "api.docs":
                operation["security"] = []
            else:
                operation["security"] = [{"bearer": []}]
                operation["description"] += f"\n\nОбласти доступа токена (любая): {', '.join(scopes)}."
            if docs["query"] is not None:
                operation["parameters"].append({"in": "query", "schema": docs["query"]})
            if docs["body"] is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": docs["body"]}},
                }
            if docs["form"] is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": docs["form"]}},
                }
            if docs["file_types"]:
                binary = {"schema": {"type": "string", "format": "binary"}}
                operation["responses"][str(docs["status"])] = {
                    "description": "Файл",
                    "content": {content_type: binary for content_type in docs["file_types"]},
                }
            elif docs["response"] is not None:
                schema = {"type": "array", "items": docs["response"]} if docs["many"] else docs["response"]
                operation["responses"][str(docs["status"])] = {
                    "description": "Успешно",
                    "content": {"application/json": {"schema": schema}},
                }
            else:
                operation["responses"][str(docs["status"])] = {"description": "Успешно"}
            codes = set(docs["errors"])
            if docs["body"] is not None or docs["form"] is not None:
                codes |= {400, 415}
            for code in sorted(codes):
                operation["responses"][str(code)] = {
                    "description": _ERROR_TEXT.get(code, "Ошибка"),
                    "content": {"application/json": {"schema": "Error"}},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    routes = _route_schemas(app, spec)
    document = _plain(spec.to_dict())
    _type_route_data(document, routes)
    return document


def route_schema_name(code: str, part: str) -> str:
    """``follow_up``, ``Application`` -> ``FollowUpApplication``: the component of a route's
    application or conclusion fields."""
    return "".join(word.capitalize() for word in re.split(r"[^0-9A-Za-z]+", code) if word) + part


def _route_schemas(app: Flask, spec: APISpec) -> dict[str, dict]:
    """Publish each route's application and conclusion schemas as components (F2, F4)."""
    routes: dict[str, dict] = {}
    for code, (plugin, route) in sorted(route_registry(app).items()):
        entry: dict = {"title": str(route.title), "plugin": plugin, "types": [t.code for t in route.types]}
        for part, schema in (("Application", route.application_schema), ("Conclusion", route.conclusion_schema)):
            if schema is None:
                continue
            name = route_schema_name(code, part)
            spec.components.schema(name, schema=schema)
            entry[part.lower()] = {"$ref": f"#/components/schemas/{name}"}
        routes[code] = entry
    return routes


def _type_route_data(document: dict, routes: dict[str, dict]) -> None:
    """``route_data`` and ``conclusion_data`` typed by the routes' schemas, and the
    routes listed under ``x-teleconsult-routes`` (which type belongs to which route)."""
    document["x-teleconsult-routes"] = routes
    schemas = document.get("components", {}).get("schemas", {})
    for key, part in (("route_data", "application"), ("conclusion_data", "conclusion")):
        refs = [entry[part] for entry in routes.values() if part in entry]
        if not refs:
            continue
        for schema in schemas.values():
            prop = schema.get("properties", {}).get(key)
            if prop is not None and prop.get("type") == "object":
                prop["anyOf"] = refs
                prop["description"] = (
                    f"{prop.get('description', '')}. Схема зависит от маршрута типа консультации "
                    "(x-teleconsult-routes); ошибки — в fields." + key
                ).strip()


def _plain(value):
    """The document with Flask-Babel's lazy strings made plain text (labels of route fields)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is not None and not isinstance(value, str | int | float | bool):
        return str(value)
    return value


def openapi_document(app: Flask) -> dict:
    cached = app.extensions.get("teleconsult.openapi")
    if cached is None:
        cached = app.extensions["teleconsult.openapi"] = build(app)
    return cached
