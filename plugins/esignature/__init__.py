"""E-signature: conclusion form → PDF → GOST signature → verified archive (SPEC D9, P6).

Hook implementations only; see docs/esignature.md.
"""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.lifecycle import CompletionMethod
from core.models import Outcome

NAME = "esignature"
DESCRIPTION = _l("Электронная подпись заключения: форма заключения, PDF, подпись по ГОСТ (КриптоПро), проверка и архив подписанных документов")


@hookimpl
def teleconsult_register_config_defaults():
    return {
        # The development signer (a test CA and a certificate per doctor, made on first
        # use); only the development and testing settings turn it on, production refuses it.
        "ESIGNATURE_DEVELOPMENT_SIGNER": False,
        # «Статус отзыва неизвестен» never completes a consultation unless this is set.
        "ESIGNATURE_ACCEPT_UNKNOWN_REVOCATION": False,
        # Fetch CRLs from the certificates' distribution points (a Celery task).
        "ESIGNATURE_CRL_FETCH": True,
        "ESIGNATURE_CRL_TIMEOUT": 10,
        "ESIGNATURE_CRL_REFRESH_SECONDS": 3600.0,
        "ESIGNATURE_CRL_MAX_SIZE": 20 * 1024 * 1024,
        # The largest file «Подписать файл» accepts and the largest signature upload.
        "ESIGNATURE_MAX_SIGNATURE_SIZE": 256 * 1024,
        # Where the folder of DejaVu fonts is, when not in Debian's place.
        "ESIGNATURE_FONT_DIR": "",
        # Where npm installed cadesplugin_api.js.
        "ESIGNATURE_NODE_MODULES": str(Path(__file__).resolve().parents[2] / "node_modules"),
    }


@hookimpl
def teleconsult_config_check(settings):
    if settings["ENV"] == "production" and settings.get("ESIGNATURE_DEVELOPMENT_SIGNER"):
        return ["TELECONSULT_ESIGNATURE_DEVELOPMENT_SIGNER: the development signer must be off in production"]
    return []


@hookimpl
def teleconsult_register_migrations():
    return [str(Path(__file__).parent / "migrations" / "versions")]


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.esignature.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_api_blueprints(app):
    from plugins.esignature.api import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_admin_views():
    from plugins.esignature.admin import views

    return views()


@hookimpl
def teleconsult_register_cli_commands():
    from plugins.esignature.cli import signature

    return [signature]


@hookimpl
def teleconsult_register_tasks():
    from plugins.esignature.tasks import TASKS

    return TASKS


@hookimpl
def teleconsult_register_access_rules():
    from plugins.esignature.rules import ACCESS_RULES

    return ACCESS_RULES


@hookimpl
def teleconsult_register_audit_titles():
    from core.audit import AuditTitles

    return AuditTitles(
        actions={
            "esignature.pdf_rendered": _l("PDF заключения сформирован"),
            "esignature.signature_received": _l("Подпись получена"),
            "esignature.signature_verified": _l("Подпись проверена: действительна"),
            "esignature.signature_refused": _l("Подпись отклонена"),
            "esignature.archive_formed": _l("Архив подписанного документа сформирован"),
            "esignature.archive_downloaded": _l("Архив подписанного документа скачан"),
            "esignature.trust_list_imported": _l("Список аккредитованных УЦ загружен"),
            "esignature.crl_fetched": _l("Список отозванных сертификатов обновлён"),
        },
        objects={
            "esignature_conclusions": _l("Версия заключения"),
            "esignature_trust_lists": _l("Список аккредитованных УЦ"),
            "esignature_crls": _l("Список отозванных сертификатов"),
        },
    )


@hookimpl
def teleconsult_register_completion_methods(consultation, principal):
    return [
        CompletionMethod(
            code="signed_conclusion",
            title=_l("Завершить с формированием заключения"),
            endpoint="esignature.conclusion_form",
            outcome=Outcome.SIGNED_CONCLUSION,
            order=10,
        )
    ]


@hookimpl
def teleconsult_register_template_blocks(slot, context):
    from plugins.esignature.blocks import block

    piece = block(slot, context)
    return [piece] if piece else []


@hookimpl(optionalhook=True)
def teleconsult_register_dashboard_figures(scope):
    from plugins.esignature.figures import figures

    return figures(scope)
