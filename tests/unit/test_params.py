"""Numbers and dates from clients (core.params): ASCII digits only, within the columns'
range; anything else is None (or a Russian ``InvalidInput`` where a value is required)."""

from datetime import date

import pytest

from core import params
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), ("0", 0), (7, 7), ("2147483647", 2147483647), ("2147483648", None), ("9" * 40, None),
     ("²", None), ("٣", None), ("１２", None), (" 1", None), ("1_0", None), ("+1", None), ("-1", None),
     ("1e3", None), ("", None), (None, None), (True, None), ([1], None)],
)
def test_to_int(value, expected):
    assert params.to_int(value) == expected


def test_to_id_starts_at_one_and_bounded_int_says_what_it_wants():
    assert params.to_id("0") is None and params.to_id("1") == 1
    assert params.to_int("-5", -10, 10) == -5
    with pytest.raises(InvalidInput) as refused:
        params.bounded_int("93", 1, 92)
    assert str(refused.value.message) == "Укажите целое число от 1 до 92"
    assert params.bounded_int("", 1, 92, required=False) is None


@pytest.mark.parametrize("value", ["²", "0", "100001", "9" * 30, None])
def test_a_page_that_is_no_page_is_the_first(value):
    assert params.page_number(value) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025-03-14", date(2025, 3, 14)), ("0001-01-01", None), ("9999-12-31", None), ("٢٠٢٥-٠٣-١٤", None),
     ("2025-02-30", None), ("", None), (None, None)],
)
def test_to_date(value, expected):
    assert params.to_date(value) == expected
