"""The ``teleconsult`` command line (also ``flask --app core ...``)."""

from __future__ import annotations

import inspect
import os
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext


def _make_app():
    from core.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_make_app, add_default_commands=False, add_version_option=False)
def main():
    """teleconsult: remote consultations between doctors and patients."""


def upgrade_database() -> None:
    """Bring every Alembic branch (core and plugins) to its head, then the reference data."""
    from flask_migrate import upgrade

    from core.db import db
    from core.dictionaries import sync_reference_data

    upgrade(revision="heads")
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
    """Apply every migration of the core and the loaded plugins."""
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
    """List plugins: name, where they came from, enabled or not."""
    from core.plugins import plugin_manager, switched_off

    pm = plugin_manager()
    off = switched_off()
    blocked = [name for name, plugin in pm.list_name_plugin() if plugin is None]
    rows = []
    for name, info in sorted(pm.info.items(), key=lambda item: (item[0] != "core", item[0])):
        origin = "core" if name == "core" else f"{info.distribution or 'direct'} {info.version or ''}".strip()
        state = "switched off by the operator" if name in off else "enabled"
        rows.append((name, origin, state, info.description))
    for name in sorted(blocked):
        rows.append((name, "installed", "disabled by settings", ""))
    width = max(len(r[0]) for r in rows)
    for name, origin, state, description in rows:
        click.echo(f"{name:<{width}}  {origin:<24}  {state:<30}  {description}")


@click.command("hooks")
def hooks_command():
    """Print the hook reference (Markdown), generated from the hook docstrings."""
    click.echo(hook_reference())


def hook_reference() -> str:
    """Markdown from the hook docstrings, in the order and groups of core/hookspecs.py."""
    import re

    from core import hookspecs

    source = inspect.getsource(hookspecs)
    banners = [(m.start(), m.group(1)) for m in re.finditer(r"^# -+ (\w+)$", source, re.M)]
    lines = ["# Hook reference", "", inspect.cleandoc(hookspecs.__doc__ or ""), ""]
    hooks = [
        (source.index(f"def {name}("), name, func)
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("teleconsult_")
    ]
    group = None
    for position, name, func in sorted(hooks, key=lambda item: item[0]):
        current = [title for start, title in banners if start < position][-1]
        if current != group:
            group = current
            lines += [f"## {group.capitalize()} hooks", ""]
        signature = str(inspect.signature(func)).replace("'", "")
        lines += [f"### `{name}{signature}`", "", inspect.cleandoc(func.__doc__ or ""), ""]
    return "\n".join(lines)


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
    url = f"http://{host}:{port}/"
    click.echo(f"\nteleconsult is ready at {url} (prepared in {time.monotonic() - started:.1f} s)")
    if app.config["DEMO_DATA"]:
        click.echo(f"  workplace: {url}login  logins: terapevt, kardiolog, nevrolog, pediatr, registrator")
        click.echo(f"  admin console: login operator;  password for all: {demo.DEMO_PASSWORD}")
        if "portal.index" in app.view_functions:
            click.echo(f"  patient portal: {url}portal/")
    sys.stdout.flush()
    # Flask refuses app.run() inside its own CLI; this command is meant to serve.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio(app).run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=True)


def register_app_commands(app: Flask) -> None:
    for command in (db_group, demo_data, plugins_command, hooks_command, run_command):
        app.cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("FLASK_APP", "core")
    main()
