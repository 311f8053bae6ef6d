"""Delivery channels (hook ``teleconsult_register_notification_channels``): e-mail and SMS.

A channel turns a stored notification into a message on the wire. It never decides
whether to send: the notification row (``plugins.notifications.service``) does that.

- ``EmailChannel`` builds a MIME message (plain text and HTML alternatives) whose
  ``Message-ID`` is derived from the notification's idempotency key, and hands it to a
  transport: ``OutboxTransport`` (embedded default: one ``.eml`` file per key under
  ``DATA_DIR/outbox``) or ``SmtpTransport`` (SMTP with STARTTLS or implicit TLS, login).
- ``LogSmsChannel`` is the SMS channel until a provider is plugged in: it writes the text
  to the log (the number masked). A provider plugin returns a channel with code ``"sms"``
  from the same hook and replaces it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Protocol

from core.db import utcnow

log = logging.getLogger(__name__)


class DeliveryFailure(Exception):
    """A send did not happen."""


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later (server busy, connection refused, 4xx)."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help (address refused, 5xx): shown to the operator at once."""


@dataclass(frozen=True)
class OutgoingMessage:
    key: str  # the idempotency key of the notification
    recipient: str
    subject: str
    text: str
    html: str | None = None
    # Past this moment another worker may take the notification over: do not start
    # handing the message to a server any more.
    deadline: datetime | None = None


class NotificationChannel(Protocol):
    code: str

    def address_for(self, consultation: Any) -> str | None:
        """The recipient's address in this channel, or None when it cannot reach them."""

    def deliver(self, message: OutgoingMessage) -> None:
        """Send, or raise ``TemporaryFailure`` / ``PermanentFailure``."""


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the e-mail for ``key``: the same on every attempt, so a copy
    re-sent after a crash is recognisable as the same message by its recipient."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", ".", key).strip(".")[:60]
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"<{readable}.{digest}@{domain}>"


def outbox_name(key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9-]+", "-", key).strip("-")[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{readable}-{digest}.eml"


# --------------------------------------------------------------------------- e-mail


class OutboxTransport:
    """Writes each message to ``folder/<key>.eml``: a second write of the same key
    replaces the file, so the outbox holds every notification exactly once."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, key: str, email: EmailMessage, deadline: datetime | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / outbox_name(key)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(email.as_bytes())
        os.replace(partial, target)


class SmtpTransport:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.host = settings["NOTIFICATIONS_SMTP_HOST"]
        self.port = int(settings["NOTIFICATIONS_SMTP_PORT"])
        self.security = settings["NOTIFICATIONS_SMTP_SECURITY"]  # starttls | ssl | none
        self.username = settings["NOTIFICATIONS_SMTP_USERNAME"]
        self.password = settings["NOTIFICATIONS_SMTP_PASSWORD"]
        self.timeout = float(settings["NOTIFICATIONS_SMTP_TIMEOUT"])
        self.ca_file = settings.get("NOTIFICATIONS_SMTP_CA_FILE") or None

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def send(self, key: str, email: EmailMessage, deadline: datetime | None = None) -> None:
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                smtp.starttls(context=self._tls())
            if self.username:
                smtp.login(self.username, self.password)
            self._transaction(smtp, email, deadline)
        except smtplib.SMTPRecipientsRefused as error:
            raise _classify(error.recipients) from error
        except smtplib.SMTPResponseException as error:
            text = f"{error.smtp_code} {_decode(error.smtp_error)}"
            if 500 <= error.smtp_code < 600 and error.smtp_code not in (535, 530):
                raise PermanentFailure(text) from error
            raise TemporaryFailure(text) from error
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
        finally:
            if smtp is not None:
                _hang_up(smtp)

    @staticmethod
    def _transaction(smtp: smtplib.SMTP, email: EmailMessage, deadline: datetime | None) -> None:
        """MAIL, RCPT, then DATA only while the send lease leaves time for it to finish,
        so a slow worker never transmits a message another worker may be sending."""
        sender = email["From"].addresses[0].addr_spec
        recipient = email["To"].addresses[0].addr_spec
        data = _wire_bytes(email)
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        if deadline is not None and utcnow() >= deadline:
            smtp.rset()
            raise TemporaryFailure("the send lease ran short before DATA; not sent")
        code, reply = smtp.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)


def _wire_bytes(email: EmailMessage) -> bytes:
    """The message with CRLF line ends, flattened as ``smtplib.send_message`` does."""
    with io.BytesIO() as buffer:
        BytesGenerator(buffer).flatten(email, linesep="\r\n")
        return buffer.getvalue()


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT, ignoring failures: once the server accepted the message, a connection lost
    while saying goodbye must not count as a failed send (that would send it twice)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _classify(refused: dict[str, tuple[int, bytes]]) -> DeliveryFailure:
    code, text = next(iter(refused.values()))
    message = f"{code} {_decode(text)}"
    return PermanentFailure(message) if code >= 500 else TemporaryFailure(message)


class EmailChannel:
    code = "email"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.sender = settings["NOTIFICATIONS_MAIL_FROM"]
        self.sender_name = settings["NOTIFICATIONS_MAIL_FROM_NAME"]
        self.domain = settings["NOTIFICATIONS_MESSAGE_ID_DOMAIN"] or self.sender.rpartition("@")[2]
        if settings["NOTIFICATIONS_EMAIL_TRANSPORT"] == "smtp":
            self.transport: OutboxTransport | SmtpTransport = SmtpTransport(settings)
        else:
            self.transport = OutboxTransport(Path(settings["DATA_DIR"]) / "outbox")

    def address_for(self, consultation: Any) -> str | None:
        return consultation.email or None

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = formataddr((self.sender_name, self.sender))
        email["To"] = message.recipient
        email["Date"] = format_datetime(utcnow())
        email["Message-ID"] = message_id(message.key, self.domain)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def deliver(self, message: OutgoingMessage) -> None:
        self.transport.send(message.key, self.build(message), message.deadline)


# --------------------------------------------------------------------------- SMS


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return ("*" * max(len(digits) - 4, 0)) + digits[-4:]


class LogSmsChannel:
    """SMS through the log, until a provider plugin supplies a real ``"sms"`` channel."""

    code = "sms"

    def address_for(self, consultation: Any) -> str | None:
        person = consultation.portal_patient
        return person.phone or None

    def deliver(self, message: OutgoingMessage) -> None:
        # Said so plainly: no provider is connected, nothing left the machine.
        log.info(
            "SMS not sent (no SMS provider connected; the text is only logged) %s to %s: %s",
            message.key, mask_phone(message.recipient), message.text,
        )
