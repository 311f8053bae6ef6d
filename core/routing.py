"""Consultation routes: the registry of RouteSpecs and the types they declare (SPEC F2)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app

from core.db import db
from core.models import ConsultationType, MedicalProfile
from core.routespec import RouteSpec

DEFAULT_ROUTE = "default"


def route_registry(app: Flask | None = None) -> dict[str, tuple[str, RouteSpec]]:
    """``{route code: (plugin name, spec)}``."""
    return (app or current_app).extensions["teleconsult.routes"]


def route_for(consultation_type: ConsultationType) -> RouteSpec:
    """The route of a type; a type whose plugin is gone falls back to the default route."""
    registry = route_registry()
    entry = registry.get(consultation_type.route) or registry[DEFAULT_ROUTE]
    return entry[1]


def build_registry(contributed: list[tuple[str, RouteSpec]]) -> dict[str, tuple[str, RouteSpec]]:
    registry: dict[str, tuple[str, RouteSpec]] = {}
    for plugin, spec in contributed:
        if spec.code in registry:
            raise RuntimeError(
                f"route {spec.code!r} of plugin {plugin!r} is already declared by "
                f"{registry[spec.code][0]!r}"
            )
        registry[spec.code] = (plugin, spec)
    return registry


def sync_consultation_types(app: Flask | None = None) -> int:
    """Create the consultation types that routes declare and the database lacks.

    Existing types are left as the operator edited them. Returns how many were created.
    """
    created = 0
    profiles = {p.code: p for p in db.session.scalars(sa.select(MedicalProfile))}
    existing = set(db.session.scalars(sa.select(ConsultationType.code)))
    for _plugin, spec in route_registry(app).values():
        for type_spec in spec.types:
            if type_spec.code in existing:
                continue
            chosen = (
                [profiles[c] for c in type_spec.profiles if c in profiles]
                if type_spec.profiles
                else [p for p in profiles.values() if p.active]
            )
            db.session.add(
                ConsultationType(
                    code=type_spec.code,
                    name=type_spec.name,
                    route=spec.code,
                    for_representative=type_spec.for_representative,
                    attention_text=type_spec.attention_text,
                    sort_order=type_spec.sort_order,
                    profiles=chosen,
                )
            )
            created += 1
    return created
