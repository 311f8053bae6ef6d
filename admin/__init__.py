"""The operator console at ``/admin`` (SPEC A1), built on Flask-Admin 2.

``init_admin(app)`` adds the console's own views and those plugins return from
``teleconsult_register_admin_views``. Whatever a view does itself, every request to
any console URL (static files included) first passes one guard: the ``admin.use``
access rule (operators; others 403, nobody logged in goes to the login page), then,
for a plugin's view, the plugin's switch (404 while it is off for the viewer).

A plugin's views may derive from ``admin.base.ConsoleModelView`` to get audit of
changes, local time and Russian labels; their category is the plugin's name unless
they set one.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import get_locale, lazy_gettext as _l

from core import access
from core.headers import csp_nonce
from core.i18n import write_catalogue
from core.plugins import collect, switched_off

from admin import dashboard

ADMIN_VIEWS = "teleconsult.admin_views"


def _bind_to_plugin(view: Any, plugin: str) -> None:
    """A plugin's view shows in the menu only to operators while the plugin is on."""
    visible, accessible = view.is_visible, view.is_accessible
    view.is_visible = lambda: plugin not in switched_off() and visible()
    view.is_accessible = lambda: access.can("admin.use") and accessible()


def _flask_admin_catalogues(app: Flask) -> str:
    """Flask-Admin's own texts (Save, List, ...) compiled from its ``.po`` files.

    The ``.mo`` files shipped in its wheel lag behind the ``.po`` ones (some Russian
    messages are missing there), so the console compiles them at start-up, as the
    core does with its own catalogues; the shipped ones remain a fallback.
    """
    import flask_admin.translations
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    source = Path(flask_admin.translations.__path__[0])
    target = Path(app.config["DATA_DIR"]) / "translations" / "flask-admin"
    for language in app.config["LANGUAGES"]:
        po_path = source / language / "LC_MESSAGES" / "admin.po"
        mo_path = target / language / "LC_MESSAGES" / "admin.mo"
        if not po_path.exists() or (mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime):
            continue
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        write_catalogue(mo_path, compiled.getvalue())
    return str(target)


def init_admin(app: Flask) -> Admin:
    from admin.plugins import PluginsView
    from admin.views import core_views

    # The console's templates (and the script that stands in for Flask-Admin's inline
    # handlers) before Flask-Admin's views register theirs; its only route serves the
    # dashboard's Chart.js from node_modules: public files, nothing to guard.
    console_files = Blueprint(
        "admin_console", __name__, template_folder="templates",
        static_folder="static", static_url_path="/admin-console/static",
    )
    console_files.add_url_rule("/admin-console/vendor/<path:filename>", "vendor", dashboard.vendor)
    app.register_blueprint(console_files)
    console = Admin(
        app,
        name=_l("Консоль оператора"),
        url="/admin",
        endpoint="admin",
        index_view=dashboard.ConsoleIndexView(),
        theme=Bootstrap4Theme(base_template="teleconsult_admin/base.html", fluid=True),
        translations_path=_flask_admin_catalogues(app),
        # Flask-Admin's inline scripts carry the response's CSP nonce (core.headers).
        csp_nonce_generator=csp_nonce,
    )
    owners: dict[str, str | None] = {console.index_view.endpoint: None}
    for view in [*core_views(), PluginsView()]:
        console.add_view(view)
        owners[view.endpoint] = None
    for plugin, view in collect(app.extensions["teleconsult.pm"], "teleconsult_register_admin_views"):
        if not view.category:
            view.category = plugin
        _bind_to_plugin(view, plugin)
        console.add_view(view)
        owners[view.endpoint] = plugin
    app.extensions[ADMIN_VIEWS] = owners

    @app.before_request
    def _console_guard():
        blueprint = request.blueprint or ""
        if blueprint not in owners:
            return None
        access.require("admin.use")
        plugin = owners[blueprint]
        if plugin is not None and plugin in switched_off():
            abort(404)
        return None

    @app.after_request
    def _console_language(response):
        """Flask-Admin's base template opens with a bare ``<html>``: name the page's language
        there, as screen readers and the browser's hyphenation need it (axe: html-has-lang)."""
        if (request.blueprint or "") in owners and response.mimetype == "text/html" and not response.direct_passthrough:
            body = response.get_data()
            if b"<html>" in body[:200]:
                response.set_data(body.replace(b"<html>", f'<html lang="{get_locale() or "ru"}">'.encode(), 1))
        return response

    return console
