"""The app factory."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, g, request
from flask_babel import refresh as babel_refresh
from werkzeug.middleware.proxy_fix import ProxyFix

from core import access, builtin, i18n, logs, migrating, outcomes, params, participant_roles, wizard_steps
from core.headers import content_security_policy, server_header
from core.extensions import SocketIO, babel, csrf, db, login_manager, migrate
from core.plugins import build_plugin_manager, collect, enabled_for_object, watch_plugin_states
from core.routing import build_registry
from core.settings import SettingsError, check_production, load
from core.green import check_process
from core.socket_context import TeleconsultFlask
from core.socket_queue import build_manager
from core.storage import build_storage

log = logging.getLogger(__name__)

MIGRATIONS_DIR = migrating.MIGRATIONS_DIR


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    environment: str | None = None,
    plugins: Iterable[str] | None = None,
    extra_plugins: Iterable[tuple[str, Any]] = (),
) -> Flask:
    """Build the app.

    ``config``: settings that win over everything else. ``environment``: development,
    testing or production (default: ``TELECONSULT_ENV``, else development).
    ``plugins``: entry-point plugins to load (default: all installed, less
    ``PLUGINS_DISABLED``); ``[]`` builds the bare core. ``extra_plugins``: ``(name,
    plugin)`` pairs registered directly, for tests.
    """
    base = load(environment, config)
    enabled = plugins if plugins is not None else base.get("PLUGINS_ENABLED")
    pm = build_plugin_manager(enabled, base["PLUGINS_DISABLED"], extra_plugins, core=builtin)
    plugin_defaults: dict[str, Any] = {}
    for defaults in reversed(pm.hook.teleconsult_register_config_defaults()):
        plugin_defaults.update(defaults or {})
    settings = load(environment, config, plugin_defaults=plugin_defaults)
    problems = [p for group in pm.hook.teleconsult_config_check(settings=settings) for p in group]
    check_production(settings, problems)
    refused = check_process(settings)
    if refused:
        raise SettingsError("cannot serve in this process: " + "; ".join(refused))

    Path(settings["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    app = TeleconsultFlask("core", instance_path=settings["DATA_DIR"])
    # Before any route is added: every ``<int:...>`` of the core and of plugins is bounded.
    app.url_map.converters["int"] = params.BoundedIntegerConverter
    app.config.update(settings)
    app.extensions["teleconsult.pm"] = pm
    watch_plugin_states()
    logs.configure(app)

    _init_extensions(app)
    _register_core(app)
    _register_plugins(app)
    _init_task_backend(app)
    _register_guards(app)
    from admin import init_admin
    from core import errorpages

    init_admin(app)  # the operator console at /admin (SPEC A1), after the request guards

    errorpages.register(app)
    _trust_proxies(app)
    return app


def _init_task_backend(app: Flask) -> None:
    """Bind the configured backend: nothing for ``inprocess``, a Celery app for ``celery``."""
    backend = app.config.get("TASKS_BACKEND", "inprocess")
    if backend == "inprocess":
        return
    if backend != "celery":
        raise SettingsError(f"unknown TASKS_BACKEND {backend!r}; expected 'inprocess' or 'celery'")
    from core.celery_app import bind  # Celery is imported only by the apps that use it

    bind(app)


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address and scheme from
    the headers they set; outermost, so Socket.IO's requests get them too."""
    hops = app.config["TRUSTED_PROXIES"]
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        raise SettingsError("TELECONSULT_TRUSTED_PROXIES must be the number of proxies in front of the app, 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    _tune_sqlite(app)
    _ping_idle_connections(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, command="alembic")
    csrf.init_app(app)
    pm = app.extensions["teleconsult.pm"]
    # The core's catalogue, the admin console's and each loaded plugin's own.
    packages = ["admin"] + [info.module for name, info in pm.info.items() if name != "core"]
    compiled = i18n.compile_catalogues(
        Path(app.config["DATA_DIR"]) / "translations", i18n.catalogue_sources(packages)
    )
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in compiled)
    babel.init_app(app, locale_selector=i18n.select_locale)
    from core import auth

    auth.init_login(app, login_manager)
    queue = app.config["SOCKETIO_MESSAGE_QUEUE"] or None
    manager = build_manager(queue, float(app.config["SOCKETIO_QUEUE_PROBE_SECONDS"])) if queue else None
    SocketIO(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=queue,
        **({"client_manager": manager} if manager is not None else {}),
        cors_allowed_origins=app.config["SOCKETIO_CORS_ALLOWED_ORIGINS"],
        manage_session=False,
        # False: the events of a connection run one after another in the connection's own
        # thread (or greenlet) instead of a new thread per event.
        async_handlers=app.config["SOCKETIO_ASYNC_HANDLERS"],
    )
    app.extensions["teleconsult.storage"] = build_storage(app.config)


def _ping_idle_connections(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return  # a file: nothing to drop the connection
    from core.db import ping_when_idle

    with app.app_context():
        ping_when_idle(db.engine, float(app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]))


def _tune_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
            cursor.execute("PRAGMA journal_mode=WAL")
            # SQLite's advice for WAL: no fsync per commit, still safe from corruption; a
            # commit can only be lost to a power cut, not to a crash of the process.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _register_core(app: Flask) -> None:
    from core import auth, commands, demo_page, health, portal, template_tools, workplace
    from core.api import views as api

    app.register_blueprint(auth.blueprint)
    health.init_app(app)
    if app.config["ENV"] == "development" and app.config["DEMO_DATA"]:
        app.register_blueprint(demo_page.blueprint)  # /demo: the demo patients' identifiers
    app.register_blueprint(api.blueprint)
    app.register_blueprint(workplace.blueprint)
    app.register_blueprint(portal.blueprint)
    template_tools.register(app)
    commands.register_app_commands(app)


def _register_plugins(app: Flask) -> None:
    pm = app.extensions["teleconsult.pm"]
    owners: dict[str, str] = {}
    for plugin, blueprint in collect(pm, "teleconsult_register_blueprints", app=app):
        app.register_blueprint(blueprint)
        owners[blueprint.name] = plugin
    from core.api.views import register_plugin_blueprint

    for plugin, blueprint in collect(pm, "teleconsult_register_api_blueprints", app=app):
        owners[register_plugin_blueprint(app, blueprint)] = plugin
    app.extensions["teleconsult.blueprint_owners"] = owners

    for plugin, namespace in collect(pm, "teleconsult_register_socketio_namespaces"):
        namespace.teleconsult_plugin = plugin
        app.extensions["socketio"].on_namespace(namespace)

    app.extensions["teleconsult.tasks"] = {
        spec.name: (plugin, spec) for plugin, spec in collect(pm, "teleconsult_register_tasks")
    }
    app.extensions["teleconsult.routes"] = build_registry(collect(pm, "teleconsult_register_routes"))
    rules = [(plugin, dict([rule])) for plugin, rule in collect(pm, "teleconsult_register_access_rules")]
    app.extensions["teleconsult.access_rules"] = access.build_rules(rules)
    app.extensions["teleconsult.participant_roles"] = participant_roles.build_registry(
        collect(pm, "teleconsult_register_participant_roles")
    )
    app.extensions["teleconsult.outcomes"] = outcomes.build_registry(collect(pm, "teleconsult_register_outcomes"))
    app.extensions["teleconsult.wizard_steps"] = wizard_steps.build_registry(
        collect(pm, "teleconsult_register_wizard_steps")
    )
    app.extensions["teleconsult.migrations"] = [
        folder for _plugin, folder in collect(pm, "teleconsult_register_migrations")
    ]
    for _plugin, command in collect(pm, "teleconsult_register_cli_commands"):
        app.cli.add_command(command)


def _register_guards(app: Flask) -> None:
    @app.before_request
    def _fresh_request_state():
        # A test (or a Socket.IO handler) may run requests inside one long app context,
        # whose ``g`` outlives a request: never let one request's user leak into the next.
        # ``_flask_babel`` caches the locale: a request with ``?lang=`` must not inherit it.
        for key in ("_login_user", "csrf_token", "teleconsult_principal", "teleconsult_switched_off",
                    "_flask_babel", "teleconsult_wizard_draft", "teleconsult_csp_nonce"):
            g.pop(key, None)
        babel_refresh()  # the locale Flask-Babel cached for the previous request

    app.before_request(params.refuse_nul_bytes)

    @app.before_request
    def _switched_off_plugin_pages_are_absent():
        # A page about a consultation follows the switch of the consultation's
        # organisation; any other page the viewer's (core.plugins).
        owner = app.extensions["teleconsult.blueprint_owners"].get(request.blueprint or "")
        if owner and not enabled_for_object(owner, (request.view_args or {}).get("consultation_id"), app):
            abort(404)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", content_security_policy())
        server_header(response)
        if app.config["HSTS_SECONDS"]:
            headers.setdefault("Strict-Transport-Security", f"max-age={int(app.config['HSTS_SECONDS'])}; includeSubDomains")
        # Nothing a logged-in person or a machine client sees is kept by a browser or a
        # proxy cache (patient data; a shared computer in a clinic). Static files and the
        # packaged browser libraries a view serves as ``public`` are the same for everybody
        # and stay cacheable: a plugin's guard loads the viewer for them too, and without a
        # cache the call window's scripts prefetched while a call rings were fetched again.
        user = g.get("_login_user")  # loaded by the view (or a plugin's switch guard)
        endpoint = request.endpoint or ""
        shared = endpoint == "static" or endpoint.endswith(".static") or bool(response.cache_control.public)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated and not shared):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response


@migrate.configure
def _version_locations(config):
    """Every installed plugin's Alembic branch sits beside the core's (core.migrating)."""
    from flask import current_app

    return migrating.configure(config, current_app._get_current_object())
