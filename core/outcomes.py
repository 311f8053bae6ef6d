"""How a consultation may end: the core's outcomes and those plugins register (SPEC D9).

An outcome says whether it carries a conclusion: the document of the conclusion and the
route's conclusion fields (``RouteSpec.conclusion_schema``), validated by
``core.lifecycle.complete`` for every such outcome, whichever plugin completes with it.
Plugins register theirs with ``teleconsult_register_outcomes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class OutcomeSpec:
    code: str
    title: str
    # The route's conclusion fields apply (validated by core.lifecycle.complete).
    conclusion: bool = True
    # A document of the conclusion (a signed PDF, a scan) must be attached.
    document: bool = True


def build_registry(contributed: list[tuple[str, OutcomeSpec]]) -> dict[str, tuple[str, OutcomeSpec]]:
    """``{outcome code: (plugin name, spec)}``, the core's first; a code registered twice
    stops the start."""
    registry: dict[str, tuple[str, OutcomeSpec]] = {}
    for plugin, spec in sorted(contributed, key=lambda item: item[0] != "core"):
        if spec.code in registry:
            raise RuntimeError(f"outcome {spec.code!r} of plugin {plugin!r} is already registered by {registry[spec.code][0]!r}")
        registry[spec.code] = (plugin, spec)
    return registry


def registered(app: Flask | None = None) -> dict[str, OutcomeSpec]:
    return {code: spec for code, (_plugin, spec) in (app or current_app).extensions["teleconsult.outcomes"].items()}


def spec(code: str | None, app: Flask | None = None) -> OutcomeSpec | None:
    return registered(app).get(code) if code else None


def title(code: str | None, app: Flask | None = None) -> str:
    """The Russian title of an outcome; the code itself for one whose plugin is gone."""
    found = spec(code, app)
    return str(found.title) if found else (code or "")


class Titles:
    """A mapping-like view for templates: ``outcome_titles.get(code, code)``."""

    def get(self, code, default=None):
        found = spec(code)
        return found.title if found else default

    def __getitem__(self, code):
        return title(code)
