"""Roles of a consultation's participants: the core's and those plugins register
(hook ``teleconsult_register_participant_roles``)."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from core.errors import InvalidInput


def build_registry(contributed: list[tuple[str, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    """``{role code: (plugin name, title)}``, the core's first; a code registered twice
    stops the start."""
    registry: dict[str, tuple[str, str]] = {}
    for plugin, (code, title) in sorted(contributed, key=lambda item: item[0] != "core"):
        if code in registry:
            raise RuntimeError(
                f"participant role {code!r} of plugin {plugin!r} is already registered by {registry[code][0]!r}"
            )
        registry[code] = (plugin, title)
    return registry


def registered(app: Flask | None = None) -> dict[str, str]:
    """``{role code: title}`` of every loaded plugin (the core's first)."""
    return {code: title for code, (_plugin, title) in (app or current_app).extensions["teleconsult.participant_roles"].items()}


def owner(code: str, app: Flask | None = None) -> str | None:
    """The plugin that registered the role (``"core"`` for the core's), None if none did."""
    entry = (app or current_app).extensions["teleconsult.participant_roles"].get(code)
    return entry[0] if entry is not None else None


def title(code: str, app: Flask | None = None) -> str:
    """The Russian title of a role; the code itself for a role whose plugin is gone."""
    return str(registered(app).get(code, code))


def check(code: str, app: Flask | None = None) -> str:
    """The role, if some loaded plugin registered it; else ``InvalidInput``."""
    if code not in registered(app):
        raise InvalidInput(_l("Неизвестная роль участника: %(role)s", role=code),
                           field_errors={"role": [_l("Выберите роль участника из списка")]})
    return code
