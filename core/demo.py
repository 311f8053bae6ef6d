"""The demo data set `teleconsult run` loads on an empty database.

One organisation (and a second one, to show that organisations do not see each other's
consultations), doctors with schedules, a registrar, an operator, a few hundred registry
patients with valid identifiers, and the portal persons the development IdP offers.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

import sqlalchemy as sa

from core.access import principal_for_user
from core.consultations import ConsultationDraft, create_consultation
from core.db import db, utcnow
from core.demo_data import PORTAL_PERSONS, PortalPerson, generate_people  # noqa: F401  (core.demo.PORTAL_PERSONS)
from core.dictionaries import sync_reference_data
from core.models import (
    CompletionReason,
    ConsultationType,
    MedicalProfile,
    Organisation,
    Outcome,
    Patient,
    Role,
    ScheduleTemplate,
    User,
)
from core.schedule import free_slots, generate_slots

DEMO_PASSWORD = "demo-parol-2026"

ORGANISATIONS = [
    ("СПб ГБУЗ «Городская поликлиника № 1»", "Поликлиника № 1", "1.2.643.5.1.13.13.12.2.78.9001"),
    ("СПб ГБУЗ «Детская городская поликлиника № 7»", "Детская поликлиника № 7", "1.2.643.5.1.13.13.12.2.78.9007"),
]

# login, last, first, middle, position, specialty, profile code, organisation index
DOCTORS = [
    ("terapevt", "Соколова", "Елена", "Андреевна", "врач-терапевт участковый", "терапевт", "97", 0),
    ("kardiolog", "Морозов", "Алексей", "Викторович", "врач-кардиолог", "кардиолог", "29", 0),
    ("nevrolog", "Волкова", "Ирина", "Сергеевна", "врач-невролог", "невролог", "53", 0),
    ("endokrinolog", "Лебедев", "Павел", "Олегович", "врач-эндокринолог", "эндокринолог", "122", 0),
    ("pediatr", "Новикова", "Татьяна", "Игоревна", "врач-педиатр участковый", "педиатр", "68", 1),
]


def demo_patients() -> list[dict]:
    """The registry's demo patients a newcomer can type into the wizard (SNILS, OMS policy,
    passport), each parent followed by their children; for the run banner and /demo."""
    found = []
    for person in PORTAL_PERSONS:
        if not person.in_registry:
            continue
        found.append({
            "name": f"{person.last_name} {person.first_name} {person.middle_name}", "birth_date": person.birth_date,
            "snils": person.snils, "oms_policy": person.oms_policy, "passport": person.passport, "child_of": None,
        })
        for last, first, middle, birth, _sex, snils, oms in person.children:
            found.append({
                "name": f"{last} {first} {middle}", "birth_date": birth, "snils": snils, "oms_policy": oms,
                "passport": None, "child_of": found[-1]["name"] if found[-1]["child_of"] is None else found[-1]["child_of"],
            })
    return found


def patients_banner() -> list[str]:
    """Lines of `teleconsult run`'s banner: the demo patients with their identifiers."""
    lines = ["  demo patients (СНИЛС / полис ОМС / паспорт):"]
    for p in demo_patients():
        lead = "      ребёнок: " if p["child_of"] else "    "
        lines.append(
            f"{lead}{p['name']}, {p['birth_date']:%d.%m.%Y}: {p['snils']} / {p['oms_policy']} / {p['passport'] or '—'}"
        )
    return lines


def is_loaded() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) > 0


def load(patients: int = 300, seed: int = 1, today: date | None = None) -> dict[str, int]:
    """Load the demo set into an empty database (the caller commits)."""
    sync_reference_data()
    roles = {r.code: r for r in db.session.scalars(sa.select(Role))}
    profiles = {p.code: p for p in db.session.scalars(sa.select(MedicalProfile))}
    orgs = []
    for name, short, oid in ORGANISATIONS:
        org = Organisation(name=name, short_name=short, oid=oid, address="Санкт-Петербург")
        db.session.add(org)
        orgs.append(org)
    db.session.flush()

    doctors = []
    for login, last, first, middle, position, specialty, _code, org_index in DOCTORS:
        doctors.append(
            _user(login, last, first, middle, orgs[org_index], [roles[Role.DOCTOR]], position, specialty)
        )
    _user("registrator", "Кравцова", "Марина", "Львовна", orgs[0], [roles[Role.REGISTRAR]], "медицинский регистратор")
    _user("operator", "Белов", "Игорь", "Николаевич", None, [roles[Role.OPERATOR]], "оператор региональной системы")
    db.session.flush()

    today = today or utcnow().date()
    slots = 0
    for doctor in doctors:
        template = ScheduleTemplate(
            doctor=doctor,
            name="Основное расписание",
            weekdays=[1, 2, 3, 4, 5],
            start_time=time(9, 0),
            end_time=time(17, 0),
            slot_minutes=20,
            breaks=[["13:00", "14:00"]],
            valid_from=today,
        )
        db.session.add(template)
        db.session.flush()
        slots += generate_slots(template, today, 28)

    rng = random.Random(seed)
    people = generate_people(patients, seed=seed)
    for person in people:
        person = dict(person)
        db.session.add(Patient(organisation_id=orgs[0 if rng.random() < 0.8 else 1].id, source="demo", **person))
    registry_persons = _portal_people(orgs[0])
    db.session.flush()
    consultations = _sample_consultations(doctors, profiles, registry_persons)
    return {
        "organisations": len(orgs),
        "doctors": len(doctors),
        "patients": len(people) + len(registry_persons),
        "slots": slots,
        "consultations": consultations,
    }


def _user(login, last, first, middle, org, roles, position, specialty=None) -> User:
    user = User(
        login=login,
        last_name=last,
        first_name=first,
        middle_name=middle,
        organisation=org,
        roles=roles,
        position=position,
        specialty=specialty,
        email=f"{login}@example.ru",
    )
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return user


def _portal_people(org: Organisation) -> dict[str, Patient]:
    found = {}
    for person in PORTAL_PERSONS:
        if not person.in_registry:
            continue
        patient = Patient(
            last_name=person.last_name, first_name=person.first_name, middle_name=person.middle_name,
            birth_date=person.birth_date, sex=person.sex, snils=person.snils,
            oms_policy=person.oms_policy, passport=person.passport, email=person.email, phone=person.phone,
            organisation_id=org.id, source="demo",
        )
        db.session.add(patient)
        found[person.external_id] = patient
        for last, first, middle, birth, sex, snils, oms in person.children:
            child = Patient(
                last_name=last, first_name=first, middle_name=middle, birth_date=birth, sex=sex,
                snils=snils, oms_policy=oms, phone=person.phone, organisation_id=org.id, source="demo",
            )
            db.session.add(child)
            # Linked to the parent when (demo) ESIA lists the child at the parent's login,
            # by the plugin that knows legal representatives (SPEC D5).
            found[f"{person.external_id}:child"] = child
    return found


def _sample_consultations(doctors, profiles, persons) -> int:
    """A scheduled consultation and a closed one, so the lists are not empty."""
    patient_type = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    terapevt, kardiolog = doctors[0], doctors[1]
    actor = principal_for_user(terapevt)
    petrov, smirnova = persons["1000001"], persons["1000002"]
    now = utcnow()
    created = 0
    for patient, consultant, profile_code, close in (
        (smirnova, kardiolog, "29", False),
        (petrov, terapevt, "97", False),
        (petrov, kardiolog, "29", True),
    ):
        slot = free_slots(consultant.id, now + timedelta(hours=1), limit=1 + created)[-1]
        consultation = create_consultation(
            ConsultationDraft(
                type_id=patient_type.id,
                profile_id=profiles[profile_code].id,
                patient_id=patient.id,
                consultant_id=consultant.id,
                email=patient.email,
                comment="Подготовьте, пожалуйста, результаты последних анализов.",
                slot_id=slot.id,
            ),
            actor,
        )
        if close:
            from core import lifecycle

            reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
            lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultant), reason=reason)
        created += 1
    return created
