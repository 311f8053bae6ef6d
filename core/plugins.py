"""The plugin manager: one per app, built from the ``teleconsult.plugins`` entry points.

Built-in plugins are registered through the same entry-point group as outside packages.
A deployment disables plugins in settings (``PLUGINS_DISABLED``: never loaded); the
operator switches loaded plugins on and off in the console (``PluginState`` rows), which
takes effect at once: hooks of a switched-off plugin are not called and its pages, admin
views and Socket.IO events answer as if it were absent.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy
from flask import Flask, current_app, g, has_app_context, has_request_context

from core import hookspecs

ENTRY_POINT_GROUP = "teleconsult.plugins"
PROJECT = "teleconsult"
CORE_PLUGIN = "core"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None  # the package it was installed from
    version: str | None
    description: str
    builtin: bool


class TeleconsultPluginManager(pluggy.PluginManager):
    """pluggy's manager plus what the app needs to know about where plugins came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}

    def register_plugin(self, plugin: Any, name: str, distribution=None, builtin=False) -> None:
        self.register(plugin, name=name)
        dist_name = distribution.metadata["Name"] if distribution else None
        version = distribution.version if distribution else None
        doc = (getattr(plugin, "__doc__", None) or "").strip().splitlines()
        self.info[name] = PluginInfo(
            name=name,
            module=getattr(plugin, "__name__", type(plugin).__name__),
            distribution=dist_name,
            version=version,
            description=doc[0] if doc else "",
            builtin=builtin,
        )

    def optional_plugins(self) -> list[str]:
        """Plugins an operator may switch off: everything but the core itself."""
        return [name for name in self.info if name != CORE_PLUGIN]


def build_plugin_manager(
    enabled: Iterable[str] | None,
    disabled: Iterable[str],
    extra: Iterable[tuple[str, Any]] = (),
) -> TeleconsultPluginManager:
    """Register the core, the installed entry-point plugins and ``extra`` ones (tests).

    ``enabled``: when not None, only these entry-point plugins are loaded.
    ``disabled``: entry-point plugins that are never loaded (blocked).
    """
    from core import builtin

    pm = TeleconsultPluginManager()
    pm.register_plugin(builtin, CORE_PLUGIN, builtin=True)
    enabled = None if enabled is None else set(enabled)
    disabled = set(disabled)
    for entry_point in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name
    ):
        name = entry_point.name
        if name in pm.info:  # the same plugin installed twice (editable + regular)
            continue
        if name in disabled or (enabled is not None and name not in enabled):
            pm.set_blocked(name)
            continue
        dist = entry_point.dist
        builtin_dist = dist is not None and dist.metadata["Name"] == PROJECT
        pm.register_plugin(entry_point.load(), name, distribution=dist, builtin=builtin_dist)
    for name, plugin in extra:
        pm.register_plugin(plugin, name)
    # A misspelt hook name in a plugin fails here, not silently at run time.
    pm.check_pending()
    return pm


def plugin_manager(app: Flask | None = None) -> TeleconsultPluginManager:
    return (app or current_app).extensions["teleconsult.pm"]


def switched_off(app: Flask | None = None) -> frozenset[str]:
    """Plugins the operator has switched off for the current viewer (cached per request)."""
    if has_request_context() and "teleconsult_switched_off" in g:
        return g.teleconsult_switched_off
    result = _load_switched_off(app or current_app)
    if has_request_context():
        g.teleconsult_switched_off = result
    return result


def forget_switches() -> None:
    """Drop the per-request cache, after the operator changed a switch."""
    if has_request_context():
        g.pop("teleconsult_switched_off", None)


def _load_switched_off(app: Flask) -> frozenset[str]:
    import sqlalchemy as sa

    from core.db import db
    from core.models import PluginState

    organisation_id = _viewer_organisation_id()
    try:
        rows = db.session.execute(
            sa.select(PluginState.plugin, PluginState.organisation_id, PluginState.enabled).where(
                sa.or_(
                    PluginState.organisation_id.is_(None),
                    PluginState.organisation_id == organisation_id,
                )
            )
        ).all()
    except sa.exc.OperationalError:
        # The database is not created yet (first `db upgrade`): nothing is switched off.
        db.session.rollback()
        return frozenset()
    deployment = {plugin: enabled for plugin, org, enabled in rows if org is None}
    organisation = {plugin: enabled for plugin, org, enabled in rows if org is not None}
    state = {**deployment, **organisation}
    return frozenset(name for name, enabled in state.items() if not enabled)


def _viewer_organisation_id() -> int | None:
    if not has_request_context():
        return None
    from core.access import current_principal

    return current_principal().organisation_id


def is_enabled(name: str, app: Flask | None = None) -> bool:
    pm = plugin_manager(app)
    return name in pm.info and name not in switched_off(app)


class LiveHooks:
    """``hooks().teleconsult_x(...)`` calls only the plugins switched on right now."""

    def __init__(self, pm: TeleconsultPluginManager, off: frozenset[str]) -> None:
        self._pm = pm
        self._off = [pm.get_plugin(name) for name in off if pm.get_plugin(name) is not None]

    def __getattr__(self, name: str):
        if not self._off:
            return getattr(self._pm.hook, name)
        return self._pm.subset_hook_caller(name, remove_plugins=self._off)


def hooks(app: Flask | None = None) -> LiveHooks:
    app = app or (current_app._get_current_object() if has_app_context() else None)
    return LiveHooks(plugin_manager(app), switched_off(app))


def collect(pm: TeleconsultPluginManager, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
    """Call a registration hook plugin by plugin: ``[(plugin_name, item), ...]``.

    The core needs to know which plugin contributed each blueprint, admin view or
    namespace so that switching the plugin off hides exactly those.
    """
    caller = getattr(pm.hook, hook_name)
    result = []
    for impl in reversed(caller.get_hookimpls()):
        items = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        for item in items or ():
            result.append((impl.plugin_name, item))
    return result
