"""The app's commands (``teleconsult ...``, also ``flask --app core ...``); the app
factory registers them, the ``teleconsult`` entry point (core.cli) runs them."""

from __future__ import annotations

import atexit
import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from core import builtin
from core.headers import server_options
from core.heap import settle_heap


def upgrade_database() -> None:
    """Bring the Alembic branches of the core and the loaded plugins to their heads, then
    the reference data. A disabled plugin's branch stays where it is (core.migrating)."""
    from core.db import db
    from core.dictionaries import sync_reference_data
    from core.migrating import upgrade_loaded

    upgrade_loaded(current_app._get_current_object())
    added = sync_reference_data()
    db.session.commit()
    if any(added.values()):
        click.echo("reference data added: " + ", ".join(f"{k}={v}" for k, v in added.items() if v))


@click.group("db")
def db_group():
    """Database: migrations (`alembic` has the full Flask-Migrate set)."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply the migrations of the core and the loaded plugins."""
    upgrade_database()
    click.echo("database is up to date")


@click.command("demo-data")
@click.option("--patients", default=300, show_default=True, help="registry patients to generate")
@with_appcontext
def demo_data(patients: int):
    """Load the demo data set into an empty database."""
    from core import demo
    from core.db import db

    upgrade_database()
    if demo.is_loaded():
        raise click.ClickException("the database already has users; demo data is for an empty one")
    counts = demo.load(patients=patients)
    db.session.commit()
    click.echo("demo data loaded: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@click.command("plugins")
@with_appcontext
def plugins_command():
    """List plugins: name, where they came from, enabled or not, and the operator's
    switches for single organisations."""
    import sqlalchemy as sa

    from core.db import db
    from core.models import Organisation, PluginState
    from core.plugins import plugin_manager, switched_off

    pm = plugin_manager()
    off = switched_off(organisation_id=None)  # the deployment's switches
    overrides: dict[str, list[str]] = {}
    try:
        found = db.session.execute(
            sa.select(PluginState.plugin, PluginState.enabled, Organisation.id, Organisation.short_name)
            .join(Organisation, Organisation.id == PluginState.organisation_id)
            .order_by(Organisation.short_name, Organisation.id)
        ).all()
    except sa.exc.OperationalError:  # no database yet
        db.session.rollback()
        found = []
    for plugin, enabled, organisation_id, short_name in found:
        state = "switched on" if enabled else "switched off"
        overrides.setdefault(plugin, []).append(f"{state} for organisation {organisation_id} ({short_name})")
    rows = []
    # The core first, then the plugins by name.
    for name, info in sorted(pm.info.items(), key=lambda item: (item[0] != "core", item[0])):
        origin = "core" if name == "core" else f"{info.distribution or 'direct'} {info.version or ''}".strip()
        state = "switched off by the operator" if name in off else "enabled"
        rows.append((name, origin, state, info.description, overrides.get(name, [])))
    for name in sorted(pm.unloaded):
        rows.append((name, "installed", "disabled by settings", "", []))
    width = max(len(r[0]) for r in rows)
    for name, origin, state, description, switches in rows:
        click.echo(f"{name:<{width}}  {origin:<24}  {state:<30}  {description}")
        for switch in switches:
            click.echo(f"{'':<{width}}    {switch}")


@click.command("hooks")
def hooks_command():
    """Print the hook reference (Markdown), generated from the hook docstrings."""
    click.echo(hook_reference())


def hookspec_modules() -> list[tuple[str, object]]:
    """``[(plugin, module), ...]`` of every hook specification module: the core's first,
    then those the installed plugins add (``teleconsult_register_hookspecs``), by plugin."""
    from core import hookspecs
    from core.plugins import CORE_PLUGIN, build_plugin_manager

    pm = build_plugin_manager(None, (), core=builtin)
    found: dict[str, list[object]] = {}
    for name, owner in pm.hookspec_owners.items():
        module = getattr(pm.hook, name).spec.namespace
        if owner != CORE_PLUGIN and module not in found.setdefault(owner, []):
            found[owner].append(module)
    return [(CORE_PLUGIN, hookspecs)] + [(owner, m) for owner in sorted(found) for m in found[owner]]


def hook_functions(module) -> list[tuple[str, object]]:
    """``[(name, spec function), ...]`` of a hook specification module, in source order."""
    source = inspect.getsource(module)
    hooks = [
        (source.index(f"def {name}("), name, func)
        for name, func in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("teleconsult_") and func.__module__ == module.__name__
    ]
    return [(name, func) for _position, name, func in sorted(hooks, key=lambda item: item[0])]


def _hook_sections(module, level: str, mark: str = "") -> list[str]:
    import re

    source = inspect.getsource(module)
    banners = [(m.start(), m.group(1)) for m in re.finditer(r"^# -+ (\w+)$", source, re.M)]
    lines: list[str] = []
    group = None
    for name, func in hook_functions(module):
        position = source.index(f"def {name}(")
        above = [title for start, title in banners if start < position]
        current = above[-1] if above else None  # a plugin's short module may have no banners
        if current is not None and current != group:
            group = current
            lines += [f"{level} {group.capitalize()} hooks", ""]
        signature = str(inspect.signature(func)).replace("'", "")
        lines += [f"{level}# `{name}{signature}`{mark}", "", inspect.cleandoc(func.__doc__ or ""), ""]
    return lines


def hook_reference() -> str:
    """Markdown from the hook docstrings: the core's hooks in the order and groups of
    core/hookspecs.py, then each plugin's own hooks, marked with the plugin."""
    modules = hookspec_modules()
    (_core, core_specs), plugin_specs = modules[0], modules[1:]
    lines = ["# Hook reference", "", inspect.cleandoc(core_specs.__doc__ or ""), ""]
    lines += _hook_sections(core_specs, "##")
    for plugin, module in plugin_specs:
        lines += [f"## Hooks of the `{plugin}` plugin", "", inspect.cleandoc(module.__doc__ or ""), ""]
        lines += _hook_sections(module, "###", f" (plugin `{plugin}`)")
    return "\n".join(lines)


def start_companions(app: Flask) -> list[subprocess.Popen]:
    """Start the plugins' companion processes (``teleconsult_register_companion_processes``);
    each is stopped when this process exits."""
    from core.plugins import collect

    started = []
    for plugin, argv in collect(app.extensions["teleconsult.pm"], "teleconsult_register_companion_processes",
                                settings=app.config):
        started.append(subprocess.Popen(list(argv)))
        click.echo(f"  started for {plugin}: {' '.join(argv[1:])} (pid {started[-1].pid})")
    atexit.register(stop_companions, started)
    return started


def stop_companions(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int):
    """Development server on the embedded default: creates the database, loads demo data."""
    from core import demo
    from core.db import db
    from core.extensions import socketio

    started = time.monotonic()
    app: Flask = current_app._get_current_object()
    upgrade_database()
    if app.config["DEMO_DATA"] and not demo.is_loaded():
        counts = demo.load()
        db.session.commit()
        click.echo("demo data loaded: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    db.session.remove()
    if "celery" not in app.extensions:
        from core.tasks import PeriodicRunner

        PeriodicRunner(app).start()  # reminders and retries without a separate beat
    companions = start_companions(app)
    if companions:  # SIGTERM ends the server through its `finally`, which stops them too
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settle_heap()
    url = f"http://{host}:{port}/"
    click.echo(f"\nteleconsult is ready at {url} (prepared in {time.monotonic() - started:.1f} s)")
    if app.config["DEMO_DATA"]:
        click.echo(f"  workplace: {url}login  logins: terapevt, kardiolog, nevrolog, pediatr, registrator")
        click.echo(f"  admin console: login operator;  password for all: {demo.DEMO_PASSWORD}")
        if "portal.index" in app.view_functions:
            click.echo(f"  patient portal: {url}portal/")
        for line in demo.patients_banner():
            click.echo(line)
        if "demo.patients" in app.view_functions:
            click.echo(f"  the same on a page: {url}demo")
    sys.stdout.flush()
    # Flask refuses app.run() inside its own CLI; this command is meant to serve.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    try:
        socketio(app).run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=True,
                          **server_options(app.config["SOCKETIO_ASYNC_MODE"]))
    finally:
        stop_companions(companions)


_CELERY_ARGS = {"ignore_unknown_options": True, "allow_extra_args": True}


def _script_app() -> Flask:
    from flask.cli import ScriptInfo

    return click.get_current_context().ensure_object(ScriptInfo).load_app()


@click.command("worker", context_settings=_CELERY_ARGS)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_command(celery_args):
    """Celery worker (TASKS_BACKEND=celery); extra arguments go to `celery worker`."""
    from core.celery_app import celery_for

    try:
        celery = celery_for(_script_app())
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    celery.worker_main(["worker", "--loglevel=INFO", *celery_args])


@click.command("beat", context_settings=_CELERY_ARGS)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat_command(celery_args):
    """Periodic tasks: Celery beat, or an in-process loop on the embedded default."""
    app = _script_app()
    if "celery" in app.extensions:
        app.extensions["celery"].start(["beat", "--loglevel=INFO", *celery_args])
        return
    from core.tasks import PeriodicRunner, periodic

    click.echo("running periodic tasks in-process: " + ", ".join(n for n, _ in periodic(app)))
    PeriodicRunner(app).run_forever()


@click.group("api-token")
def api_token_group():
    """Bearer tokens of machine clients (medical information systems) for /api/v1."""


@api_token_group.command("create")
@click.option("--name", required=True, help="who uses it, e.g. the MIS and its installation")
@click.option("--organisation-id", required=True, type=int, help="the medical organisation it acts for")
@click.option(
    "--scopes",
    required=True,
    help="space- or comma-separated: registry:read registry:write consultations:read consultations:write",
)
@with_appcontext
def api_token_create(name: str, organisation_id: int, scopes: str):
    """Create a token and print it once: only its SHA-256 is stored."""
    from core import audit
    from core.access import SYSTEM
    from core.api.auth import create_token
    from core.db import db
    from core.models import Organisation

    if db.session.get(Organisation, organisation_id) is None:
        raise click.ClickException(f"no organisation with id {organisation_id}")
    try:
        token, value = create_token(name, organisation_id, scopes.replace(",", " ").split())
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    audit.record("api_token.created", token, principal=SYSTEM, data={"name": name, "scopes": token.scopes})
    db.session.commit()
    click.echo(f"token {token.id} for {name!r}, scopes: {token.scopes}", err=True)
    click.echo("store it now, it is not shown again:", err=True)
    click.echo(value)


@api_token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def api_token_revoke(token_id: int):
    """Revoke a token by its id: its requests get 401 from now on."""
    from core import audit
    from core.access import SYSTEM
    from core.db import db
    from core.models import ApiToken

    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token with id {token_id}")
    token.revoked = True
    audit.record("api_token.revoked", token, principal=SYSTEM, data={"name": token.name})
    db.session.commit()
    click.echo(f"token {token_id} ({token.name}) revoked")


@api_token_group.command("list")
@with_appcontext
def api_token_list():
    """Tokens: id, organisation, scopes, state, last use (never the token itself)."""
    import sqlalchemy as sa

    from core.db import db
    from core.models import ApiToken

    for token in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        state = "revoked" if token.revoked else "active"
        used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.organisation_id}\t{state}\t{token.scopes}\tlast used {used}\t{token.name}")


@click.group("registry")
def registry_group():
    """The regional patient registry."""


@registry_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation-id", type=int, help="attach new patients to this organisation")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(100, 100_000))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path), help="error report (default FILE.errors.csv)")
@with_appcontext
def registry_import_command(file: Path, organisation_id: int | None, batch_size: int, errors_path: Path | None):
    """Import patients from a CSV file into the registry.

    UTF-8, `;` or `,` delimited, header line first, columns (English or Russian names):
    last_name/фамилия, first_name/имя, middle_name/отчество, birth_date/дата_рождения
    (ГГГГ-ММ-ДД or ДД.ММ.ГГГГ), sex/пол (male/female, м/ж), snils/снилс,
    oms_policy/полис_омс, passport/паспорт, email, phone/телефон. Each row needs SNILS or
    the OMS policy. Idempotent: a person is matched by SNILS, else by the OMS policy.
    Bad rows are skipped and listed (line, field, message) in the error report; the
    exit code is 1 when there is one.
    """
    from core import audit, registry_csv
    from core.access import SYSTEM
    from core.db import db

    started = time.monotonic()
    total = registry_csv.count_rows(file)
    try:
        with click.progressbar(length=total, label="registry import", show_pos=True, file=sys.stderr) as bar:
            result = registry_csv.import_csv(
                db.engine,
                file,
                organisation_id=organisation_id,
                batch_size=batch_size,
                errors_path=errors_path,
                progress=bar.update,
            )
    except registry_csv.CsvFormatError as error:
        raise click.ClickException(str(error)) from None
    counts = result.counts
    audit.record("registry.imported", principal=SYSTEM, object_type="patients", data={"file": file.name} | counts.as_dict())
    db.session.commit()
    elapsed = time.monotonic() - started
    click.echo(
        f"rows {result.rows}: created {counts.created}, updated {counts.updated}, "
        f"unchanged {counts.unchanged}, failed {counts.failed} in {elapsed:.1f} s"
    )
    if result.errors_path:
        click.echo(f"error report: {result.errors_path}")
        sys.exit(1)


def register_app_commands(app: Flask) -> None:
    for command in (
        db_group, demo_data, plugins_command, hooks_command, run_command,
        worker_command, beat_command, api_token_group, registry_group,
    ):
        app.cli.add_command(command)
