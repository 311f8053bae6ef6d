"""Deterministic generators of realistic demo patients.

Used to fill demo and load-test databases, so a doctor trying the system can
search people by СНИЛС, полис ОМС or passport (requirement D3) and see names
that look Russian and agree in gender (Иванов Иван Петрович / Иванова Мария
Сергеевна).

The same ``seed`` always gives the same people: ages are counted from a fixed
``REFERENCE_DATE`` rather than from today, so a run next year is identical.

Identifiers are unique within one ``generate_people`` result without retries:
distinct indexes are drawn with ``random.sample`` and mapped one-to-one onto
valid identifiers (see the ``*_from_index`` functions in ``core.validators``).
People take their SNILS and OMS numbers from the lower half of each space and
children made by ``generate_child_for`` from the upper half, so a child never
clashes with a person from ``generate_people``.

E-mail addresses use the reserved ``example.*`` domains (RFC 2606) so demo
data can never mail a real person. Phone numbers are random and may belong to
real subscribers: demo deployments must not send SMS.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict

from core.validators import (
    OMS_SPACE,
    PASSPORT_NUMBERS,
    PASSPORT_REGIONS,
    PASSPORT_YEARS,
    SNILS_SPACE,
    age_on,
    complete_oms,
    complete_snils,
    oms_from_index,
    passport_from_parts,
    snils_from_index,
)

__all__ = [
    "CHILD_AGES",
    "FEMALE_FIRST_NAMES",
    "MALE_FIRST_NAMES",
    "MALE_SURNAMES",
    "PASSPORT_AGE",
    "REFERENCE_DATE",
    "Person",
    "age_on",
    "feminine_surname",
    "generate_child_for",
    "generate_people",
    "masculine_surname",
    "patronymic",
    "transliterate",
]

REFERENCE_DATE = date(2026, 1, 1)
PASSPORT_AGE = 14  # a Russian citizen's passport is issued from 14

# --- name lists --------------------------------------------------------------

MALE_SURNAMES: tuple[str, ...] = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
    "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
    "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
    "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
    "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
    "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов",
    "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов",
    "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
    "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков",
    "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
    "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев",
    "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Щербаков",
    "Назаров", "Калинин", "Исаев", "Быков", "Маслов", "Родионов", "Коновалов",
    "Лазарев", "Воронин", "Климов", "Голубев", "Кудрявцев", "Прохоров", "Наумов",
    "Журавлёв", "Трофимов", "Соболев", "Гончаров", "Котов", "Громов", "Кириллов",
    "Малышев", "Румянцев", "Горбунов", "Галкин", "Скворцов", "Цветков", "Логинов",
    "Покровский", "Вишневский", "Островский", "Успенский", "Троицкий", "Высоцкий",
    "Черных", "Седых", "Шевченко", "Бондаренко", "Коваленко", "Кравченко",
)

MALE_FIRST_NAMES: tuple[str, ...] = (
    "Александр", "Алексей", "Анатолий", "Андрей", "Антон", "Аркадий", "Артём",
    "Борис", "Вадим", "Валентин", "Валерий", "Василий", "Виктор", "Виталий",
    "Владимир", "Владислав", "Вячеслав", "Геннадий", "Георгий", "Григорий",
    "Даниил", "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья",
    "Кирилл", "Константин", "Лев", "Леонид", "Максим", "Матвей", "Михаил",
    "Никита", "Николай", "Олег", "Павел", "Пётр", "Роман", "Руслан", "Сергей",
    "Станислав", "Степан", "Тимофей", "Фёдор", "Эдуард", "Юрий", "Ярослав",
)

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Александра", "Алина", "Алёна", "Анастасия", "Анна", "Валентина", "Валерия",
    "Варвара", "Вера", "Вероника", "Виктория", "Галина", "Дарья", "Диана",
    "Евгения", "Екатерина", "Елена", "Елизавета", "Ирина", "Кристина", "Ксения",
    "Лариса", "Любовь", "Людмила", "Маргарита", "Марина", "Мария", "Надежда",
    "Наталья", "Нина", "Оксана", "Ольга", "Полина", "Светлана", "Софья",
    "Тамара", "Татьяна", "Ульяна", "Юлия", "Яна",
)

# Patronymics that the regular endings below would get wrong.
_IRREGULAR_PATRONYMICS: dict[str, tuple[str, str]] = {
    "Илья": ("Ильич", "Ильинична"),
    "Никита": ("Никитич", "Никитична"),
    "Лев": ("Львович", "Львовна"),
    "Павел": ("Павлович", "Павловна"),
    "Пётр": ("Петрович", "Петровна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Георгий": ("Георгиевич", "Георгиевна"),
}


_FEMININE_SUFFIX = {"ович": "овна", "евич": "евна"}


def patronymic(father_name: str, sex: str) -> str:
    """Derive the patronymic from the father's first name (Сергей → Сергеевич/Сергеевна)."""
    male = sex == "male"
    if father_name in _IRREGULAR_PATRONYMICS:
        return _IRREGULAR_PATRONYMICS[father_name][0 if male else 1]
    if father_name.endswith("ий"):  # Юрий → Юрьевич
        stem, suffix = father_name[:-2] + "ь", "евич"
    elif father_name.endswith(("ей", "ай")):  # Сергей → Сергеевич, Николай → Николаевич
        stem, suffix = father_name[:-1], "евич"
    elif father_name.endswith("ь"):  # Игорь → Игоревич
        stem, suffix = father_name[:-1], "евич"
    else:  # Иван → Иванович
        stem, suffix = father_name, "ович"
    return stem + (suffix if male else _FEMININE_SUFFIX[suffix])


def feminine_surname(surname: str) -> str:
    """Feminine form of a masculine surname (Иванов → Иванова, Троицкий → Троицкая).

    Surnames in -ых/-их or -ко and other non-adjectival ones do not change.
    """
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ий", "ой")):  # Троицкий → Троицкая, Толстой → Толстая
        return surname[:-2] + "ая"
    return surname


_MASCULINE_BY_FEMININE = {feminine_surname(s): s for s in MALE_SURNAMES}


def masculine_surname(surname: str) -> str:
    """Masculine form of a surname (Иванова → Иванов); masculine input is returned as is.

    Known surnames are looked up exactly; others fall back to the endings.
    """
    if surname in _MASCULINE_BY_FEMININE:
        return _MASCULINE_BY_FEMININE[surname]
    if surname.endswith(("ова", "ева", "ёва", "ина", "ына")):
        return surname[:-1]
    if surname.endswith(("ская", "цкая")):
        return surname[:-2] + "ий"
    return surname


def _surname_for(masculine: str, sex: str) -> str:
    return masculine if sex == "male" else feminine_surname(masculine)


# --- transliteration for e-mail addresses ------------------------------------

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e",
    "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}


def transliterate(text: str) -> str:
    """Lower-case ASCII transliteration (Фёдоров → fedorov) for e-mail local parts."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def _email(first: str, last: str, style: int, unique: int, domain: str) -> str:
    """Plausible address; the trailing ``unique`` number makes it unique.

    The part before the number never ends with a digit, so different numbers
    always give different addresses whatever the names are.
    """
    if style == 0:
        local = f"{first}.{last}"
    elif style == 1:
        local = f"{first[0]}.{last}"
    elif style == 2:
        local = f"{last}.{first}"
    else:
        local = f"{last}_{first[0]}"
    return f"{local}{unique}@{domain}"


def _phone(rng: random.Random) -> str:
    d = f"{rng.randrange(10**9):09d}"
    return f"+7 9{d[0:2]} {d[2:5]}-{d[5:7]}-{d[7:9]}"


# --- ages and dates ----------------------------------------------------------

# (share of people, youngest, oldest): a rough mix of children, teenagers,
# working-age adults and the elderly, enough for lists and searches to look real.
_AGE_BANDS = ((0.15, 0, 13), (0.05, 14, 17), (0.30, 18, 39), (0.28, 40, 64), (0.22, 65, 95))


def _years_before(day: date, years: int) -> date:
    """Same calendar day ``years`` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _birth_window(age: int, reference: date) -> tuple[int, int]:
    """(first ordinal, number of days) of birth dates giving exactly ``age`` on ``reference``."""
    latest = _years_before(reference, age)
    earliest = _years_before(reference, age + 1) + timedelta(days=1)
    return earliest.toordinal(), latest.toordinal() - earliest.toordinal() + 1


def _random_age(rng: random.Random) -> int:
    roll = rng.random()
    for share, youngest, oldest in _AGE_BANDS:
        if roll < share:
            return rng.randint(youngest, oldest)
        roll -= share
    return rng.randint(_AGE_BANDS[-1][1], _AGE_BANDS[-1][2])


# --- passports ---------------------------------------------------------------

# A passport is issued at 14 and replaced at 20 and 45; the current one was
# issued at the last of these ages the holder has reached.
_PASSPORT_ISSUE_AGES = (45, 20, PASSPORT_AGE)
_PASSPORT_PAIRS = len(PASSPORT_REGIONS) * len(PASSPORT_NUMBERS)


def _passport(pair_index: int, birth_year: int, age: int, roll: float, reference: date) -> str:
    """Passport whose series year matches when the holder would have received it.

    Uniqueness comes from ``pair_index`` alone (a distinct region and number per
    person), so the year can follow the holder's age freely. People who were
    already past the issue age in 1997 got theirs during the 1997–2004 exchange.
    """
    region, number = divmod(pair_index, len(PASSPORT_NUMBERS))
    issue_age = next(a for a in _PASSPORT_ISSUE_AGES if age >= a)
    year = birth_year + issue_age + int(roll * 2)
    if year < PASSPORT_YEARS.start:
        year = PASSPORT_YEARS.start + int(roll * 8)
    year = min(year, reference.year)
    return passport_from_parts(PASSPORT_REGIONS[region], year, PASSPORT_NUMBERS[number])


# --- people ------------------------------------------------------------------


class Person(TypedDict):
    """One demo person, in the shape the patient import and fixtures consume."""

    last_name: str
    first_name: str
    middle_name: str
    birth_date: date
    sex: str  # "male" | "female"
    snils: str  # 11 digits
    oms_policy: str  # 16 digits
    passport: str | None  # "4510 123456"; None under 14
    email: str | None
    phone: str  # "+7 9XX XXX-XX-XX"


def _distinct_indexes(rng: random.Random, space: int, count: int) -> list[int]:
    """``count`` distinct indexes below ``space`` with no collision retries of our own."""
    if count > space:
        raise ValueError(f"cannot draw {count} unique identifiers from {space}")
    return rng.sample(range(space), count)


@dataclass(frozen=True, slots=True)
class _SexForms:
    """Everything a person of one sex needs, precomputed once.

    Building a million people is dominated by per-person work, so names,
    patronymics and their transliterations are looked up, not derived.
    """

    sex: str
    first_names: tuple[str, ...]
    first_latin: tuple[str, ...]
    surnames: tuple[str, ...]
    surname_latin: tuple[str, ...]
    patronymics: tuple[str, ...]

    @classmethod
    def build(cls, sex: str, first_names: tuple[str, ...]) -> _SexForms:
        surnames = tuple(_surname_for(s, sex) for s in MALE_SURNAMES)
        return cls(
            sex=sex,
            first_names=first_names,
            first_latin=tuple(map(transliterate, first_names)),
            surnames=surnames,
            surname_latin=tuple(map(transliterate, surnames)),
            patronymics=tuple(patronymic(f, sex) for f in MALE_FIRST_NAMES),
        )


_MALE = _SexForms.build("male", MALE_FIRST_NAMES)
_FEMALE = _SexForms.build("female", FEMALE_FIRST_NAMES)
_MALE_SHARE = 0.47  # slightly more women than men, as in the adult population


def generate_people(
    n: int, seed: int = 1, *, reference_date: date = REFERENCE_DATE
) -> list[Person]:
    """Return ``n`` demo people; identifiers and e-mails are unique within the result.

    About 15 % are children under 14 (no passport), the rest adults up to 95.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(seed)
    rnd = rng.random  # int(rnd() * k) picks one of k: cheaper than rng.choice
    windows = [_birth_window(age, reference_date) for age in range(_AGE_BANDS[-1][2] + 1)]
    ages = [_random_age(rng) for _ in range(n)]
    adults = sum(age >= PASSPORT_AGE for age in ages)

    snils_ids = _distinct_indexes(rng, SNILS_SPACE // 2, n)
    oms_ids = _distinct_indexes(rng, OMS_SPACE // 2, n)
    passport_pairs = iter(_distinct_indexes(rng, _PASSPORT_PAIRS, adults))

    people: list[Person] = []
    for i, age in enumerate(ages):
        forms = _MALE if rnd() < _MALE_SHARE else _FEMALE
        first = int(rnd() * len(forms.first_names))
        last = int(rnd() * len(forms.surnames))
        start, span = windows[age]
        birth_date = date.fromordinal(start + int(rnd() * span))
        passport = None
        if age >= PASSPORT_AGE:
            passport = _passport(next(passport_pairs), birth_date.year, age, rnd(), reference_date)
        people.append(
            {
                "last_name": forms.surnames[last],
                "first_name": forms.first_names[first],
                "middle_name": forms.patronymics[int(rnd() * len(forms.patronymics))],
                "birth_date": birth_date,
                "sex": forms.sex,
                "snils": snils_from_index(snils_ids[i]),
                "oms_policy": oms_from_index(oms_ids[i]),
                "passport": passport,
                "email": _email(
                    forms.first_latin[first],
                    forms.surname_latin[last],
                    int(rnd() * 4),
                    i + 1,
                    _EMAIL_DOMAINS[int(rnd() * len(_EMAIL_DOMAINS))],
                ),
                "phone": _phone(rng),
            }
        )
    return people


# --- children ----------------------------------------------------------------

CHILD_AGES = range(1, 14)  # 1..13: young enough to have no passport
_PARENT_MIN_AGE_AT_BIRTH = 18
_PARENT_MAX_AGE_AT_BIRTH = {"female": 50, "male": 60}


def _child_age_range(parent: Person, reference: date) -> range:
    """Child ages (within 1..13) that keep the parent's age at birth plausible."""
    parent_age = age_on(parent["birth_date"], reference)
    oldest_at_birth = _PARENT_MAX_AGE_AT_BIRTH[parent["sex"]]
    youngest = max(CHILD_AGES.start, parent_age - oldest_at_birth)
    oldest = min(CHILD_AGES.stop - 1, parent_age - _PARENT_MIN_AGE_AT_BIRTH)
    return range(youngest, oldest + 1)


def _family_surname(parent: Person) -> str:
    """The masculine form of the parent's surname, the base for the child's."""
    if parent["sex"] == "male":
        return parent["last_name"]
    return masculine_surname(parent["last_name"])


def _upper_half_index(rng: random.Random, space: int) -> int:
    """Random index in the upper half of a space, which ``generate_people`` never uses."""
    return space // 2 + rng.randrange(space - space // 2)


def generate_child_for(
    parent: Person, rng: random.Random, *, reference_date: date = REFERENCE_DATE
) -> Person:
    """A child aged 1–13 of ``parent``: family surname in the child's gender, no passport.

    The patronymic comes from the parent's first name when the parent is the
    father, otherwise from a random father's name. A child has no e-mail of its
    own; its phone is the parent's, the contact of the legal representative.
    SNILS and OMS numbers never clash with ``generate_people`` output, but two
    children drawn separately may (rarely) coincide: deduplicate in bulk loads.
    Raises ``ValueError`` when the parent is too young or too old.
    """
    ages = _child_age_range(parent, reference_date)
    if not ages:
        raise ValueError("parent's age does not allow a child aged 1–13")
    sex = "male" if rng.random() < 0.51 else "female"
    father = parent["first_name"] if parent["sex"] == "male" else rng.choice(MALE_FIRST_NAMES)
    start, span = _birth_window(rng.choice(ages), reference_date)
    return {
        "last_name": _surname_for(_family_surname(parent), sex),
        "first_name": rng.choice(MALE_FIRST_NAMES if sex == "male" else FEMALE_FIRST_NAMES),
        "middle_name": patronymic(father, sex),
        "birth_date": date.fromordinal(start + rng.randrange(span)),
        "sex": sex,
        "snils": snils_from_index(_upper_half_index(rng, SNILS_SPACE)),
        "oms_policy": oms_from_index(_upper_half_index(rng, OMS_SPACE)),
        "passport": None,
        "email": None,
        "phone": parent["phone"],
    }


# The people of the development ESIA identity provider (plugins/esia/devidp.py); those
# ``in_registry`` are loaded into the demo registry by core.demo.
@dataclass(frozen=True)
class PortalPerson:
    """A person of the development IdP; ``in_registry`` people have a registry record."""

    external_id: str
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
    passport: str | None = None  # in the registry record: the wizard's third way to search


PORTAL_PERSONS = (
    PortalPerson(
        "1000001", "confirmed", "Петров", "Сергей", "Иванович", date(1984, 3, 12), "male",
        complete_snils("123456701"), complete_oms("780000000000101"),
        "petrov.sergey@example.ru", "+7 921 555-01-01",
        children=(("Петрова", "Анна", "Сергеевна", date(2019, 6, 2), "female",
                   complete_snils("123456702"), complete_oms("780000000000102")),),
        passport="4004 123401",
    ),
    PortalPerson(
        "1000002", "standard", "Смирнова", "Ольга", "Викторовна", date(1990, 11, 5), "female",
        complete_snils("123456703"), complete_oms("780000000000103"),
        "smirnova.olga@example.ru", "+7 921 555-01-03",
        passport="4010 123403",
    ),
    PortalPerson(
        "1000003", "simplified", "Кузнецов", "Дмитрий", "Павлович", date(1995, 1, 20), "male",
        complete_snils("123456704"), complete_oms("780000000000104"),
        "kuznetsov.d@example.ru", "+7 921 555-01-04", document_check=None,
        passport="4015 123404",
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
        passport="4008 123406",
    ),
)
