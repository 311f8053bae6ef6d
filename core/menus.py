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


def menu(area: str, principal) -> list[MenuItem]:
    items = []
    for group in hooks().teleconsult_register_menu_items(area=area):
        for item in group or ():
            if item.endpoint not in current_app.view_functions:
                continue
            if item.roles and not principal.roles.intersection(item.roles):
                continue
            items.append(item)
    return sorted(items, key=lambda item: (item.order, str(item.title)))
