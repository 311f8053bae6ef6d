"""What every template gets: the principal, menus, local time, masked identifiers."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, redirect, url_for
from flask_babel import format_datetime

from core.access import current_principal
from core.menus import menu


def local_datetime(value: datetime | None, fmt: str = "dd.MM.yyyy HH:mm") -> str:
    """Datetimes are stored in UTC and shown in the deployment's timezone (Moscow)."""
    return format_datetime(value, fmt) if value else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_datetime
    from core.validators import mask_oms, mask_passport, mask_snils

    app.jinja_env.filters["mask_snils"] = lambda v: mask_snils(v) if v else ""
    app.jinja_env.filters["mask_oms"] = lambda v: mask_oms(v) if v else ""
    app.jinja_env.filters["mask_passport"] = lambda v: mask_passport(v) if v else ""

    @app.context_processor
    def _globals():
        return {
            "principal": current_principal(),
            "menu": lambda area: menu(area, current_principal()),
            "app_title": current_app.config.get("APP_TITLE", "ТМ.РЕГИЗ"),
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
