"""The plugin manager: one per app, built from the ``teleconsult.plugins`` entry points.

Built-in plugins are registered through the same entry-point group as outside packages.
A deployment disables plugins in settings (``PLUGINS_DISABLED``: never loaded); the
operator switches loaded plugins on and off in the console (``PluginState`` rows), for
the deployment or one organisation, which takes effect at once: hooks of a switched-off
plugin are not called and its pages, admin views and Socket.IO events answer as if it
were absent.

Whose switch counts: for anything done for a consultation, the consultation's
organisation's (``hooks_for(consultation)``, ``is_enabled(name, organisation_id=...)``),
in a request or not; for pages and events about no object, the viewer's
(``hooks()``, ``enabled_for_viewer``).
"""

from __future__ import annotations

import enum
import functools
import importlib.metadata
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
    description: Any  # str, or a lazy_gettext string (a plugin's DESCRIPTION)
    builtin: bool


def _warn_renamed(function: Any, old: str, new: str) -> None:
    """The deprecation warning of an implementation under a hook's old name, at the function."""
    code = getattr(function, "__code__", None)
    warnings.warn_explicit(
        hookspecs.TeleconsultDeprecationWarning(
            f"hook {old} is renamed {new}; the old name stops working in the next release"
        ),
        category=None,
        filename=code.co_filename if code else "<unknown>",
        lineno=code.co_firstlineno if code else 0,
    )


class TeleconsultPluginManager(pluggy.PluginManager):
    """pluggy's manager plus what the app needs to know about where plugins came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.info: dict[str, PluginInfo] = {}
        # Installed entry points this app does not load (disabled by settings): their
        # migrations stay known to Alembic (core.migrating).
        self.unloaded: dict[str, importlib.metadata.EntryPoint] = {}
        # Hook name -> the plugin that declared it ("core" for core.hookspecs).
        self.hookspec_owners: dict[str, str] = {}
        # Old hook name -> new one: the core's and those of the plugins' own hooks
        # (a hook specification module's ``RENAMED_HOOKS``), for one release.
        self.renamed_hooks: dict[str, str] = {}
        self._registering = CORE_PLUGIN
        self.add_hookspecs(hookspecs)
        # Historic: every plugin registered from now on adds its specs at registration.
        self.hook.teleconsult_register_hookspecs.call_historic(
            result_callback=self._add_returned_hookspecs, kwargs={"pluginmanager": self}
        )

    def _add_returned_hookspecs(self, modules) -> None:
        for module in modules or ():
            self.add_hookspecs(module)

    def parse_hookimpl_opts(self, plugin: Any, name: str):
        """pluggy's, plus a hook implemented under its old name (``hookspecs.RENAMED_HOOKS``):
        registered as the new hook, with a ``TeleconsultDeprecationWarning`` at the function."""
        opts = super().parse_hookimpl_opts(plugin, name)
        new = self.renamed_hooks.get(name)
        if opts is None or new is None or opts.get("specname"):
            return opts
        _warn_renamed(getattr(plugin, name), name, new)
        return {**opts, "specname": new}

    def add_hookspecs(self, module_or_class: Any) -> None:
        super().add_hookspecs(module_or_class)
        for name, caller in vars(self.hook).items():
            if caller.spec is not None and caller.spec.namespace is module_or_class:
                self.hookspec_owners.setdefault(name, self._registering)
        renamed = getattr(module_or_class, "RENAMED_HOOKS", {})
        self.renamed_hooks.update(renamed)
        for old, new in renamed.items():
            self._adopt_renamed(old, new)

    def _adopt_renamed(self, old: str, new: str) -> None:
        """Implementations under a plugin hook's old name that were registered before the
        plugin declaring the hook: they move to the new hook, as if registered after it."""
        caller = getattr(self.hook, old, None)
        if caller is None or caller.spec is not None:
            return
        target = getattr(self.hook, new)
        for impl in caller.get_hookimpls():
            _warn_renamed(impl.function, old, new)
            caller._remove_plugin(impl.plugin)
            self._verify_hook(target, impl)
            target._add_hookimpl(impl)
        delattr(self.hook, old)

    def register_plugin(
        self, plugin: Any, name: str, dist_name: str | None = None, version: str | None = None, builtin=False
    ) -> None:
        self._registering = name
        try:
            self.register(plugin, name=name)
        finally:
            self._registering = CORE_PLUGIN
        doc = (getattr(plugin, "__doc__", None) or "").strip().splitlines()
        self.info[name] = PluginInfo(
            name=name,
            module=getattr(plugin, "__name__", type(plugin).__name__),
            distribution=dist_name,
            version=version,
            # A plugin's DESCRIPTION (lazy_gettext, Russian) is what users read; the
            # docstring's first line is the fallback for plugins without one.
            description=getattr(plugin, "DESCRIPTION", None) or (doc[0] if doc else ""),
            builtin=builtin,
        )

    def optional_plugins(self) -> list[str]:
        """Plugins an operator may switch off: everything but the core itself."""
        return [name for name in self.info if name != CORE_PLUGIN]


def installed_entry_points() -> tuple[tuple[importlib.metadata.EntryPoint, str | None, str | None], ...]:
    """The installed ``teleconsult.plugins`` entry points by name, with their distribution's
    name and version; read once for each import path (reading package metadata is slow)."""
    return _entry_points_on(tuple(sys.path))


@functools.cache
def _entry_points_on(path: tuple[str, ...]) -> tuple[tuple[importlib.metadata.EntryPoint, str | None, str | None], ...]:
    found = []
    for entry_point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        dist = entry_point.dist
        found.append((entry_point, dist.metadata["Name"] if dist else None, dist.version if dist else None))
    return tuple(found)


def build_plugin_manager(
    enabled: Iterable[str] | None,
    disabled: Iterable[str],
    extra: Iterable[tuple[str, Any]] = (),
    *,
    core: Any = None,
) -> TeleconsultPluginManager:
    """Register the core, the installed entry-point plugins and ``extra`` ones (tests).

    ``core``: the core's own hook implementations (``core.builtin``), handed in by the
    app factory, which sits above them (this module is below every hook caller).
    ``enabled``: when not None, only these entry-point plugins are loaded.
    ``disabled``: entry-point plugins that are never loaded (blocked).
    """
    if isinstance(enabled, str) or isinstance(disabled, str):
        raise TypeError("enabled and disabled plugins are lists of names, not a string")
    pm = TeleconsultPluginManager()
    if core is not None:
        pm.register_plugin(core, CORE_PLUGIN, builtin=True)
    enabled = None if enabled is None else set(enabled)
    disabled = set(disabled)
    for entry_point, dist_name, version in installed_entry_points():
        name = entry_point.name
        if name in pm.info or name in pm.unloaded:  # installed twice (editable + regular)
            continue
        if name in disabled or (enabled is not None and name not in enabled):
            pm.set_blocked(name)
            pm.unloaded[name] = entry_point
            continue
        pm.register_plugin(entry_point.load(), name, dist_name, version, builtin=dist_name == PROJECT)
    for name, plugin in extra:
        # An extra plugin named like an installed one that this app does not load (a test
        # giving its own module under that name) takes its place; pluggy would otherwise
        # silently refuse a blocked name.
        if name in pm.unloaded:
            pm.unblock(name)
            del pm.unloaded[name]
        pm.register_plugin(plugin, name)
        if pm.get_plugin(name) is not plugin:
            raise RuntimeError(f"plugin {name!r} could not be registered")
    # A misspelt hook name in a plugin fails here, not silently at run time.
    pm.check_pending()
    return pm


def plugin_manager(app: Flask | None = None) -> TeleconsultPluginManager:
    return (app or current_app).extensions["teleconsult.pm"]


class _Viewer(enum.Enum):
    VIEWER = "the viewer's organisation"


#: ``organisation_id=VIEWER``: the organisation of whoever makes the request (none outside
#: a request). Pass a consultation's ``organisation_id`` instead whenever there is one.
VIEWER = _Viewer.VIEWER
Scope = int | None | Literal[_Viewer.VIEWER]


def switched_off(app: Flask | None = None, organisation_id: Scope = VIEWER) -> frozenset[str]:
    """Plugins the operator has switched off for ``organisation_id``: its own switch if
    it has one, else the deployment's. ``None``: the deployment's switch alone;
    ``VIEWER``: the organisation of the request's principal. Cached per request."""
    app = app or current_app._get_current_object()
    if organisation_id is VIEWER:
        organisation_id = _viewer_organisation_id()
    cache = g.setdefault("teleconsult_switched_off", {}) if has_request_context() else {}
    if organisation_id not in cache:
        cache[organisation_id] = _load_switched_off(app, organisation_id)
    return cache[organisation_id]


def forget_switches(app: Flask | None = None) -> None:
    """Drop the cached switches, after the operator changed one."""
    if has_request_context():
        g.pop("teleconsult_switched_off", None)
    app = app or (current_app._get_current_object() if has_app_context() else None)
    if app is not None:
        _switch_cache(app).clear()


class _SwitchCache:
    """This process's copy of the ``plugin_states`` table, re-read every
    ``PLUGIN_SWITCH_REFRESH_SECONDS``. Every request and every Socket.IO event asks for
    the switches, and a query each time would cost more than the event itself. A change
    committed in this process clears it at once (see ``_watch_plugin_states``); other
    processes see it within the refresh interval."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int | None, bool]] | None = None
        self.loaded_at = 0.0
        self.generation = 0
        self.lock = threading.Lock()
        self.refreshing = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.rows = None
            self.generation += 1


def _switch_cache(app: Flask) -> _SwitchCache:
    cache = app.extensions.get("teleconsult.switches")
    if cache is None:
        cache = app.extensions.setdefault("teleconsult.switches", _SwitchCache())
    return cache


def _switch_rows(app: Flask) -> list[tuple[str, int | None, bool]]:
    cache = _switch_cache(app)
    ttl = app.config.get("PLUGIN_SWITCH_REFRESH_SECONDS", 0)
    rows = cache.rows
    if rows is not None and time.monotonic() - cache.loaded_at < ttl:
        return rows
    # One request re-reads the table; the others meanwhile go on with the last copy.
    if rows is not None and not cache.refreshing.acquire(blocking=False):
        return rows
    try:
        return _read_switch_rows(app, cache)
    finally:
        if rows is not None:
            cache.refreshing.release()


def _read_switch_rows(app: Flask, cache: _SwitchCache) -> list[tuple[str, int | None, bool]]:
    import sqlalchemy as sa

    from core.db import db
    from core.models import PluginState

    generation = cache.generation
    try:
        rows = [tuple(row) for row in db.session.execute(
            sa.select(PluginState.plugin, PluginState.organisation_id, PluginState.enabled)
        )]
    except sa.exc.OperationalError:
        # The database is not created yet (first `db upgrade`): nothing is switched off.
        db.session.rollback()
        return []
    with cache.lock:
        if cache.generation == generation:  # not cleared while we were reading
            cache.rows, cache.loaded_at = rows, time.monotonic()
    return rows


def _load_switched_off(app: Flask, organisation_id: int | None) -> frozenset[str]:
    rows = _switch_rows(app)
    deployment = {plugin: enabled for plugin, org, enabled in rows if org is None}
    organisation = {plugin: enabled for plugin, org, enabled in rows if org is not None and org == organisation_id}
    state = {**deployment, **organisation}
    return frozenset(name for name, enabled in state.items() if not enabled)


def enabled_anywhere(name: str, app: Flask | None = None) -> bool:
    """Whether the plugin is on for the deployment or for at least one organisation: a
    periodic task runs then, and checks the switch for each consultation it handles."""
    app = app or current_app._get_current_object()
    if name not in plugin_manager(app).info:
        return False
    rows = _switch_rows(app)
    deployment_on = all(enabled for plugin, org, enabled in rows if plugin == name and org is None)
    return deployment_on or any(enabled for plugin, org, enabled in rows if plugin == name and org is not None)


_listening = False


def watch_plugin_states() -> None:
    """Clear the switch cache of the current app when a session that changed a
    ``PluginState`` commits (the console, the CLI, a test). Installed once per process."""
    global _listening
    if _listening:
        return
    _listening = True
    import sqlalchemy as sa

    from core.models import PluginState

    @sa.event.listens_for(sa.orm.Session, "after_flush")
    def _note(session, context):
        if any(isinstance(obj, PluginState) for obj in (*session.new, *session.dirty, *session.deleted)):
            session.info["teleconsult.switches_changed"] = True

    @sa.event.listens_for(sa.orm.Session, "do_orm_execute")
    def _note_bulk(state):
        if (state.is_update or state.is_delete) and any(m.class_ is PluginState for m in state.all_mappers):
            state.session.info["teleconsult.switches_changed"] = True

    @sa.event.listens_for(sa.orm.Session, "after_commit")
    def _clear(session):
        if session.info.pop("teleconsult.switches_changed", False) and has_app_context():
            _switch_cache(current_app._get_current_object()).clear()

    @sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
    def _forget(session, previous_transaction):
        session.info.pop("teleconsult.switches_changed", None)


def _viewer_organisation_id() -> int | None:
    if not has_request_context():
        return None
    from core.access import current_principal

    return current_principal().organisation_id


def is_enabled(name: str, app: Flask | None = None, *, organisation_id: Scope = VIEWER) -> bool:
    """Whether plugin ``name`` is loaded and switched on for ``organisation_id``.

    For anything done for a consultation pass ``organisation_id=consultation.organisation_id``
    (in a request or not); the default follows the viewer's organisation (pages and
    events that concern no particular object), and outside a request the deployment's
    switch alone.
    """
    pm = plugin_manager(app)
    return name in pm.info and name not in switched_off(app, organisation_id)


def enabled_for_viewer(name: str, app: Flask | None = None) -> bool:
    """Whether the viewer may use plugin ``name`` on pages and events about no object.

    Staff and machine clients: their organisation's switch. A patient belongs to the
    organisation they are attached to but may have consultations with others: the
    plugin is theirs while it is on for any of those (what each consultation shows is
    then decided by that consultation's organisation).
    """
    if is_enabled(name, app):
        return True
    if name not in plugin_manager(app).info or not has_request_context():
        return False
    from core.access import current_principal

    principal = current_principal()
    if not principal.is_patient or not principal.patient_ids:
        return False
    return any(
        is_enabled(name, app, organisation_id=organisation_id)
        for organisation_id in _organisations_of_patients(principal.patient_ids)
    )


_ORGANISATIONS_KEPT = 50_000


def consultation_organisation_id(consultation_id: int, app: Flask | None = None) -> int | None:
    """The organisation of a consultation by its id, for guards that have only the id
    (a page's URL, a Socket.IO event). It never changes, so each process keeps it."""
    import sqlalchemy as sa

    from core.db import db
    from core.models import Consultation

    app = app or current_app._get_current_object()
    known = app.extensions.setdefault("teleconsult.consultation_organisations", {})
    if consultation_id not in known:
        organisation_id = db.session.scalar(
            sa.select(Consultation.organisation_id).where(Consultation.id == consultation_id)
        )
        if organisation_id is None:
            return None
        if len(known) >= _ORGANISATIONS_KEPT:
            known.clear()
        known[consultation_id] = organisation_id
    return known[consultation_id]


def enabled_for_object(name: str, consultation_id: Any, app: Flask | None = None) -> bool:
    """The guard of a plugin's page or event: the switch of the consultation it names
    (``consultation_id``), else the viewer's (``enabled_for_viewer``)."""
    from core import params

    consultation_id = params.to_id(consultation_id)  # from a URL or a Socket.IO event
    if consultation_id is not None:
        organisation_id = consultation_organisation_id(consultation_id, app)
        if organisation_id is not None:
            return is_enabled(name, app, organisation_id=organisation_id)
    return enabled_for_viewer(name, app)


def _organisations_of_patients(patient_ids: frozenset[int]) -> list[int]:
    import sqlalchemy as sa

    from core.db import db
    from core.models import Consultation

    ids = list(patient_ids)
    return list(db.session.scalars(
        sa.select(Consultation.organisation_id)
        .where(sa.or_(Consultation.patient_id.in_(ids), Consultation.representative_id.in_(ids)))
        .distinct()
    ))


class LiveHooks:
    """``hooks().teleconsult_x(...)`` calls only the plugins switched on right now."""

    def __init__(self, pm: TeleconsultPluginManager, off: frozenset[str]) -> None:
        self._pm = pm
        self._off = [pm.get_plugin(name) for name in off if pm.get_plugin(name) is not None]

    def __getattr__(self, name: str):
        new = self._pm.renamed_hooks.get(name)
        if new is not None:  # a caller of a renamed hook, for one release
            warnings.warn(
                hookspecs.TeleconsultDeprecationWarning(f"hook {name} is renamed {new}; call it by the new name"),
                stacklevel=2,
            )
            name = new
        if not self._off:
            return getattr(self._pm.hook, name)
        return self._pm.subset_hook_caller(name, remove_plugins=self._off)


def hooks(app: Flask | None = None, *, organisation_id: Scope = VIEWER) -> LiveHooks:
    """The hooks of the plugins switched on for ``organisation_id`` (see ``is_enabled``).

    Hooks fired for a consultation use ``hooks_for(consultation)`` instead.
    """
    app = app or (current_app._get_current_object() if has_app_context() else None)
    return LiveHooks(plugin_manager(app), switched_off(app, organisation_id))


def hooks_for(consultation: Any, app: Flask | None = None) -> LiveHooks:
    """The hooks of the plugins switched on for the consultation's organisation, whoever
    looks at it (a patient attached elsewhere, a task, the command line)."""
    return hooks(app, organisation_id=consultation.organisation_id)


def collect(pm: TeleconsultPluginManager, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
    """Call a registration hook plugin by plugin: ``[(plugin_name, item), ...]``.

    The core needs to know which plugin contributed each blueprint, admin view or
    namespace so that switching the plugin off hides exactly those. A mapping answer
    gives its ``(key, value)`` pairs. Each plugin is called through pluggy (a subset
    caller), so its tracing and call monitoring see registration hooks too.
    """
    caller = getattr(pm.hook, hook_name)
    impls = caller.get_hookimpls()
    result = []
    for impl in reversed(impls):
        others = [other.plugin for other in impls if other is not impl]
        one = pm.subset_hook_caller(hook_name, remove_plugins=others) if others else caller
        for items in one(**kwargs):
            pairs = items.items() if isinstance(items, Mapping) else items or ()
            result.extend((impl.plugin_name, item) for item in pairs)
    return result
