"""What an endpoint of the REST API is made of, the core's and a plugin's alike: its
OpenAPI description (``operation``), its JSON body and its consultation."""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import NotFound

from core import params
from core.access import require
from core.db import db
from core.errors import InvalidInput, UserError
from core.models import Consultation


def operation(
    summary: str,
    *,
    action: str,
    body: type[Schema] | None = None,
    form: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    file_types: tuple[str, ...] = (),
    many: bool = False,
    status: int = 200,
    errors: tuple[int, ...] = (),
    description: str = "",
    scopes: tuple[str, ...] | None = None,
) -> Callable:
    """Describe a view for the OpenAPI document; ``action`` is its ``core.access`` rule.

    ``body`` is a JSON request body, ``form`` a multipart one (files as ``fields.Raw`` with
    ``format: binary``); ``file_types`` are the content types of a file answered instead
    of JSON. ``scopes``: the token scopes that satisfy ``action``, for a plugin's own rule
    (the core's are in ``core.api.openapi.SCOPES_FOR_ACTION``).
    """

    def decorate(view):
        docs = getattr(view, "api_docs", {})
        docs.update(
            summary=summary,
            action=action,
            body=body,
            form=form,
            query=query,
            response=response,
            file_types=file_types,
            many=many,
            status=status,
            errors=errors,
            description=description,
            scopes=scopes,
        )
        view.api_docs = docs
        return view

    return decorate


def json_body() -> dict:
    """The request's JSON object, or a 4xx with a Russian message."""
    if not request.is_json:
        raise UserError(_("Тело запроса должно быть в формате JSON (Content-Type: application/json)"), status=415)
    return params.json_object()


def load(schema: Schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidInput(_("Проверьте поля запроса"), field_errors=_plain(error.messages)) from None


def _plain(messages):
    """marshmallow's error dict with every message a plain string (lazy ones rendered)."""
    if isinstance(messages, dict):
        return {str(k): _plain(v) for k, v in messages.items()}
    if isinstance(messages, list | tuple):
        return [_plain(m) for m in messages]
    return str(messages)


def consultation_or_404(consultation_id: int) -> Consultation:
    # Nobody, or a token without a consultation scope: 401/403 before any lookup, so the
    # answer never tells which consultation ids exist.
    require("consultation.lookup")
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound()
    return consultation
