"""The COVID-19 / ORVI / flu / community-acquired pneumonia route (SPEC D6; seed 002 §4.1, §5.1).

Two consultation types: one for the patient, and its twin for the patient's legal
representative (created only when some plugin brings legal representatives: the
participant role ``representative``). Each carries the «ВНИМАНИЕ!» pointer of the doctor
guide, so every other type of its audience points to it in the wizard. Its application
and conclusion fields are in ``schemas``; the decision support shown on the card and on
the completion forms in ``decision``.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.routespec import ConsultationTypeSpec, RouteSpec
from plugins.routes_covid.decision import age_on, flags
from plugins.routes_covid.schemas import CovidApplication, CovidConclusion

ROUTE = "covid"
NAME = "Консультация пациента с признаками или подтвержденным диагнозом COVID-19, ОРВИ, гриппа, внебольничной пневмонии"
DESCRIPTION = _l("Маршрут консультаций при COVID-19, ОРВИ, гриппе и внебольничной пневмонии: свои типы консультаций, данные заявки и заключения")
TWIN_NAME = (
    "Консультация законного представителя пациента с признаками или подтвержденным диагнозом "
    "COVID-19, ОРВИ, гриппа, внебольничной пневмонии"
)
ATTENTION = (
    "ВНИМАНИЕ! Для консультирования пациентов с подозрением на новую коронавирусную инфекцию COVID-19, "
    "с подтвержденным диагнозом новой коронавирусной инфекции COVID-19, а также с признаками или "
    "подтвержденным диагнозом внебольничной пневмонии, острой респираторной вирусной инфекции, гриппа, "
    "получающим медицинскую помощь амбулаторно (на дому) необходимо использовать маршрут «" + NAME + "»."
)
TWIN_ATTENTION = (
    "ВНИМАНИЕ! Для консультирования законных представителей пациентов с подозрением на новую коронавирусную "
    "инфекцию COVID-19, с подтвержденным диагнозом новой коронавирусной инфекции COVID-19, а также с "
    "признаками или подтвержденным диагнозом внебольничной пневмонии, острой респираторной вирусной инфекции, "
    "гриппа, получающим медицинскую помощь амбулаторно (на дому) необходимо использовать маршрут «"
    "Консультация законного представителя пациента с признаками или подтвержденным диагнозом COVID-19, ОРВИ, "
    "гриппа, внебольничной пневмонии»."
)
# The search of the wizard matches words inside the name; these add the other forms.
KEYWORDS = ("COVID", "коронавирус", "ОРВИ", "грипп", "пневмония", "ОРЗ", "SARS-CoV-2")
# Profiles of the federal dictionary: терапия, педиатрия, инфекционные болезни.
PROFILES = ("97", "68", "28")


def check(consultation, data: dict) -> list:
    """A child's weight is required (dosage depends on it)."""
    patient = consultation.patient
    if patient is not None and patient.birth_date and age_on(patient.birth_date, date.today()) < 18:
        if data.get("weight") is None:
            return [("weight", _l("Укажите массу тела ребёнка"))]
    return []


@hookimpl
def teleconsult_register_routes():
    return [
        RouteSpec(
            code=ROUTE,
            title=_l("COVID-19, ОРВИ, грипп, внебольничная пневмония"),
            types=(
                ConsultationTypeSpec(
                    code="covid_patient", name=NAME, profiles=PROFILES, attention_text=ATTENTION,
                    sort_order=5, keywords=KEYWORDS,
                ),
                ConsultationTypeSpec(
                    code="covid_representative", name=TWIN_NAME, profiles=PROFILES, attention_text=TWIN_ATTENTION,
                    for_representative=True, sort_order=15, keywords=KEYWORDS,
                ),
            ),
            application_schema=CovidApplication,
            conclusion_schema=CovidConclusion,
            validate=check,
        )
    ]


# No pages of its own: the blueprint carries the templates of its blocks.
blueprint = Blueprint("routes_covid", __name__, template_folder="templates")


@hookimpl
def teleconsult_register_blueprints(app):
    return [blueprint]


# Where the doctor decides: the card and every completion form.
FLAG_SLOTS = ("workplace.card.details", "workplace.completion.form")


@hookimpl
def teleconsult_register_template_blocks(slot, context):
    consultation = context.get("consultation")
    if slot not in FLAG_SLOTS or consultation is None or consultation.type.route != ROUTE:
        return []
    found = flags(consultation.route_data or {}, consultation.patient.birth_date)
    if not found:
        return []
    return [render_template("routes_covid/flags.html", flags=found)]
