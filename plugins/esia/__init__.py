"""Patient login through ESIA (Госуслуги), with a development identity provider."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from plugins.esia.client import DEFAULT_SCOPES, REQUIRED_SCOPES
from plugins.esia.signing import DEVELOPMENT_SIGNER

# What the console's «Плагины» shows (Russian, translated through Flask-Babel).
DESCRIPTION = _l("Вход пациентов через Госуслуги (ЕСИА), с учебным поставщиком удостоверений для разработки")


@hookimpl
def teleconsult_register_config_defaults():
    return {
        # ESIA's address (browser and server). Empty: the development IdP of this app.
        "ESIA_URL": "",
        # Where the server reaches ESIA when not at ESIA_URL (a proxy; tests).
        "ESIA_BACKCHANNEL_URL": "",
        "ESIA_CLIENT_ID": "TELECONSULT",
        "ESIA_SCOPES": DEFAULT_SCOPES,
        "ESIA_ISSUER": "http://esia.gosuslugi.ru/",
        # ESIA's public keys as a JWKS, or where to fetch them; empty: ESIA_URL/jwks.
        "ESIA_JWKS": {},
        "ESIA_JWKS_URL": "",
        # Absolute callback address registered at ESIA; empty: derived from the request.
        "ESIA_REDIRECT_URI": "",
        # ESIA's logout; empty: ESIA_URL/idp/ext/Logout. Where it sends the browser back;
        # empty: this portal's «Вход через Госуслуги».
        "ESIA_LOGOUT_URL": "",
        "ESIA_LOGOUT_REDIRECT_URI": "",
        # The client_secret signer, "package.module:Class" (a GOST signer in production).
        "ESIA_SIGNER": DEVELOPMENT_SIGNER,
        "ESIA_TIMEOUT": 10,
        # The development identity provider: only the development and testing settings enable it.
        "ESIA_DEV_IDP": False,
        "ESIA_REGISTRATION_URL": "https://esia.gosuslugi.ru/registration/",
        "ESIA_UPGRADE_URL": "https://lk.gosuslugi.ru/profile/personal",
        "ESIA_INSTRUCTION_URL": "https://gu.spb.ru/upload/instructions/registracia_esia_fl.pdf",
    }


@hookimpl
def teleconsult_config_check(settings):
    if settings["ENV"] != "production":
        return []
    problems = []
    if settings.get("ESIA_DEV_IDP"):
        problems.append("TELECONSULT_ESIA_DEV_IDP: the development identity provider must be off in production")
    if not settings.get("ESIA_URL"):
        problems.append("TELECONSULT_ESIA_URL must point to ESIA in production")
    if (settings.get("ESIA_SIGNER") or DEVELOPMENT_SIGNER) == DEVELOPMENT_SIGNER:
        problems.append("TELECONSULT_ESIA_SIGNER must name a GOST signer in production, not the development one")
    missing = [scope for scope in REQUIRED_SCOPES if scope not in str(settings.get("ESIA_SCOPES", "")).split()]
    if missing:
        problems.append(f"TELECONSULT_ESIA_SCOPES must include {', '.join(missing)}: the account level is read from them")
    if not settings.get("ESIA_JWKS") and not settings.get("ESIA_JWKS_URL"):
        problems.append("TELECONSULT_ESIA_JWKS (or ESIA_JWKS_URL) must hold ESIA's public keys in production")
    return problems


def _dev_idp_on(settings) -> bool:
    return bool(settings.get("ESIA_DEV_IDP")) and settings.get("ENV") != "production"


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.esia.views import blueprint

    blueprints = [blueprint]
    if _dev_idp_on(app.config):
        from plugins.esia.devidp import blueprint as dev_blueprint

        blueprints.append(dev_blueprint)
    return blueprints


@hookimpl
def teleconsult_register_access_rules():
    from flask import current_app

    return {
        # The landing page, the redirect to ESIA and the callback: for whoever is not staff.
        "esia.login": lambda principal, obj=None: principal.kind in ("anonymous", "patient"),
        "esia_dev.use": lambda principal, obj=None: _dev_idp_on(current_app.config),
    }


@hookimpl
def teleconsult_register_audit_titles():
    from flask_babel import lazy_gettext as _l

    from core.audit import AuditTitles

    return AuditTitles(
        actions={
            "esia.account_linked": _l("Учётная запись Госуслуг связана с пациентом регистра"),
            "esia.child_linked": _l("Ребёнок связан с законным представителем по данным Госуслуг"),
            "esia.child_unlinked": _l("Связь ребёнка с законным представителем прекращена по данным Госуслуг"),
            "esia.child_unverified": _l("Связь ребёнка с представителем не подтверждена: Госуслуги не сообщили детей"),
            "esia.not_in_registry": _l("Вход через Госуслуги отклонён: пациента нет в регистре"),
            "esia.refused_simplified": _l("Вход через Госуслуги отклонён: учётная запись не подтверждена"),
            "esia.callback_refused": _l("Ответ Госуслуг отклонён"),
        }
    )


@hookimpl
def teleconsult_register_logout_url(principal):
    from plugins.esia.views import logout_redirect

    return logout_redirect(principal)


@hookimpl
def teleconsult_register_login_options(area):
    from core.menus import MenuItem

    # Patients log in through ESIA: the portal's 401 leads to its landing page.
    if area != "portal":
        return []
    return [MenuItem(_l("Войти через Госуслуги"), "esia.login", order=10, icon="gosuslugi")]
