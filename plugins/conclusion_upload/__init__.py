"""Completion with a scanned, hand-signed conclusion («Завершить с загрузкой заключения», SPEC D9)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.lifecycle import CompletionMethod
from core.models import Outcome

# What the console's «Плагины» shows (Russian, translated through Flask-Babel).
DESCRIPTION = _l("Завершение консультации с загрузкой скан-копии заключения, подписанного вручную")


@hookimpl
def teleconsult_register_config_defaults():
    # A scan of a few pages; the core's DOCUMENT_MAX_SIZE still caps any single file.
    return {"CONCLUSION_UPLOAD_MAX_SIZE": 10 * 1024 * 1024}


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.conclusion_upload.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_api_blueprints(app):
    from plugins.conclusion_upload.api import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_completion_methods(consultation, principal):
    return [
        CompletionMethod(
            code="uploaded_conclusion",
            title=_l("Завершить с загрузкой заключения"),
            endpoint="conclusion_upload.upload",
            outcome=Outcome.UPLOADED_CONCLUSION,
            order=50,
        )
    ]
