"""Logging. Patient identifiers (SNILS, OMS policy, passport) never reach a log line.

Views never log them, and a filter masks any 10-16 digit run that slips through (in
messages and in arguments), so a stray ``log.info("%s", form.data)`` cannot leak them.
"""

from __future__ import annotations

import json
import logging
import re

from flask import Flask

# SNILS (11 digits, maybe 123-456-789 01), passport (4+6), OMS policy (16).
_IDENTIFIER = re.compile(r"\b\d{3}-\d{3}-\d{3}[ -]\d{2}\b|\b\d{2}\s?\d{2}\s?\d{6}\b|\b\d{10,16}\b")


def mask(text: str) -> str:
    return _IDENTIFIER.sub("[скрыто]", text)


class MaskIdentifiers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = mask(str(record.msg))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure(app: Flask) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskIdentifiers) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        if app.config["LOG_FORMAT"] == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskIdentifiers())
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    # Werkzeug's access log prints URLs; identifiers never travel in URLs, but mask anyway.
    for handler in root.handlers:
        if not any(isinstance(f, MaskIdentifiers) for f in handler.filters):
            handler.addFilter(MaskIdentifiers())
