"""«Контроль артериального давления»: the route built in docs/plugins.md (SPEC F2).

A follow-up of a patient with arterial hypertension: the doctor who files it enters the
home measurements, the consultant closes it with a conclusion of the route's own fields,
either with a scan (the core's upload) or with «Завершить с планом контроля» (the
route's own completion method, which needs no document). The card shows a note when the
entered pressure is above the target.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from core import hookimpl
from core.lifecycle import CompletionMethod
from core.outcomes import OutcomeSpec
from core.routespec import ConsultationTypeSpec, RouteSpec
from tests.tutorial_route.schemas import PressureApplication, PressureConclusion, above_target

ROUTE = "pressure"
OUTCOME = "pressure_plan"
# What the route did, kept for the tests (a real plugin would write a table or a task).
CREATED: list[int] = []


def _created(consultation, actor):
    CREATED.append(consultation.id)


@hookimpl
def teleconsult_register_routes():
    return [
        RouteSpec(
            code=ROUTE,
            title="Контроль артериального давления",
            types=(
                ConsultationTypeSpec(
                    code="pressure_control",
                    name="Контроль артериального давления у пациента с гипертензией",
                    profiles=("97",),  # «терапия» in the federal dictionary of profiles
                    sort_order=30,
                ),
            ),
            application_schema=PressureApplication,
            conclusion_schema=PressureConclusion,
            reactions={"created": _created},
        )
    ]


@hookimpl
def teleconsult_register_outcomes():
    return [OutcomeSpec(OUTCOME, _l("Завершена с планом контроля давления"), conclusion=True, document=False)]


@hookimpl
def teleconsult_register_completion_methods(consultation, principal):
    if consultation.type.route != ROUTE:
        return []
    return [CompletionMethod("pressure_plan", _l("Завершить с планом контроля"), "pressure.complete", OUTCOME, order=40)]


@hookimpl
def teleconsult_register_blueprints(app):
    from tests.tutorial_route.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_template_blocks(slot, context):
    consultation = context.get("consultation")
    if slot != "workplace.card.details" or consultation is None or consultation.type.route != ROUTE:
        return []
    if not above_target(consultation.route_data or {}):
        return []
    return [render_template("pressure/card_note.html", c=consultation)]
