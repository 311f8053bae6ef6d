"""Decision support for the doctor: flags computed from the application's fields (SPEC D6).

Shown, never acted on: the doctor decides. The thresholds and where they come from (also
in docs/routes_covid.md):

- breathing rate over 22 per minute, SpO2 below 95 % in a patient at home: «рассмотреть
  госпитализацию». Приказ Минздрава России от 19.03.2020 № 198н, приложение «Порядок
  организации оказания медицинской помощи... в амбулаторных условиях» (the conditions of
  treatment at home: ЧДД не более 22 в минуту, SpO2 не менее 95 %), repeated in the
  Временные методические рекомендации «Профилактика, диагностика и лечение новой
  коронавирусной инфекции (COVID-19)», section on the outpatient treatment.
- CRB-65 for a suspected pneumonia in an adult: one point each for confusion, breathing rate
  30 or more, systolic pressure below 90 or diastolic 60 or less, age 65 or more. 0 points:
  outpatient treatment possible; 1–2: consider hospitalisation; 3–4: urgent hospitalisation.
  Клинические рекомендации Минздрава России «Внебольничная пневмония у взрослых» (2021),
  after Lim W. S. et al., Thorax 2003; 58: 377–382.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

BREATHING_RATE_MAX = 22
SPO2_MIN = 95


@dataclass(frozen=True)
class Flag:
    text: str
    urgent: bool = False


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def crb65(data: dict, age: int) -> tuple[int, list[str]]:
    """The CRB-65 score and the criteria that gave its points."""
    met = []
    if "confusion" in (data.get("symptoms") or []):
        met.append(_("спутанность сознания"))
    if (data.get("breathing_rate") or 0) >= 30:
        met.append(_("ЧДД 30 в минуту и больше"))
    systolic, diastolic = data.get("bp_systolic"), data.get("bp_diastolic")
    if (systolic is not None and systolic < 90) or (diastolic is not None and diastolic <= 60):
        met.append(_("систолическое АД ниже 90 или диастолическое 60 мм рт. ст. и ниже"))
    if age >= 65:
        met.append(_("возраст 65 лет и старше"))
    return len(met), met


def flags(data: dict, birth_date: date | None, today: date | None = None) -> list[Flag]:
    """What to show the doctor about an application's data."""
    found: list[Flag] = []
    rate, spo2 = data.get("breathing_rate"), data.get("spo2")
    if rate is not None and rate > BREATHING_RATE_MAX:
        found.append(Flag(_("ЧДД %(n)s в минуту (больше %(max)s): рассмотреть госпитализацию", n=rate, max=BREATHING_RATE_MAX), True))
    if spo2 is not None and spo2 < SPO2_MIN:
        found.append(Flag(_("SpO2 %(n)s %% (ниже %(min)s %%): рассмотреть госпитализацию", n=spo2, min=SPO2_MIN), True))
    age = age_on(birth_date, today or date.today()) if birth_date else None
    if data.get("pneumonia_suspected") and age is not None and age >= 18:
        score, met = crb65(data, age)
        if score == 0:
            advice = _("амбулаторное лечение возможно")
        elif score <= 2:
            advice = _("рассмотреть госпитализацию")
        else:
            advice = _("показана срочная госпитализация")
        criteria = (": " + ", ".join(met)) if met else ""
        found.append(Flag(_("CRB-65: %(score)s из 4%(criteria)s — %(advice)s", score=score, criteria=criteria, advice=advice), score > 0))
    return found
