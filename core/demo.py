"""The demo data set `teleconsult run` loads on an empty database.

One organisation (and a second one, to show that organisations do not see each other's
consultations), doctors with schedules, a registrar, an operator, a few hundred registry
patients with valid identifiers, and the portal persons the development IdP offers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa

from core.access import principal_for_user
from core.consultations import ConsultationDraft, create_consultation
from core.db import db, utcnow
from core.demo_data import generate_people
from core.dictionaries import sync_reference_data
from core.models import (
    CompletionReason,
    ConsultationType,
    Guardianship,
    MedicalProfile,
    Organisation,
    Outcome,
    Patient,
    Role,
    ScheduleTemplate,
    User,
)
from core.schedule import free_slots, generate_slots
from core.validators import complete_oms, complete_snils

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


@dataclass(frozen=True)
class PortalPerson:
    """A person of the development IdP; ``in_registry`` people have a registry record."""

    esia_oid: str
    trust_level: str  # simplified | standard | confirmed
    last_name: str
    first_name: str
    middle_name: str
    birth_date: date
    sex: str
    snils: str
    oms_policy: str
    email: str
    phone: str
    in_registry: bool = True
    children: tuple = ()
    # ESIA's ``vrfStu`` of the identity document; None: no document entered.
    document_check: str | None = "VERIFIED"


PORTAL_PERSONS = (
    PortalPerson(
        "1000001", "confirmed", "Петров", "Сергей", "Иванович", date(1984, 3, 12), "male",
        complete_snils("123456701"), complete_oms("780000000000101"),
        "petrov.sergey@example.ru", "+7 921 555-01-01",
        children=(("Петрова", "Анна", "Сергеевна", date(2019, 6, 2), "female",
                   complete_snils("123456702"), complete_oms("780000000000102")),),
    ),
    PortalPerson(
        "1000002", "standard", "Смирнова", "Ольга", "Викторовна", date(1990, 11, 5), "female",
        complete_snils("123456703"), complete_oms("780000000000103"),
        "smirnova.olga@example.ru", "+7 921 555-01-03",
    ),
    PortalPerson(
        "1000003", "simplified", "Кузнецов", "Дмитрий", "Павлович", date(1995, 1, 20), "male",
        complete_snils("123456704"), complete_oms("780000000000104"),
        "kuznetsov.d@example.ru", "+7 921 555-01-04", document_check=None,
    ),
    PortalPerson(
        "1000004", "standard", "Орлова", "Наталья", "Юрьевна", date(1978, 8, 30), "female",
        complete_snils("123456705"), complete_oms("780000000000105"),
        "orlova.n@example.ru", "+7 921 555-01-05", in_registry=False,
    ),
    # SNILS and passport entered, the passport still being checked: not «Стандартная» yet.
    PortalPerson(
        "1000005", "simplified", "Зайцева", "Марина", "Олеговна", date(1988, 4, 17), "female",
        complete_snils("123456706"), complete_oms("780000000000106"),
        "zaitseva.m@example.ru", "+7 921 555-01-06", document_check="VERIFYING",
    ),
)


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
            oms_policy=person.oms_policy, email=person.email, phone=person.phone,
            organisation_id=org.id, source="demo",
        )
        db.session.add(patient)
        found[person.esia_oid] = patient
        for last, first, middle, birth, sex, snils, oms in person.children:
            child = Patient(
                last_name=last, first_name=first, middle_name=middle, birth_date=birth, sex=sex,
                snils=snils, oms_policy=oms, phone=person.phone, organisation_id=org.id, source="demo",
            )
            db.session.add(child)
            db.session.add(Guardianship(representative=patient, child=child, kind="parent"))
            found[f"{person.esia_oid}:child"] = child
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
