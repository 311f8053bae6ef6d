"""The wizard's step «Ребёнок» of a legal representative's consultation (SPEC D5, seed 002
§5.4), placed after the core's «Проверка ФИО» for a type ``for_representative``.

The doctor picks a child linked to the representative, or types the child's full name,
birth date and OMS policy: matched to the registry by the policy, or a registry record is
created; the link to the representative is then a claim (``Guardianship.basis`` None)
that grants the representative nothing until ESIA lists the child at their login or an
operator attaches a document. The step provides the draft's ``patient_id``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import redirect, request, url_for
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal, current_principal
from core.db import db, utcnow
from core.errors import InvalidInput
from core.models import ConsultationType, Patient
from core.models.registry import normalize_name
from core.validators import ADULT_AGE, InvalidIdentifier, age_on, normalize_oms
from core.wizard_steps import WizardStep
from core.workplace.wizard import go_next, update_state
from plugins.guardian import links

# From 15 a minor gives the informed voluntary consent themselves (323-ФЗ, art. 54 part 2;
# art. 20 part 2 leaves it to the representative only below that age).
OWN_CONSENT_AGE = 15
SEXES = ("male", "female")


def _birth_date(raw: str) -> date:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw.strip(), pattern).date()
        except ValueError:
            continue
    raise InvalidInput(_l("Укажите дату рождения ребёнка в виде ДД.ММ.ГГГГ"))


def read_child(form) -> dict:
    """The typed child, checked; ``InvalidInput`` with a Russian reason otherwise."""
    values = {
        "last_name": form.get("child_last_name", "").strip()[:100],
        "first_name": form.get("child_first_name", "").strip()[:100],
        "middle_name": form.get("child_middle_name", "").strip()[:100] or None,
        "sex": form.get("child_sex", ""),
    }
    if not values["last_name"] or not values["first_name"]:
        raise InvalidInput(_l("Введите фамилию и имя ребёнка"))
    born = _birth_date(form.get("child_birth_date", ""))
    today = utcnow().date()
    if born > today or born.year < 1900:
        raise InvalidInput(_l("Дата рождения ребёнка не может быть в будущем"))
    if age_on(born, today) >= ADULT_AGE:
        raise InvalidInput(
            _l("Пациенту 18 лет или больше: выберите тип консультации для самого пациента, а не для представителя")
        )
    try:
        values["oms_policy"] = normalize_oms(form.get("child_oms_policy", ""))
    except InvalidIdentifier as problem:
        raise InvalidInput(problem.message) from None
    if values["sex"] not in SEXES:
        raise InvalidInput(_l("Укажите пол ребёнка"))
    values["birth_date"] = born
    return values


def match_or_create(values: dict, representative: Patient, principal: Principal) -> Patient:
    """The registry child the doctor typed: the record with that OMS policy when the
    surname and birth date agree, a new record when the policy is unknown."""
    found = db.session.scalar(sa.select(Patient).where(Patient.oms_policy == values["oms_policy"]))
    if found is not None:
        if found.id == representative.id:
            raise InvalidInput(_l("Этот полис ОМС — законного представителя, а не ребёнка"))
        if found.birth_date != values["birth_date"] or normalize_name(found.last_name) != normalize_name(
            values["last_name"]
        ):
            raise InvalidInput(
                _l("Полис ОМС записан в регистре другому человеку (другие фамилия или дата рождения). Проверьте данные.")
            )
        return found
    child = Patient(**values, organisation_id=principal.organisation_id, source="wizard")
    db.session.add(child)
    db.session.flush()
    audit.record("registry.patient_created", child, principal=principal, data={"source": "wizard"})
    return child


def own_consent_age(child: Patient | None) -> int | None:
    """The child's age when they give the consent themselves (15 or more), else None."""
    if child is None:
        return None
    age = age_on(child.birth_date, utcnow().date())
    return age if age >= OWN_CONSENT_AGE else None


def _applies(values: dict, ctype: ConsultationType | None) -> bool:
    return ctype is not None and ctype.for_representative


def _representative(values: dict) -> Patient | None:
    return db.session.get(Patient, values["representative_id"]) if values.get("representative_id") else None


def _context(values: dict) -> dict:
    representative = _representative(values)
    return {"children": links.children_of(representative) if representative is not None else []}


def _submit(values: dict):
    representative = _representative(values)
    if representative is None:
        # «Проверка ФИО» names the representative first.
        return redirect(url_for("workplace.new_application", step="confirm"))
    if "enter_child" in request.form:
        principal = current_principal()
        child = match_or_create(read_child(request.form), representative, principal)
        links.claim(representative, child, principal)
    else:
        raw = request.form.get("child_id", "")
        child = next((c for c in links.children_of(representative) if str(c.id) == raw), None)
        if child is None:
            raise InvalidInput(_l("Выберите ребёнка, для которого проводится консультация"))
    update_state(patient_id=child.id)
    return go_next(CHILD_STEP.code)


CHILD_STEP = WizardStep(
    code="child",
    title=_l("Ребёнок"),
    after="confirm",
    template="guardian/wizard_child.html",
    submit=_submit,
    context=_context,
    applies=_applies,
    provides=("patient_id",),
)
