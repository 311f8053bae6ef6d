"""Alembic branches of the core and the plugins.

Alembic must find every revision the database records, so it is told the migration
folders of every installed plugin (``teleconsult.plugins`` entry points), loaded or not:
a plugin the deployment disabled after its tables were created keeps its revisions
known, and ``teleconsult db upgrade`` (also run by every ``teleconsult run``) still works.
Upgrades go only to the heads of the core and the loaded plugins: a disabled plugin's
tables are neither created nor changed until it is loaded again.

Autogenerate and the drift check compare only the tables of the core and the loaded
plugins; a plugin's tables are the ones named ``<plugin>_...`` (docs/plugins.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CORE_VERSIONS = MIGRATIONS_DIR / "versions"


def loaded_folders(app: Flask) -> list[str]:
    """Revision folders of the core and the loaded plugins."""
    return [str(CORE_VERSIONS), *app.extensions["teleconsult.migrations"]]


def unloaded_folders(app: Flask) -> list[str]:
    """Revision folders of installed plugins that this app does not load.

    Their modules are imported and asked for ``teleconsult_register_migrations`` on a
    throwaway plugin manager; nothing else of them runs.
    """
    from core.plugins import TeleconsultPluginManager, collect

    probe = TeleconsultPluginManager()
    for name, entry_point in app.extensions["teleconsult.pm"].unloaded.items():
        try:
            probe.register(entry_point.load(), name=name)
        except Exception:
            log.warning("plugin %s is installed but cannot be loaded: its migrations are unknown", name, exc_info=True)
    return [folder for _plugin, folder in collect(probe, "teleconsult_register_migrations")]


def configure(config, app: Flask):
    """Give Alembic every known revision folder (Flask-Migrate's ``configure`` callback)."""
    folders = loaded_folders(app)
    folders += [folder for folder in unloaded_folders(app) if folder not in folders]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(folders))
    return config


def loaded_heads(app: Flask) -> list[str]:
    """Head revisions of the core and the loaded plugins' branches."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    loaded = {Path(folder).resolve() for folder in loaded_folders(app)}
    return sorted(
        head for head in script.get_heads()
        if Path(script.get_revision(head).path).resolve().parent in loaded
    )


def upgrade_loaded(app: Flask) -> None:
    """Bring the core's and each loaded plugin's branch to its head."""
    from flask_migrate import upgrade

    for head in loaded_heads(app):
        upgrade(revision=head)


def table_owner(table_name: str, plugin_names: list[str]) -> str:
    """The plugin a table belongs to by its name (``chat_messages``: chat), else the core."""
    for name in sorted(plugin_names, key=len, reverse=True):
        if table_name.startswith(name + "_"):
            return name
    return "core"


def include_object(app: Flask) -> Callable[..., bool]:
    """Alembic's ``include_object``: leave out the tables of plugins this app does not
    load, whether defined by models imported elsewhere or found in the database."""
    pm = app.extensions["teleconsult.pm"]
    unloaded = set(pm.unloaded)
    names = [*pm.info, *unloaded]

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and name is not None:
            return table_owner(name, names) not in unloaded
        return True

    return include
