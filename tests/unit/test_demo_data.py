"""Unit tests for core.demo_data and the shipped profiles dictionary.

SPEC D3: demo patients must be findable by СНИЛС, полис ОМС and паспорт, so
every generated identifier has to pass the same validation as typed input and
be unique.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from core.demo_data import (
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
    MALE_SURNAMES,
    PASSPORT_AGE,
    REFERENCE_DATE,
    age_on,
    feminine_surname,
    generate_child_for,
    generate_people,
    masculine_surname,
    patronymic,
    transliterate,
)
from core.validators import (
    SNILS_SPACE,
    normalize_oms,
    normalize_passport,
    normalize_snils,
)

PEOPLE_COUNT = 20_000
PEOPLE = generate_people(PEOPLE_COUNT, seed=42)
FEMALE_SURNAMES = {feminine_surname(s) for s in MALE_SURNAMES}
PHONE = re.compile(r"\+7 9\d{2} \d{3}-\d{2}-\d{2}")
EMAIL = re.compile(r"[a-z][a-z._]*[a-z]\d+@example\.(com|org|net)")
PROFILES_CSV = Path(__file__).resolve().parents[2] / "core" / "data" / "profiles.csv"


# --- identifiers -------------------------------------------------------------


def test_every_generated_identifier_passes_validation_unchanged():
    # SPEC D3: demo data must be searchable exactly like real input.
    for person in PEOPLE:
        assert normalize_snils(person["snils"]) == person["snils"]
        assert normalize_oms(person["oms_policy"]) == person["oms_policy"]
        if person["passport"] is not None:
            assert normalize_passport(person["passport"]) == person["passport"]


@pytest.mark.parametrize("key", ["snils", "oms_policy", "passport", "email"])
def test_identifiers_and_emails_are_unique(key):
    values = [p[key] for p in PEOPLE if p[key] is not None]
    assert len(values) == len(set(values))


def test_snils_are_above_the_unchecked_range():
    assert all(int(p["snils"][:9]) > 1_001_998 for p in PEOPLE)


def test_passport_only_from_14():
    for person in PEOPLE:
        adult = age_on(person["birth_date"], REFERENCE_DATE) >= PASSPORT_AGE
        assert (person["passport"] is not None) == adult


def test_passport_series_year_is_not_before_the_holder_turned_14():
    for person in PEOPLE:
        if person["passport"] is not None:
            year = 2000 + int(person["passport"][2:4])
            year = year - 100 if year > REFERENCE_DATE.year else year
            assert year >= person["birth_date"].year + PASSPORT_AGE or year <= 2004
            assert year <= REFERENCE_DATE.year


# --- names and personal data -------------------------------------------------


def test_names_agree_in_gender():
    for person in PEOPLE:
        if person["sex"] == "male":
            assert person["first_name"] in MALE_FIRST_NAMES
            assert person["last_name"] in MALE_SURNAMES
            assert person["middle_name"].endswith(("ович", "евич", "ич"))
        else:
            assert person["sex"] == "female"
            assert person["first_name"] in FEMALE_FIRST_NAMES
            assert person["last_name"] in FEMALE_SURNAMES
            assert person["middle_name"].endswith("на")


def test_both_sexes_and_all_age_groups_are_present():
    sexes = Counter(p["sex"] for p in PEOPLE)
    assert 0.40 < sexes["male"] / PEOPLE_COUNT < 0.55
    ages = [age_on(p["birth_date"], REFERENCE_DATE) for p in PEOPLE]
    assert min(ages) == 0 and 90 <= max(ages) <= 95
    children = sum(age < PASSPORT_AGE for age in ages) / PEOPLE_COUNT
    assert 0.10 < children < 0.20


def test_record_shape():
    keys = {
        "last_name", "first_name", "middle_name", "birth_date", "sex",
        "snils", "oms_policy", "passport", "email", "phone",
    }
    for person in PEOPLE[:500]:
        assert set(person) == keys
        assert type(person["birth_date"]) is date
        assert person["birth_date"] <= REFERENCE_DATE


def test_emails_are_ascii_plausible_and_on_reserved_domains():
    for person in PEOPLE:
        email = person["email"]
        assert email.isascii()
        assert EMAIL.fullmatch(email), email


def test_email_local_part_comes_from_the_name():
    person = PEOPLE[0]
    local = person["email"].split("@")[0]
    assert transliterate(person["last_name"]) in local


def test_phones_have_the_russian_mobile_format():
    assert all(PHONE.fullmatch(p["phone"]) for p in PEOPLE)


def test_generation_is_deterministic_for_a_seed():
    assert generate_people(300, seed=42) == generate_people(300, seed=42)
    assert generate_people(300, seed=43) != generate_people(300, seed=42)


def test_zero_and_negative_counts():
    assert generate_people(0) == []
    with pytest.raises(ValueError):
        generate_people(-1)


def test_hundred_thousand_people_have_unique_identifiers():
    # Speed is measured by bench/registry_bench.py, not here.
    people = generate_people(100_000, seed=9)
    for key in ("snils", "oms_policy", "email"):
        assert len({p[key] for p in people}) == 100_000


# --- name lists and grammar --------------------------------------------------


def test_name_lists_are_large_and_without_duplicates():
    assert len(MALE_SURNAMES) >= 60
    assert len(MALE_FIRST_NAMES) >= 30
    assert len(FEMALE_FIRST_NAMES) >= 30
    for names in (MALE_SURNAMES, MALE_FIRST_NAMES, FEMALE_FIRST_NAMES):
        assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("father", "son", "daughter"),
    [
        ("Иван", "Иванович", "Ивановна"),
        ("Пётр", "Петрович", "Петровна"),
        ("Сергей", "Сергеевич", "Сергеевна"),
        ("Николай", "Николаевич", "Николаевна"),
        ("Юрий", "Юрьевич", "Юрьевна"),
        ("Василий", "Васильевич", "Васильевна"),
        ("Дмитрий", "Дмитриевич", "Дмитриевна"),
        ("Игорь", "Игоревич", "Игоревна"),
        ("Илья", "Ильич", "Ильинична"),
        ("Никита", "Никитич", "Никитична"),
        ("Лев", "Львович", "Львовна"),
        ("Павел", "Павлович", "Павловна"),
        ("Михаил", "Михайлович", "Михайловна"),
        ("Артём", "Артёмович", "Артёмовна"),
    ],
)
def test_patronymic(father, son, daughter):
    assert patronymic(father, "male") == son
    assert patronymic(father, "female") == daughter


@pytest.mark.parametrize(
    ("male", "female"),
    [
        ("Иванов", "Иванова"),
        ("Соловьёв", "Соловьёва"),
        ("Ильин", "Ильина"),
        ("Троицкий", "Троицкая"),
        ("Вишневский", "Вишневская"),
        ("Черных", "Черных"),
        ("Шевченко", "Шевченко"),
    ],
)
def test_feminine_and_masculine_surnames(male, female):
    assert feminine_surname(male) == female
    assert masculine_surname(female) == male


def test_feminine_of_a_surname_in_oi():
    # The reverse is ambiguous (Толстая/Толстой but Белая/Белый), so only this way.
    assert feminine_surname("Толстой") == "Толстая"


def test_masculine_surname_round_trips_every_listed_surname():
    for surname in MALE_SURNAMES:
        assert masculine_surname(feminine_surname(surname)) == surname
        assert masculine_surname(surname) == surname


def test_transliteration_is_ascii():
    assert transliterate("Фёдоров") == "fedorov"
    assert transliterate("Щербаков") == "shcherbakov"
    assert transliterate("Юлия") == "yuliya"
    for name in MALE_SURNAMES + MALE_FIRST_NAMES + FEMALE_FIRST_NAMES:
        assert re.fullmatch(r"[a-z]+", transliterate(name)), name


# --- children ----------------------------------------------------------------


def _people_aged(low: int, high: int, sex: str) -> list[dict]:
    return [
        p
        for p in PEOPLE
        if p["sex"] == sex and low <= age_on(p["birth_date"], REFERENCE_DATE) <= high
    ]


def test_child_of_a_father():
    father = _people_aged(30, 45, "male")[0]
    rng = random.Random(1)
    for _ in range(200):
        child = generate_child_for(father, rng)
        age = age_on(child["birth_date"], REFERENCE_DATE)
        assert 1 <= age <= 13
        assert child["passport"] is None
        assert child["middle_name"] == patronymic(father["first_name"], child["sex"])
        surname = father["last_name"]
        expected = surname if child["sex"] == "male" else feminine_surname(surname)
        assert child["last_name"] == expected
        assert normalize_snils(child["snils"]) == child["snils"]
        assert normalize_oms(child["oms_policy"]) == child["oms_policy"]


def test_child_of_a_mother_takes_the_surname_in_its_own_gender():
    mother = {
        "last_name": "Иванова", "first_name": "Мария", "middle_name": "Сергеевна",
        "birth_date": date(1990, 5, 17), "sex": "female", "snils": "11223344595",
        "oms_policy": "2341998071655749", "passport": "4510 123456",
        "email": "m.ivanova1@example.com", "phone": "+7 912 345-67-89",
    }
    rng = random.Random(2)
    sexes = set()
    for _ in range(100):
        child = generate_child_for(mother, rng)
        sexes.add(child["sex"])
        assert child["last_name"] == ("Иванов" if child["sex"] == "male" else "Иванова")
        names = MALE_FIRST_NAMES if child["sex"] == "male" else FEMALE_FIRST_NAMES
        assert child["first_name"] in names
        assert child["middle_name"].endswith(("ич", "на"))
        assert child["phone"] == mother["phone"]
        assert child["email"] is None
        # mother was at least 18 at the birth
        assert age_on(mother["birth_date"], child["birth_date"]) >= 18
    assert sexes == {"male", "female"}


def test_children_never_take_identifiers_of_generated_people():
    people_snils = {p["snils"] for p in PEOPLE}
    people_oms = {p["oms_policy"] for p in PEOPLE}
    rng = random.Random(3)
    parents = _people_aged(25, 45, "female")[:200]
    for parent in parents:
        child = generate_child_for(parent, rng)
        assert child["snils"] not in people_snils
        assert child["oms_policy"] not in people_oms
        assert int(child["snils"][:9]) - 1_001_999 >= SNILS_SPACE // 2


def test_child_generation_is_deterministic():
    parent = _people_aged(30, 40, "male")[0]
    first = generate_child_for(parent, random.Random(5))
    assert generate_child_for(parent, random.Random(5)) == first


@pytest.mark.parametrize(("age", "sex"), [(16, "female"), (80, "female"), (90, "male")])
def test_child_for_implausible_parent_is_refused(age, sex):
    parent = _people_aged(age, age, sex)[0]
    with pytest.raises(ValueError):
        generate_child_for(parent, random.Random(1))


# --- profiles dictionary (V002) shipped as reference data ---------------------

# Codes of the FFOMS classifier V002 «Профили медицинской помощи» used in
# consultations, with the specialty a patient would search for.
REQUIRED_PROFILES = {
    97: ("терапии", "терапевт"),
    29: ("кардиологии", "кардиолог"),
    68: ("педиатрии", "педиатр"),
    53: ("неврологии", "невролог"),
    122: ("эндокринологии", "эндокринолог"),
    112: ("хирургии", "хирург"),
    136: ("акушерству и гинекологии", "гинеколог"),
    162: ("оториноларингологии", "оториноларинголог"),
    65: ("офтальмологии", "офтальмолог"),
    16: ("дерматовенерологии", "дерматовенеролог"),
    75: ("пульмонологии", "пульмонолог"),
    28: ("инфекционным болезням", "инфекционист"),
    11: ("гастроэнтерологии", "гастроэнтеролог"),
    108: ("урологии", "уролог"),
    100: ("травматологии и ортопедии", "травматолог-ортопед"),
    60: ("онкологии", "онколог"),
    72: ("психиатрии", "психиатр"),
    77: ("ревматологии", "ревматолог"),
    56: ("нефрологии", "нефролог"),
    12: ("гематологии", "гематолог"),
    4: ("аллергологии и иммунологии", "аллерголог-иммунолог"),
    17: ("детской кардиологии", "детский кардиолог"),
    21: ("детской эндокринологии", "детский эндокринолог"),
    57: ("общей врачебной практике (семейной медицине)", "врач общей практики"),
}


def _profiles() -> list[dict[str, str]]:
    with PROFILES_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_profiles_csv_has_header_and_unique_numeric_codes():
    with PROFILES_CSV.open(encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == ["code", "name", "specialty"]
    rows = _profiles()
    assert len(rows) >= 25
    codes = [int(row["code"]) for row in rows]
    assert len(codes) == len(set(codes))
    assert all(row["name"] and row["specialty"] for row in rows)


def test_profiles_csv_contains_the_consultation_profiles():
    by_code = {int(row["code"]): row for row in _profiles()}
    for code, (name, specialty) in REQUIRED_PROFILES.items():
        assert code in by_code, code
        assert by_code[code]["name"].startswith(name), code
        assert by_code[code]["specialty"] == specialty, code
