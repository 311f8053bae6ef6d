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
