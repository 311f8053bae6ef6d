"""What a route plugin declares (SPEC F2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import marshmallow

if TYPE_CHECKING:
    from core.models import Consultation


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


@dataclass(frozen=True)
class RouteSpec:
    code: str
    title: str
    types: tuple[ConsultationTypeSpec, ...] = ()
    # Extra fields of the application; their data is stored as Consultation.route_data.
    application_schema: type[marshmallow.Schema] | None = None
    # Fields of the conclusion form; stored as Consultation.conclusion_data.
    conclusion_schema: type[marshmallow.Schema] | None = None
    # validate(consultation, route_data) -> list of Russian messages; empty when valid.
    validate: Callable[[Consultation, dict], list[str]] | None = None
    extra: dict = field(default_factory=dict)

    def load_application(self, data: dict | None) -> dict:
        """Validate the route's application fields; raises marshmallow.ValidationError."""
        if self.application_schema is None:
            return {}
        schema = self.application_schema()
        # Round trip so dates and decimals are stored as JSON-friendly values.
        return schema.dump(schema.load(data or {}))

    def load_conclusion(self, data: dict | None) -> dict:
        if self.conclusion_schema is None:
            return dict(data or {})
        schema = self.conclusion_schema()
        return schema.dump(schema.load(data or {}))
