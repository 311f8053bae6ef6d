"""Consultation routes: the registry of RouteSpecs and the types they declare (SPEC F2)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app

from core import participant_roles
from core.db import db
from core.models import Consultation, ConsultationType, MedicalProfile
from core.plugins import VIEWER, Scope, switched_off
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


def route_of(consultation: Consultation) -> RouteSpec:
    """The route of a consultation (of its type)."""
    return route_for(consultation.type)


def hidden_routes(organisation_id: Scope = VIEWER, app: Flask | None = None) -> frozenset[str]:
    """Codes of the routes whose plugin is switched off for ``organisation_id`` (the
    viewer's by default): their types are absent from that organisation's wizard and API."""
    off = switched_off(app, organisation_id)
    if not off:
        return frozenset()
    return frozenset(code for code, (plugin, _spec) in route_registry(app).items() if plugin in off)


REPRESENTATIVE_ROLE = "representative"


def representatives_supported(
    app: Flask | None = None, organisation_id: Scope = VIEWER, *, loaded_only: bool = False
) -> bool:
    """Whether this app knows legal representatives: some loaded plugin (guardian)
    registers the participant role ``representative`` and is switched on for
    ``organisation_id`` (``loaded_only``: loaded is enough). Without it, types declared
    ``for_representative`` (a route's twin for representatives) are neither created nor
    offered."""
    app = app or current_app
    plugin = participant_roles.owner(REPRESENTATIVE_ROLE, app)
    if plugin is None:
        return False
    return loaded_only or plugin not in switched_off(app, organisation_id)


def type_keywords(ctype: ConsultationType, app: Flask | None = None) -> tuple[str, ...]:
    """The search words its route declares for the type (``ConsultationTypeSpec.keywords``)."""
    entry = route_registry(app).get(ctype.route)
    if entry is None:
        return ()
    return next((spec.keywords for spec in entry[1].types if spec.code == ctype.code), ())


def offered_types_filter(organisation_id: Scope = VIEWER, app: Flask | None = None):
    """A SQL condition on ``ConsultationType``: active and of a route switched on for
    ``organisation_id`` (and not for representatives where nobody knows them). Every list
    of types a doctor or a client chooses from uses it."""
    condition = ConsultationType.active.is_(True)
    if not representatives_supported(app, organisation_id):
        condition = condition & ConsultationType.for_representative.is_(False)
    hidden = hidden_routes(organisation_id, app)
    if hidden:
        condition = condition & ConsultationType.route.not_in(sorted(hidden))
    return condition


def type_offered(ctype: ConsultationType | None, organisation_id: Scope = VIEWER) -> bool:
    """Whether ``ctype`` may be chosen for a new consultation of ``organisation_id``."""
    return (
        ctype is not None
        and ctype.active
        and ctype.route not in hidden_routes(organisation_id)
        and (not ctype.for_representative or representatives_supported(organisation_id=organisation_id))
    )


def react(consultation: Consultation, event: str, **kwargs) -> None:
    """Call the route's own reaction to ``event`` (``RouteSpec.reactions``), if it has one
    and its plugin is on for the consultation's organisation. The core calls it right
    after the matching ``teleconsult_consultation_<event>`` hook."""
    entry = route_registry().get(consultation.type.route)
    if entry is None:
        return
    plugin, spec = entry
    reaction = spec.reactions.get(event)
    if reaction is None or plugin in switched_off(None, consultation.organisation_id):
        return
    reaction(consultation=consultation, **kwargs)


def split_problems(problems) -> tuple[list[str], dict[str, list[str]]]:
    """A route's ``validate`` answer as (messages, {field: [messages]})."""
    general: list[str] = []
    by_field: dict[str, list[str]] = {}
    for problem in problems or ():
        if isinstance(problem, tuple):
            name, message = problem
            by_field.setdefault(name, []).append(str(message))
        else:
            general.append(str(problem))
    return general, by_field


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
    representatives = representatives_supported(app, loaded_only=True)
    for _plugin, spec in route_registry(app).values():
        for type_spec in spec.types:
            if type_spec.code in existing or (type_spec.for_representative and not representatives):
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
