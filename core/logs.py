"""Logging. Patient identifiers (SNILS, OMS policy, passport) never reach a log line.

Views never log them, and a filter masks what slips through: messages and their
arguments, exception texts and tracebacks (an exception's message or a database error
may quote a value), in the text and the JSON format alike, so neither a stray
``log.info("%s", form.data)`` nor ``ValueError(snils)`` can leak them. The database
engine hides bound parameters from its error messages (``hide_parameters``).
"""

from __future__ import annotations

import json
import logging
import re

from flask import Flask

_SEP = r"[ \-]?"
_IDENTIFIER = re.compile(
    "|".join(
        (
            rf"\b\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}\b",  # OMS policy: 2341 9980 7165 5749
            rf"\b\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{2}}\b",  # SNILS: 112-233-445 95, 112 233 445 95
            r"\b\d{2}\s?\d{2}\s*(?:№\s*)?\d{6}\b",  # passport: 4510 123456, 45 10 123456, 4510 № 123456
            r"\b\d{10,16}\b",  # any other long run of digits
        )
    )
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask(text: str) -> str:
    return _IDENTIFIER.sub("[скрыто]", text)


class MaskIdentifiers(logging.Filter):
    """Masks the record in place, so that every handler after it formats masked text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = mask(str(record.msg))
        if record.exc_info:
            # Formatters print ``exc_text`` when it is set instead of formatting anew.
            record.exc_text = mask(self._formatter.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        if record.exc_info or record.exc_text:
            payload["exc"] = mask(record.exc_text or self.formatException(record.exc_info))
        if record.stack_info:
            payload["stack"] = mask(record.stack_info)
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def _formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)


def configure(app: Flask) -> None:
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "teleconsult", False)]
    if not ours:
        handler = logging.StreamHandler()
        handler.teleconsult = True
        root.addHandler(handler)
        ours = [handler]
    for handler in ours:  # the app built last decides the format
        handler.setFormatter(_formatter(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    # Werkzeug's access log prints URLs; identifiers never travel in URLs, but mask anyway.
    for handler in root.handlers:
        if not any(isinstance(f, MaskIdentifiers) for f in handler.filters):
            handler.addFilter(MaskIdentifiers())
