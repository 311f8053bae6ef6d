"""Patient identifiers never reach a log line."""

import logging

from core.logs import MaskIdentifiers, mask


def test_identifiers_are_masked():
    line = mask("snils 112-233-445 95 policy 2341998071655749 passport 4510 123456 raw 11223344595")
    for secret in ("112-233-445 95", "2341998071655749", "4510 123456", "11223344595"):
        assert secret not in line
    assert line.count("[скрыто]") == 4


def test_the_filter_masks_arguments_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "found %s for %s", ("11223344595", "Иванов"), None)
    MaskIdentifiers().filter(record)
    assert record.getMessage() == "found [скрыто] for Иванов"


def test_identifiers_with_spaces_hyphens_and_the_number_sign_are_masked():
    for written in ("2341 9980 7165 5749", "2341-9980-7165-5749", "112 233 445 95", "112-233-445-95", "4510 № 123456", "45 10 123456"):
        assert mask(f"found {written} here") == "found [скрыто] here", written


def test_times_addresses_and_short_numbers_stay():
    line = '2026-12-01 08:41:09,456 127.0.0.1 "GET /workplace/applications/12 HTTP/1.1" 200 room 305'
    assert mask(line) == line


def test_the_filter_masks_tracebacks():
    try:
        raise ValueError("bad SNILS 112 233 445 95")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    MaskIdentifiers().filter(record)
    text = logging.Formatter().format(record)
    assert "ValueError: bad SNILS [скрыто]" in text and "445" not in text
