"""Unit tests for core.validators: СНИЛС, полис ОМС, паспорт.

SPEC D3: a doctor finds a patient by СНИЛС, полис ОМС or паспорт; the number
is validated (format and checksum) and normalised whatever way it was typed.
"""

from __future__ import annotations

import json
import random

import pytest
from flask import Flask
from flask_babel import Babel
from flask_babel.speaklater import LazyString
from marshmallow import Schema, ValidationError, fields

from core.validators import (
    MSG_OMS_CHECKSUM,
    MSG_OMS_FORMAT,
    MSG_PASSPORT_FORMAT,
    MSG_SNILS_CHECKSUM,
    MSG_SNILS_FORMAT,
    MSG_UNKNOWN_IDENTIFIER,
    IdentifierKind,
    InvalidIdentifier,
    complete_snils,
    detect_identifier,
    format_snils,
    generate_oms_policy,
    generate_passport,
    generate_snils,
    is_valid_oms,
    is_valid_passport,
    is_valid_snils,
    mask_oms,
    mask_passport,
    mask_snils,
    normalize_oms,
    normalize_passport,
    normalize_snils,
    oms_control_digit,
    oms_from_index,
    oms_validator,
    passport_validator,
    snils_checksum,
    snils_from_index,
    snils_validator,
)

# The worked example of the Pension Fund's checksum rule.
OFFICIAL_SNILS = "112-233-445 95"
# Fixtures of the public ЕНП validator anper/russian-id (tests/OmsTest.php).
VALID_OMS = "2341998071655749"
INVALID_OMS = "2341998071655740"


def _message(exc_info: pytest.ExceptionInfo) -> str:
    return str(exc_info.value)


# --- СНИЛС -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "112-233-445 95",
        "11223344595",
        "112 233 445 95",
        "112-233-445-95",
        "  112-233-445 95\n",
        "112\u00a0233\u00a0445\u00a095",  # non-breaking spaces pasted from a document
        "112\u2011233\u2011445 95",  # non-breaking hyphens
    ],
)
def test_snils_typed_in_any_usual_way_normalises_to_11_digits(typed):
    # SPEC D3
    assert normalize_snils(typed) == "11223344595"
    assert is_valid_snils(typed)


@pytest.mark.parametrize(
    ("body", "control"),
    [
        ("112233445", 95),  # official example: sum 95 < 100 is the control number
        ("132109302", 0),  # sum 100 -> 00
        ("404003712", 0),  # sum 101 -> 00
        ("637345331", 0),  # sum 201 -> 201 mod 101 = 100 -> 00
        ("206885656", 0),  # sum 202 -> 202 mod 101 = 0 -> 00
        ("999999999", 1),  # sum 405 -> 405 mod 101 = 1 -> 01
    ],
)
def test_snils_checksum_follows_the_official_rule(body, control):
    assert snils_checksum(body) == control
    assert normalize_snils(complete_snils(body)) == f"{body}{control:02d}"


def test_snils_with_wrong_checksum_is_rejected_with_russian_message():
    # SPEC D3: a typo in the last digit of the official example.
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_snils("112-233-445 96")
    assert _message(exc_info) == "Неверная контрольная сумма СНИЛС"
    assert exc_info.value.kind == IdentifierKind.SNILS
    assert isinstance(exc_info.value, ValueError)


def test_snils_first_number_after_the_exempt_range_is_checked():
    # 001-001-999 is the first number the rule applies to; its sum is 65, not 00.
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_snils("001-001-999 00")
    assert _message(exc_info) == "Неверная контрольная сумма СНИЛС"
    assert normalize_snils("001-001-999 65") == "00100199965"


@pytest.mark.parametrize("exempt", ["001-001-998 00", "001-001-998 42", "000-000-001 99"])
def test_snils_up_to_001_001_998_is_not_checked(exempt):
    assert is_valid_snils(exempt)


@pytest.mark.parametrize("zero", ["000-000-000 00", "00000000000", "000 000 000 00"])
def test_the_all_zero_snils_is_refused(zero):
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_snils(zero)
    assert _message(exc_info) == "СНИЛС 000-000-000 00 не выдаётся"
    assert not is_valid_snils("000-000-000 42")  # a zero account with any control number


@pytest.mark.parametrize(
    "bad",
    [
        "1122334459",  # 10 digits
        "112233445950",  # 12 digits
        "112-233-445 9a",
        "",
        "СНИЛС",
        "１１２２３３４４５９５",  # full-width digits: isdigit() but not a register's digits
        "١١٢٢٣٣٤٤٥٩٥",  # Arabic-Indic digits
        None,
        11223344595,
    ],
)
def test_snils_with_wrong_shape_is_rejected_with_russian_message(bad):
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_snils(bad)
    assert _message(exc_info) == "СНИЛС должен состоять из 11 цифр"
    assert not is_valid_snils(bad)


def test_format_and_mask_snils():
    assert format_snils("11223344595") == "112-233-445 95"
    assert format_snils("112 233 445 95") == "112-233-445 95"
    assert mask_snils("11223344595") == "***-***-445 95"
    assert mask_snils(OFFICIAL_SNILS) == "***-***-445 95"


def test_format_snils_displays_a_legacy_number_with_a_bad_checksum():
    # Display must not fail on old records; only the shape is required.
    assert format_snils("11223344596") == "112-233-445 96"
    with pytest.raises(InvalidIdentifier):
        format_snils("1122334459")


# --- полис ОМС ---------------------------------------------------------------


def _ffoms_control_digit(body: str) -> int:
    """Literal transcription of the four FFOMS steps for the ЕНП control digit."""
    odd = "".join(body[i] for i in range(14, -1, -2))  # 15th, 13th, ..., 1st digit
    even = "".join(body[i] for i in range(13, -1, -2))  # 14th, 12th, ..., 2nd digit
    number = even + str(int(odd) * 2)  # even digits written to the left of 2 * odd
    total = sum(int(d) for d in number)
    nearest_multiple_of_ten = -(-total // 10) * 10
    return nearest_multiple_of_ten - total


@pytest.mark.parametrize("typed", [VALID_OMS, "2341 9980 7165 5749", "2341-9980-7165-5749"])
def test_oms_policy_normalises_to_16_digits(typed):
    # SPEC D3
    assert normalize_oms(typed) == VALID_OMS
    assert is_valid_oms(typed)


def test_oms_policy_with_wrong_control_digit_is_rejected():
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_oms(INVALID_OMS)
    assert _message(exc_info) == "Неверная контрольная цифра номера полиса ОМС"
    assert exc_info.value.kind == IdentifierKind.OMS


@pytest.mark.parametrize(
    "bad", ["123", "234199807165574", "23419980716557490", "234199807165574a", ""]
)
def test_oms_policy_with_wrong_shape_is_rejected_with_russian_message(bad):
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_oms(bad)
    assert _message(exc_info) == "Номер полиса ОМС должен состоять из 16 цифр"


def test_oms_control_digit_matches_the_ffoms_steps():
    rng = random.Random(2024)
    bodies = [VALID_OMS[:15], "000000000000000", "999999999999999"]
    bodies += [f"{rng.randrange(10**15):015d}" for _ in range(5000)]
    for body in bodies:
        assert oms_control_digit(body) == _ffoms_control_digit(body), body


def test_oms_control_digit_catches_every_single_digit_typo():
    for position in range(16):
        for digit in "0123456789":
            if digit != VALID_OMS[position]:
                typo = VALID_OMS[:position] + digit + VALID_OMS[position + 1 :]
                assert not is_valid_oms(typo), typo


def test_mask_oms_shows_only_last_four_digits():
    assert mask_oms(VALID_OMS) == "************5749"


# --- паспорт -----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["4510 123456", "45 10 123456", "4510123456", "4510 № 123456", " 45 10  123456 "]
)
def test_passport_normalises_to_series_space_number(typed):
    # SPEC D3
    assert normalize_passport(typed) == "4510 123456"
    assert is_valid_passport(typed)


@pytest.mark.parametrize("bad", ["4510 12345", "4510 1234567", "45AB 123456", "", "паспорт", None])
def test_passport_with_wrong_shape_is_rejected_with_russian_message(bad):
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_passport(bad)
    assert _message(exc_info) == "Серия паспорта — 4 цифры, номер — 6 цифр"
    assert exc_info.value.kind == IdentifierKind.PASSPORT


def test_mask_passport():
    assert mask_passport("4510 123456") == "**** ***456"
    assert mask_passport("45 10 123456") == "**** ***456"


# --- messages ----------------------------------------------------------------


def test_messages_are_lazy_russian_msgids_usable_without_an_app():
    messages = {
        MSG_SNILS_FORMAT: "СНИЛС должен состоять из 11 цифр",
        MSG_SNILS_CHECKSUM: "Неверная контрольная сумма СНИЛС",
        MSG_OMS_FORMAT: "Номер полиса ОМС должен состоять из 16 цифр",
        MSG_OMS_CHECKSUM: "Неверная контрольная цифра номера полиса ОМС",
        MSG_PASSPORT_FORMAT: "Серия паспорта — 4 цифры, номер — 6 цифр",
    }
    for lazy, text in messages.items():
        assert isinstance(lazy, LazyString)
        assert str(lazy) == text


def test_exception_keeps_the_lazy_message_for_rendering_per_request():
    with pytest.raises(InvalidIdentifier) as exc_info:
        normalize_snils("112-233-445 96")
    assert exc_info.value.message is MSG_SNILS_CHECKSUM


def test_messages_render_inside_a_request_of_an_app_with_babel():
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context("/"):
        with pytest.raises(InvalidIdentifier) as exc_info:
            normalize_passport("45")
        assert str(exc_info.value.message) == "Серия паспорта — 4 цифры, номер — 6 цифр"


# --- marshmallow validators --------------------------------------------------


class PatientSchema(Schema):
    snils = fields.String(validate=snils_validator)
    oms_policy = fields.String(validate=oms_validator)
    passport = fields.String(validate=passport_validator)


def test_marshmallow_validators_accept_valid_identifiers():
    data = {"snils": OFFICIAL_SNILS, "oms_policy": VALID_OMS, "passport": "45 10 123456"}
    assert PatientSchema().load(data) == data


def test_marshmallow_validators_report_the_russian_messages_as_plain_strings():
    data = {"snils": "112-233-445 96", "oms_policy": INVALID_OMS, "passport": "45 10"}
    with pytest.raises(ValidationError) as exc_info:
        PatientSchema().load(data)
    assert exc_info.value.messages == {
        "snils": ["Неверная контрольная сумма СНИЛС"],
        "oms_policy": ["Неверная контрольная цифра номера полиса ОМС"],
        "passport": ["Серия паспорта — 4 цифры, номер — 6 цифр"],
    }
    json.dumps(exc_info.value.messages, ensure_ascii=False)  # API error bodies serialise


@pytest.mark.parametrize(
    ("validator", "value", "message"),
    [
        (snils_validator, "123", "СНИЛС должен состоять из 11 цифр"),
        (oms_validator, "123", "Номер полиса ОМС должен состоять из 16 цифр"),
        (passport_validator, "123", "Серия паспорта — 4 цифры, номер — 6 цифр"),
    ],
)
def test_marshmallow_validators_raise_validation_error(validator, value, message):
    with pytest.raises(ValidationError) as exc_info:
        validator(value)
    assert exc_info.value.messages == [message]


# --- detect_identifier (search box) -------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind", "normalized"),
    [
        ("112-233-445 95", IdentifierKind.SNILS, "11223344595"),
        ("11223344595", IdentifierKind.SNILS, "11223344595"),
        ("2341 9980 7165 5749", IdentifierKind.OMS, VALID_OMS),
        (VALID_OMS, IdentifierKind.OMS, VALID_OMS),
        ("45 10 123456", IdentifierKind.PASSPORT, "4510 123456"),
        ("4510 № 123456", IdentifierKind.PASSPORT, "4510 123456"),
    ],
)
def test_detect_identifier_tells_the_kind_by_digit_count(query, kind, normalized):
    # SPEC D3: one search box for СНИЛС, полис ОМС and паспорт.
    assert detect_identifier(query) == (kind, normalized)


def test_detected_kind_compares_equal_to_plain_strings():
    kind, _ = detect_identifier(OFFICIAL_SNILS)
    assert kind == "snils"
    assert detect_identifier(VALID_OMS)[0] == "oms"
    assert detect_identifier("4510123456")[0] == "passport"


def test_detect_identifier_reports_the_checksum_of_the_detected_kind():
    # SPEC D3: a typo in a SNILS says "checksum", not "not found".
    with pytest.raises(InvalidIdentifier) as exc_info:
        detect_identifier("112-233-445 96")
    assert exc_info.value.kind == IdentifierKind.SNILS
    assert _message(exc_info) == "Неверная контрольная сумма СНИЛС"
    with pytest.raises(InvalidIdentifier) as exc_info:
        detect_identifier(INVALID_OMS)
    assert exc_info.value.kind == IdentifierKind.OMS


@pytest.mark.parametrize("query", ["Иванов", "12345", "123456789012", "", "4510 12345a", None])
def test_detect_identifier_rejects_anything_else(query):
    with pytest.raises(InvalidIdentifier) as exc_info:
        detect_identifier(query)
    assert exc_info.value.message is MSG_UNKNOWN_IDENTIFIER
    assert exc_info.value.kind is None
    assert "11 цифр" in _message(exc_info)


# --- generators --------------------------------------------------------------


def test_generated_snils_are_valid_and_subject_to_the_checksum_rule():
    rng = random.Random(7)
    for _ in range(5000):
        snils = generate_snils(rng)
        assert normalize_snils(snils) == snils
        assert int(snils[:9]) > 1_001_998


def test_generated_oms_policies_are_valid():
    rng = random.Random(7)
    for _ in range(5000):
        policy = generate_oms_policy(rng)
        assert normalize_oms(policy) == policy


def test_generated_passports_are_normalised():
    rng = random.Random(7)
    for _ in range(5000):
        passport = generate_passport(rng)
        assert normalize_passport(passport) == passport


def test_generators_are_deterministic_for_a_seed():
    def batch(seed: int) -> list[tuple[str, str, str]]:
        rng = random.Random(seed)
        return [
            (generate_snils(rng), generate_oms_policy(rng), generate_passport(rng))
            for _ in range(50)
        ]

    assert batch(3) == batch(3)
    assert batch(3) != batch(4)


def test_identifier_spaces_start_at_valid_numbers():
    assert snils_from_index(0) == "00100199965"  # first checked SNILS, 001-001-999 65
    assert oms_from_index(0) == "0000000000000000"
    assert is_valid_oms(oms_from_index(10**15 - 1))
