"""The ``teleconsult`` command line (also ``flask --app core ...``): the app's commands
(core.commands) and ``new-plugin``, which needs no app."""

from __future__ import annotations

import os

import click
from flask.cli import FlaskGroup

from core.app import create_app
from core.commands import hook_functions, hook_reference, hookspec_modules, upgrade_database  # noqa: F401
from core.scaffold import new_plugin_command
from core.settings import SettingsError


def _make_app():
    try:
        return create_app()
    except SettingsError as error:
        # A plain message, not a traceback: the operator has a setting to fix.
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_make_app, add_default_commands=False, add_version_option=False)
def main():
    """teleconsult: remote consultations between doctors and patients."""


main.add_command(new_plugin_command)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("FLASK_APP", "core")
    main()
