"""Menus assembled from the ``teleconsult_register_menu_items`` hook (SPEC D2, P2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for

from core.plugins import hooks


@dataclass(frozen=True)
class MenuItem:
    title: str  # lazy_gettext text
    endpoint: str
    order: int = 100
    icon: str = ""
    # Staff roles that see the item; empty: everyone who reaches the area.
    roles: tuple[str, ...] = ()
    url_values: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.url_values)


def _served(groups) -> list[MenuItem]:
    """The items of the hook's answers whose pages exist, in order."""
    items = [item for group in groups for item in group or () if item.endpoint in current_app.view_functions]
    return sorted(items, key=lambda item: (item.order, str(item.title)))


def login_options(area: str) -> list[MenuItem]:
    """The ways to log in to ``area`` that the plugins switched on for the viewer offer."""
    return _served(hooks().teleconsult_register_login_options(area=area))


def menu(area: str, principal) -> list[MenuItem]:
    items = _served(hooks().teleconsult_register_menu_items(area=area))
    return [item for item in items if not item.roles or principal.roles.intersection(item.roles)]
