"""What every template gets: the principal, menus, local time, masked identifiers."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, redirect, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from markupsafe import Markup

from core import routeforms
from core.access import current_principal
from core.headers import csp_nonce
from core.menus import menu
from core.plugins import hooks, hooks_for


def local_datetime(value: datetime | None, fmt: str = "dd.MM.yyyy HH:mm") -> str:
    """Datetimes are stored in UTC and shown in the deployment's timezone (Moscow)."""
    return format_datetime(value, fmt) if value else ""


def file_type_label(filename: str | None) -> str:
    """What the icon of a file that is not an image says: its extension («PDF», «ZIP»)."""
    name = filename or ""
    extension = name.rsplit(".", 1)[1] if "." in name else ""
    return extension[:4].upper() if extension.isalnum() else _("файл")


def template_blocks(slot: str, **context) -> Markup:
    """The blocks plugins add at ``slot`` of a page (hook ``teleconsult_register_template_blocks``),
    joined. A page that shows a consultation passes it as ``consultation``; the hook then
    asks only the plugins switched on for its organisation, else the viewer's."""
    consultation = context.get("consultation")
    caller = hooks_for(consultation) if consultation is not None else hooks()
    groups = caller.teleconsult_register_template_blocks(slot=slot, context=context)
    # Each plugin answers a list; a lone string is one block, never a list of characters.
    parts = [part for group in groups for part in ([group] if isinstance(group, str) else group or ()) if part]
    # A plugin's block is its HTML (usually rendered from its own autoescaping template).
    return Markup("\n").join(Markup(part) for part in parts)


def page_scripts(area: str) -> list[str]:
    """The scripts plugins add to every page of ``area`` (hook teleconsult_register_page_scripts)."""
    principal = current_principal()
    if not principal.is_authenticated:
        return []
    found: list[str] = []
    for group in hooks().teleconsult_register_page_scripts(area=area, principal=principal):
        for src in group or ():
            if src not in found:
                found.append(src)
    return found


def register(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_datetime
    from core.validators import mask_oms, mask_passport, mask_snils

    app.jinja_env.filters["mask_snils"] = lambda v: mask_snils(v) if v else ""
    app.jinja_env.filters["mask_oms"] = lambda v: mask_oms(v) if v else ""
    app.jinja_env.filters["mask_passport"] = lambda v: mask_passport(v) if v else ""

    app.jinja_env.globals.update(
        template_blocks=template_blocks,
        route_form_fields=routeforms.form_fields,
        route_data_items=routeforms.data_items,
        application_items=routeforms.application_items,
        conclusion_items=routeforms.conclusion_items,
        file_type_label=file_type_label,
    )

    @app.context_processor
    def _globals():
        return {
            "principal": current_principal(),
            "menu": lambda area: menu(area, current_principal()),
            "app_title": current_app.config.get("APP_TITLE", "ТМ.РЕГИЗ"),
            "csp_nonce": csp_nonce,
            "page_scripts": page_scripts,
        }

    @app.route("/")
    def home():
        """Send everyone to their own part: workplace, console, portal or login."""
        principal = current_principal()
        if principal.is_patient and "portal.index" in app.view_functions:
            return redirect(url_for("portal.index"))
        if principal.is_staff:
            if principal.roles & {"doctor", "registrar"}:
                return redirect(url_for("workplace.index"))
            if "operator" in principal.roles and "admin.index" in app.view_functions:
                return redirect(url_for("admin.index"))
            return redirect(url_for("workplace.index"))
        return redirect(url_for("auth.login"))
