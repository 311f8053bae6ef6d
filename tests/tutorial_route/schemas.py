"""The route's fields: what the doctor enters when filing it, what the consultant concludes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import routeforms

COMPLAINTS = (
    ("headache", _l("Головная боль")),
    ("dizziness", _l("Головокружение")),
    ("chest_pain", _l("Боль в груди")),
    ("none", _l("Жалоб нет")),
)
TARGETS = (("130/80", "ниже 130/80"), ("140/90", "ниже 140/90"))


class PressureApplication(routeforms.RouteSchema):
    measured_on = routeforms.date(_l("Дата измерения"), required=True, not_future=True)
    systolic = routeforms.integer(_l("Систолическое давление"), required=True, minimum=60, maximum=260, unit="мм рт. ст.")
    diastolic = routeforms.integer(_l("Диастолическое давление"), required=True, minimum=30, maximum=160, unit="мм рт. ст.")
    complaints = routeforms.choices(_l("Жалобы"), COMPLAINTS, required=True)
    takes_medication = routeforms.flag(_l("Принимает гипотензивные препараты"))
    note = routeforms.textarea(_l("Комментарий для консультанта"), hint=_l("Что ещё важно знать врачу"))


class PressureConclusion(routeforms.RouteSchema):
    diagnosis_code = routeforms.icd10(required=True)
    target = routeforms.choice(_l("Целевое давление"), TARGETS, required=True, widget="radio")
    next_contact = routeforms.date(_l("Дата следующего контакта"), required=True, not_past=True)
    recommendations = routeforms.textarea(_l("Рекомендации"))


def above_target(route_data: dict) -> bool:
    """Systolic 140 or more, or diastolic 90 or more (the office threshold of the clinical
    guidelines «Артериальная гипертензия у взрослых», 2020)."""
    return (route_data.get("systolic") or 0) >= 140 or (route_data.get("diastolic") or 0) >= 90
