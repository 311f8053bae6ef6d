"""What a route plugin declares (SPEC F2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import marshmallow

if TYPE_CHECKING:
    from core.models import Consultation


LIFECYCLE_EVENTS = ("created", "scheduled", "started", "completed")


@dataclass(frozen=True)
class ConsultationTypeSpec:
    """A consultation type the route brings; created once, then the operator's to edit."""

    code: str
    name: str
    for_representative: bool = False
    # Profile codes of the federal dictionary; empty means every active profile.
    profiles: tuple[str, ...] = ()
    # The «ВНИМАНИЕ!» pointer shown in the wizard's type step (seed 002 §4.1, §5.1).
    attention_text: str | None = None
    sort_order: int = 100
    # Words the wizard's type search also finds the type by («пневмония» for «пневмонии»).
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteSpec:
    code: str
    title: str
    types: tuple[ConsultationTypeSpec, ...] = ()
    # Extra fields of the application (a core.routeforms.RouteSchema); the wizard's step
    # «Сведения для консультации» and the API load them into Consultation.route_data.
    application_schema: type[marshmallow.Schema] | None = None
    # Fields of the conclusion form, used by every completion method that carries a
    # conclusion; stored as Consultation.conclusion_data.
    conclusion_schema: type[marshmallow.Schema] | None = None
    # validate(consultation, route_data) -> Russian messages, empty when valid; a message
    # may be a (field, message) pair, shown beside that field (under route_data). The
    # wizard's step «Сведения для консультации» calls it too, with a stand-in consultation
    # that has type, patient, representative and organisation_id.
    validate: Callable[[Consultation, dict], list[str]] | None = None
    # Lifecycle reactions of this route alone: {"created"|"scheduled"|"started"|"completed":
    # callable}. Each is called with the keyword arguments of the matching hook
    # (teleconsult_consultation_<event>), right after it, for consultations of the route's
    # types only, while the route's plugin is on for the consultation's organisation.
    reactions: Mapping[str, Callable[..., None]] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.reactions) - set(LIFECYCLE_EVENTS)
        if unknown:
            raise ValueError(f"route {self.code!r}: unknown lifecycle events {sorted(unknown)}; use {LIFECYCLE_EVENTS}")
