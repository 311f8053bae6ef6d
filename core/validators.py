"""Validation and normalisation of Russian patient identifiers.

Used by the web forms, the REST API and the registry import, so that a patient
can be found by СНИЛС, полис ОМС or passport (requirement D3) whatever way the
number was typed: with or without dashes, spaces, a "№" sign.

Everything here is pure Python: no database and no Flask application is needed.
Error messages are ``flask_babel.lazy_gettext`` strings whose msgids are the
Russian texts; they are rendered (and translated) only when turned into ``str``,
so they also work outside an application context.
"""

from __future__ import annotations

import random
import re
from datetime import date
from collections.abc import Callable
from enum import StrEnum
from operator import mul

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

__all__ = [
    "ADULT_AGE",
    "IdentifierKind",
    "InvalidIdentifier",
    "MSG_OMS_CHECKSUM",
    "MSG_OMS_FORMAT",
    "MSG_PASSPORT_FORMAT",
    "MSG_SNILS_CHECKSUM",
    "MSG_SNILS_FORMAT",
    "MSG_SNILS_NOT_ISSUED",
    "MSG_UNKNOWN_IDENTIFIER",
    "complete_oms",
    "complete_snils",
    "detect_identifier",
    "format_snils",
    "generate_oms_policy",
    "generate_passport",
    "generate_snils",
    "is_valid_oms",
    "is_valid_passport",
    "is_valid_snils",
    "mask_oms",
    "mask_passport",
    "mask_snils",
    "normalize_oms",
    "normalize_passport",
    "normalize_snils",
    "OMS_SPACE",
    "PASSPORT_NUMBERS",
    "PASSPORT_REGIONS",
    "PASSPORT_YEARS",
    "SNILS_SPACE",
    "age_on",
    "oms_control_digit",
    "oms_from_index",
    "passport_from_parts",
    "oms_validator",
    "passport_validator",
    "snils_checksum",
    "snils_from_index",
    "snils_validator",
]

# --- messages (msgids are the Russian texts) ---------------------------------

MSG_SNILS_FORMAT = _l("СНИЛС должен состоять из 11 цифр")
MSG_SNILS_CHECKSUM = _l("Неверная контрольная сумма СНИЛС")
MSG_SNILS_NOT_ISSUED = _l("СНИЛС 000-000-000 00 не выдаётся")
MSG_OMS_FORMAT = _l("Номер полиса ОМС должен состоять из 16 цифр")
MSG_OMS_CHECKSUM = _l("Неверная контрольная цифра номера полиса ОМС")
MSG_PASSPORT_FORMAT = _l("Серия паспорта — 4 цифры, номер — 6 цифр")
MSG_UNKNOWN_IDENTIFIER = _l(
    "Введите СНИЛС (11 цифр), номер полиса ОМС (16 цифр) "
    "или серию и номер паспорта (10 цифр)"
)


class IdentifierKind(StrEnum):
    """Kinds of patient identifiers; members compare equal to their string value."""

    SNILS = "snils"
    OMS = "oms"
    PASSPORT = "passport"


class InvalidIdentifier(ValueError):
    """An identifier is malformed or fails its checksum.

    ``message`` stays a lazy string so the caller renders it in the locale of
    the current request; ``str(exc)`` renders it immediately.
    """

    def __init__(self, message: object, kind: IdentifierKind | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


# --- helpers -----------------------------------------------------------------

# Whitespace (including NBSP) and the dash family people paste from documents.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_NUMBER_SIGN = re.compile("№")
_DIGIT = {str(d): d for d in range(10)}


def _digits_only(value: object, length: int, message: object, kind: IdentifierKind) -> str:
    """Strip separators and require exactly ``length`` ASCII digits.

    ASCII is checked explicitly because ``str.isdigit`` also accepts
    superscripts and non-Latin digits that no register would.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(message, kind)
    digits = _SEPARATORS.sub("", value)
    if len(digits) != length or not digits.isascii() or not digits.isdigit():
        raise InvalidIdentifier(message, kind)
    return digits


# --- СНИЛС -------------------------------------------------------------------

# Checksum rule: Pension Fund of Russia, «Алгоритм формирования контрольного
# числа Страхового номера» (worked example 112-233-445 95). The check applies
# only to numbers greater than 001-001-998; smaller ones are accepted as is,
# except 000-000-000 00. Sources: docs/validation.md.
_SNILS_UNCHECKED_MAX = 1_001_998
_SNILS_BODY_MIN = _SNILS_UNCHECKED_MAX + 1
_SNILS_BODY_MAX = 999_999_999
_SNILS_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, 1)


def snils_checksum(body: str) -> int:
    """Return the two-digit control number for the first 9 SNILS digits.

    Official rule: weights 9..1 over the digits; a sum below 100 is the control
    number itself, 100 and 101 give 00, a larger sum is taken modulo 101 and the
    same rule applied again.
    """
    total = sum(map(mul, map(_DIGIT.__getitem__, body), _SNILS_WEIGHTS))
    if total > 101:
        total %= 101
    return 0 if total in (100, 101) else total


def complete_snils(body: str) -> str:
    """Append the control number to 9 body digits (used by the generators)."""
    return f"{body}{snils_checksum(body):02d}"


def normalize_snils(value: str) -> str:
    """Return the SNILS as 11 digits, or raise ``InvalidIdentifier``.

    Accepts "112-233-445 95", "112 233 445 95", "11223344595" and the like.
    """
    digits = _digits_only(value, 11, MSG_SNILS_FORMAT, IdentifierKind.SNILS)
    body, control = digits[:9], int(digits[9:])
    if int(body) == 0:
        # Inside the range the rule leaves unchecked, but no account has number zero:
        # it is what a blank form or a placeholder in an MIS export holds.
        raise InvalidIdentifier(MSG_SNILS_NOT_ISSUED, IdentifierKind.SNILS)
    if int(body) > _SNILS_UNCHECKED_MAX and snils_checksum(body) != control:
        raise InvalidIdentifier(MSG_SNILS_CHECKSUM, IdentifierKind.SNILS)
    return digits


def is_valid_snils(value: str) -> bool:
    """True when ``normalize_snils`` would accept the value."""
    try:
        normalize_snils(value)
    except InvalidIdentifier:
        return False
    return True


def format_snils(value: str) -> str:
    """Format as "112-233-445 95".

    Only the shape is checked, not the checksum: formatting is for display and
    must not fail on a legacy record that was stored before validation existed.
    """
    d = _digits_only(value, 11, MSG_SNILS_FORMAT, IdentifierKind.SNILS)
    return f"{d[0:3]}-{d[3:6]}-{d[6:9]} {d[9:11]}"


def mask_snils(value: str) -> str:
    """Mask for patient lists: "***-***-445 95" (only the last 5 digits shown)."""
    d = _digits_only(value, 11, MSG_SNILS_FORMAT, IdentifierKind.SNILS)
    return f"***-***-{d[6:9]} {d[9:11]}"


# --- полис ОМС (единый номер полиса, 16 digits) -------------------------------
#
# Control digit (16th digit) of the unified OMS policy number (ЕНП).
# Source: only a library. The public PHP library anper/russian-id
# (github.com/perevoshchikov/russian-id, src/Oms.php; its test fixture
# 2341998071655749 is valid and 2341998071655740 is not) implements it and cites
# a ConsultantPlus document (LAW n=204797, fragment dst=113673) that we could not
# read; no FFOMS text describing the digit was found (docs/validation.md). The
# steps, over the first 15 digits:
#   1. write the digits in odd positions (15th, 13th, ..., 1st) as a number
#      and multiply it by 2;
#   2. write the digits in even positions (14th, 12th, ..., 2nd) as a number to
#      the left of the result of step 1;
#   3. add up all the digits of that number;
#   4. the control digit is the nearest multiple of 10 that is >= the sum,
#      minus the sum.
# Doubling a number adds, for each digit d, 2*d to its digit sum when d < 5 and
# 2*d - 9 when d >= 5 (a doubled digit carries at most 1, and 2*d + 1 <= 19),
# so the steps are exactly the Luhn check digit; it is computed that way here
# because demo data needs millions of them. The unit tests compare it with a
# literal transcription of the four steps.

_DOUBLED_DIGIT_SUM = {str(d): 2 * d if d < 5 else 2 * d - 9 for d in range(10)}


def oms_control_digit(body: str) -> int:
    """Return the control digit for the first 15 digits of an ЕНП."""
    total = sum(map(_DOUBLED_DIGIT_SUM.__getitem__, body[14::-2])) + sum(
        map(_DIGIT.__getitem__, body[13::-2])
    )
    return -total % 10


def complete_oms(body: str) -> str:
    """Append the control digit to 15 body digits (used by the generators)."""
    return f"{body}{oms_control_digit(body)}"


def normalize_oms(value: str) -> str:
    """Return the unified OMS policy number as 16 digits, or raise ``InvalidIdentifier``.

    Spaces and dashes are allowed because policy cards print the number in groups.
    """
    digits = _digits_only(value, 16, MSG_OMS_FORMAT, IdentifierKind.OMS)
    if oms_control_digit(digits[:15]) != int(digits[15]):
        raise InvalidIdentifier(MSG_OMS_CHECKSUM, IdentifierKind.OMS)
    return digits


def is_valid_oms(value: str) -> bool:
    """True when ``normalize_oms`` would accept the value."""
    try:
        normalize_oms(value)
    except InvalidIdentifier:
        return False
    return True


def mask_oms(value: str) -> str:
    """Mask for patient lists: only the last 4 digits are shown."""
    d = _digits_only(value, 16, MSG_OMS_FORMAT, IdentifierKind.OMS)
    return "*" * 12 + d[12:]


# --- паспорт гражданина РФ ---------------------------------------------------


def _passport_digits(value: object) -> str:
    """10 digits of series + number; tolerates "№" between them."""
    if isinstance(value, str):
        value = _NUMBER_SIGN.sub(" ", value)
    return _digits_only(value, 10, MSG_PASSPORT_FORMAT, IdentifierKind.PASSPORT)


def normalize_passport(value: str) -> str:
    """Return "4510 123456" from "4510 123456", "45 10 123456", "4510123456", "4510 № 123456".

    There is no checksum in the series and number, so only the shape is checked.
    """
    d = _passport_digits(value)
    return f"{d[:4]} {d[4:]}"


def is_valid_passport(value: str) -> bool:
    """True when ``normalize_passport`` would accept the value."""
    try:
        normalize_passport(value)
    except InvalidIdentifier:
        return False
    return True


def mask_passport(value: str) -> str:
    """Mask for patient lists: "**** ***456" (only the last 3 digits shown)."""
    d = _passport_digits(value)
    return f"**** ***{d[7:]}"


# --- marshmallow 4 validators ------------------------------------------------


def _as_validation_error(normalizer: Callable[[str], str], value: str) -> None:
    """Run a normaliser and re-raise its failure as a marshmallow error.

    The message is rendered here, while the request (and its locale) is active,
    so the error dict marshmallow builds serialises to JSON as a plain string.
    """
    try:
        normalizer(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc.message)) from exc


def snils_validator(value: str) -> None:
    """``validate=`` callable for marshmallow fields holding a SNILS."""
    _as_validation_error(normalize_snils, value)


def oms_validator(value: str) -> None:
    """``validate=`` callable for marshmallow fields holding an OMS policy number."""
    _as_validation_error(normalize_oms, value)


def passport_validator(value: str) -> None:
    """``validate=`` callable for marshmallow fields holding a passport series and number."""
    _as_validation_error(normalize_passport, value)


# --- search query detection (D3) ---------------------------------------------

_NORMALIZERS_BY_LENGTH = {
    11: (IdentifierKind.SNILS, normalize_snils),
    16: (IdentifierKind.OMS, normalize_oms),
    10: (IdentifierKind.PASSPORT, normalize_passport),
}


def detect_identifier(value: str) -> tuple[IdentifierKind, str]:
    """Tell which identifier a doctor typed into the patient search box.

    The digit count decides the kind (11 SNILS, 16 OMS, 10 passport); the value
    is then fully validated, so a typo in a SNILS reports the SNILS checksum
    rather than "not found". Returns ``(kind, normalized)``.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier(MSG_UNKNOWN_IDENTIFIER)
    digits = _SEPARATORS.sub("", _NUMBER_SIGN.sub(" ", value))
    if not digits.isascii() or not digits.isdigit() or len(digits) not in _NORMALIZERS_BY_LENGTH:
        raise InvalidIdentifier(MSG_UNKNOWN_IDENTIFIER)
    kind, normalizer = _NORMALIZERS_BY_LENGTH[len(digits)]
    return kind, normalizer(digits)


# --- generators for test and demo data ---------------------------------------
#
# Each identifier space is numbered 0..N-1 by a ``*_from_index`` function, so
# bulk generators can draw distinct indexes (``random.sample``) and get unique
# identifiers without retrying on collisions.

SNILS_SPACE = _SNILS_BODY_MAX - _SNILS_BODY_MIN + 1
OMS_SPACE = 10**15

# Passport series: two digits that look like a region code, two like the year
# the blank was printed. Demo data only: no claim the combination was issued.
PASSPORT_REGIONS = range(1, 100)
PASSPORT_YEARS = range(1997, 2026)
PASSPORT_NUMBERS = range(1, 1_000_000)


def snils_from_index(index: int) -> str:
    """The ``index``-th valid SNILS above 001-001-998 (0 <= index < SNILS_SPACE)."""
    return complete_snils(f"{_SNILS_BODY_MIN + index:09d}")


def oms_from_index(index: int) -> str:
    """The ``index``-th valid unified OMS policy number (0 <= index < OMS_SPACE)."""
    return complete_oms(f"{index:015d}")


def passport_from_parts(region: int, year: int, number: int) -> str:
    """Normalised "SSSS NNNNNN" from a region-like code, a year and a number."""
    return f"{region:02d}{year % 100:02d} {number:06d}"


def generate_snils(rng: random.Random) -> str:
    """A valid SNILS above 001-001-998, so the checksum rule really applies."""
    return snils_from_index(rng.randrange(SNILS_SPACE))


def generate_oms_policy(rng: random.Random) -> str:
    """A 16-digit unified OMS policy number with a valid control digit."""
    return oms_from_index(rng.randrange(OMS_SPACE))


def generate_passport(rng: random.Random) -> str:
    """A normalised passport series and number ("4510 123456")."""
    return passport_from_parts(
        rng.choice(PASSPORT_REGIONS), rng.choice(PASSPORT_YEARS), rng.choice(PASSPORT_NUMBERS)
    )


# Full age: a legal representative no longer acts for a person of this age.
ADULT_AGE = 18


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on a given day."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def adult_cutoff(on: date) -> date:
    """The birth date of whoever turns ADULT_AGE on ``on``: a person is a minor that day
    exactly when born after it (``age_on(birth, on) < ADULT_AGE``)."""
    try:
        return on.replace(year=on.year - ADULT_AGE)
    except ValueError:  # 29 February in a year without one
        return on.replace(year=on.year - ADULT_AGE, day=28)
