"""The wizard's step «Сведения для консультации»: the route's application fields
(SPEC D3, F2). Shown only for a type whose route has an application schema."""

from __future__ import annotations

from types import SimpleNamespace

from flask import g, request
from flask_babel import lazy_gettext as _l

from core import routeforms
from core.db import db
from core.errors import InvalidInput
from core.access import current_principal
from core.models import ConsultationType, Patient
from core.routing import route_for, split_problems
from core.wizard_steps import WizardStep
from core.workplace import wizard


def _route(values: dict):
    ctype = db.session.get(ConsultationType, values["type_id"])
    return route_for(ctype)


def _applies(values: dict, ctype: ConsultationType | None) -> bool:
    return ctype is not None and route_for(ctype).application_schema is not None


def _context(values: dict) -> dict:
    route = _route(values)
    if request.method == "POST":
        # A refused form is shown again as typed, with the messages beside each field.
        typed = routeforms.read_form(route.application_schema, request.form)
        errors = g.get("teleconsult_route_errors", {})
        return {"fields": routeforms.form_fields(route.application_schema, typed, errors), "route": route}
    return {"fields": routeforms.form_fields(route.application_schema, values.get("route_data")), "route": route}


def _submit(values: dict):
    route = _route(values)
    raw = routeforms.read_form(route.application_schema, request.form)
    try:
        data = routeforms.load_application(route, raw)
        _check(route, values, data)
    except InvalidInput as error:
        g.teleconsult_route_errors = routeforms.field_messages(error, routeforms.APPLICATION)
        raise
    wizard.update_state(route_data=data)
    return wizard.go_next(DETAILS.code)


def _check(route, values: dict, data: dict) -> None:
    """The route's own checks (``RouteSpec.validate``) now, not only at the last step."""
    if route.validate is None:
        return
    stand_in = SimpleNamespace(
        type=db.session.get(ConsultationType, values["type_id"]),
        patient=db.session.get(Patient, values["patient_id"]),
        representative=db.session.get(Patient, values["representative_id"]) if values.get("representative_id") else None,
        organisation_id=current_principal().organisation_id,
        route_data=data,
    )
    general, by_field = split_problems(route.validate(stand_in, data))
    if general or by_field:
        errors = {routeforms.APPLICATION: by_field} if by_field else {}
        raise InvalidInput(general[0] if general else _l("Проверьте сведения для консультации"), field_errors=errors)


DETAILS = WizardStep(
    code="details",
    title=_l("Сведения для консультации"),
    after="email",
    template="workplace/wizard/details.html",
    submit=_submit,
    context=_context,
    applies=_applies,
    provides=("route_data",),
)
