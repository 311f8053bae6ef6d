"""Signers of the ESIA ``client_secret``.

ESIA does not take a shared client secret: every authorization and token request
carries ``client_secret``, a detached signature (base64url) of the concatenated request
parameters made with the key of the client system's certificate, and
``client_certificate_hash``, the hash of that certificate. In production the signature
is GOST R 34.10-2012 made by a certified crypto provider (CryptoPro CSP, a HSM, a
signing service); the deployment names its class in ``ESIA_SIGNER``
(``"package.module:ClassName"``), built with the settings mapping.

The development signer is an HMAC over the same string with a key derived from the
app's secret key; the development identity provider checks it the same way. Production
refuses to start with it (see ``plugins.esia.teleconsult_config_check``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

DEVELOPMENT_SIGNER = "plugins.esia.signing:DevelopmentSigner"


class Signer(Protocol):
    """What a signer provides: the certificate hash and a detached signature of bytes."""

    certificate_hash: str

    def sign(self, data: bytes) -> bytes: ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DevelopmentSigner:
    """HMAC-SHA256 with a key derived from ``SECRET_KEY``: development and tests only."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self._key = hashlib.sha256(b"esia-dev-signer:" + str(settings["SECRET_KEY"]).encode()).digest()
        self.certificate_hash = hashlib.sha256(b"development-certificate:" + self._key).hexdigest().upper()

    def sign(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def verify(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(b64url(self.sign(data)), signature or "")


def load_signer(settings: Mapping[str, Any]) -> Signer:
    """Build the signer named in ``ESIA_SIGNER`` (``module:Class``) from the settings."""
    from core.settings import import_named

    factory = import_named({"ESIA_SIGNER": settings.get("ESIA_SIGNER") or DEVELOPMENT_SIGNER}, "ESIA_SIGNER")
    return factory(settings)


def client_secret(signer: Signer, *parts: str) -> str:
    """The ``client_secret`` of a request: the signature of its parameters, concatenated."""
    return b64url(signer.sign("".join(parts).encode("utf-8")))
