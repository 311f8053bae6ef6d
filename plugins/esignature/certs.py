"""X.509 certificates and CRLs with GOST R 34.10-2012 keys, read with asn1crypto.

asn1crypto parses certificates, CRLs and CMS, but not a GOST public key: the
SubjectPublicKeyInfo is read here with a generic structure, and every signature on a
certificate or CRL is checked through ``plugins.esignature.gost``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from asn1crypto import core, crl, pem, x509

from plugins.esignature import gost

SNILS_OID = "1.2.643.100.3"
OGRN_OID = "1.2.643.100.1"
INN_OID = "1.2.643.3.131.1.1"
INN_LE_OID = "1.2.643.100.4"


class CertificateError(ValueError):
    """Bytes that are not a certificate (or CRL) this module can read."""


class _Algorithm(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class _GostKeyParameters(core.Sequence):
    _fields = [
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
        ("encryption_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class _PublicKeyInfo(core.Sequence):
    _fields = [("algorithm", _Algorithm), ("public_key", core.OctetBitString)]


def _der(data: bytes) -> bytes:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# Personal identifiers stay out of the names shown on pages, in audit events and logs.
_NOT_SHOWN = {SNILS_OID, INN_OID, INN_LE_OID, "1.2.840.113549.1.9.1"}


def name_text(name: x509.Name) -> str:
    """A distinguished name as people read it, common name first, without SNILS or INN."""
    parts = []
    for rdn in name.chosen:
        for attribute in rdn:
            label = attribute["type"].dotted
            if label in _NOT_SHOWN:
                continue
            known = attribute["type"].native
            value = attribute["value"].native
            parts.append((label, known, str(value)))
    order = {"common_name": 0, "surname": 1, "given_name": 2, "organization_name": 3}
    parts.sort(key=lambda p: order.get(p[1], 10))
    return ", ".join(value for _label, _known, value in parts)


def name_attribute(name: x509.Name, oid: str) -> str | None:
    for rdn in name.chosen:
        for attribute in rdn:
            if attribute["type"].dotted == oid:
                value = attribute["value"]
                parsed = value.parsed if isinstance(value, core.Any) else value
                native = parsed.native if hasattr(parsed, "native") else value.native
                return str(native).strip()
    return None


@dataclass(frozen=True)
class PublicKey:
    algorithm: str
    paramset: str
    bits: int
    octets: bytes  # little-endian X‖Y, as carried


class Certificate:
    """One certificate; ``der`` is kept byte for byte (hashes are over it)."""

    def __init__(self, der: bytes) -> None:
        try:
            self.asn1 = x509.Certificate.load(der, strict=True)
            self.asn1["tbs_certificate"]["serial_number"].native
        except (ValueError, TypeError, KeyError) as problem:
            raise CertificateError(str(problem)) from None
        self.der = der

    @classmethod
    def load(cls, data: bytes) -> Certificate:
        return cls(_der(data))

    @classmethod
    def from_asn1(cls, value: x509.Certificate) -> Certificate:
        return cls(value.dump())

    @property
    def tbs(self):
        return self.asn1["tbs_certificate"]

    @property
    def subject(self) -> x509.Name:
        return self.tbs["subject"]

    @property
    def issuer(self) -> x509.Name:
        return self.tbs["issuer"]

    @property
    def serial(self) -> int:
        return self.tbs["serial_number"].native

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x").upper().rjust(2, "0")

    @property
    def not_before(self) -> datetime:
        return _aware(self.tbs["validity"]["not_before"].native)

    @property
    def not_after(self) -> datetime:
        return _aware(self.tbs["validity"]["not_after"].native)

    @property
    def subject_text(self) -> str:
        return name_text(self.subject)

    @property
    def issuer_text(self) -> str:
        return name_text(self.issuer)

    @property
    def snils(self) -> str | None:
        value = name_attribute(self.subject, SNILS_OID)
        return "".join(ch for ch in value if ch.isdigit()) if value else None

    @property
    def owner(self) -> str:
        return name_attribute(self.subject, "2.5.4.3") or self.subject_text

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER, as CryptoPro and Windows name a certificate."""
        return hashlib.sha1(self.der).hexdigest().upper()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @cached_property
    def public_key(self) -> PublicKey:
        info = _PublicKeyInfo.load(self.tbs["subject_public_key_info"].dump())
        algorithm = info["algorithm"]["algorithm"].dotted
        if algorithm not in gost.KEY_ALGORITHMS:
            raise gost.UnsupportedParameters(algorithm)
        parameters = _GostKeyParameters.load(info["algorithm"]["parameters"].dump())
        paramset = parameters["public_key_param_set"].dotted
        octets = core.OctetString.load(info["public_key"].native).native
        bits = gost.KEY_ALGORITHMS[algorithm]
        if len(octets) != bits // 4:
            raise CertificateError("public key length")
        return PublicKey(algorithm, paramset, bits, octets)

    @property
    def key_usage(self) -> set[str]:
        value = self.asn1.key_usage_value
        return set(value.native) if value is not None else set()

    @property
    def is_ca(self) -> bool:
        value = self.asn1.basic_constraints_value
        return bool(value is not None and value["ca"].native)

    @property
    def crl_urls(self) -> list[str]:
        urls = []
        for point in self.asn1.crl_distribution_points:
            url = point.url
            if url:
                urls.append(url)
        return urls

    @property
    def key_identifier(self) -> bytes | None:
        return self.asn1.key_identifier

    @property
    def authority_key_identifier(self) -> bytes | None:
        return self.asn1.authority_key_identifier

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after

    def issued_by(self, issuer: Certificate) -> bool:
        """The issuer's name matches and its key verifies this certificate's signature."""
        if self.issuer != issuer.subject:
            return False
        return verify_signed(
            self.tbs.dump(), self.asn1["signature_algorithm"]["algorithm"].dotted,
            self.asn1["signature_value"].native, issuer,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)


def verify_signed(tbs_der: bytes, algorithm: str, signature: bytes, signer: Certificate) -> bool:
    """A certificate's or CRL's signature (GOST R 34.10-2012 with Streebog) by ``signer``."""
    bits = gost.SIGNATURE_ALGORITHMS.get(algorithm)
    if bits is None:
        return False
    try:
        key = signer.public_key
    except (gost.UnsupportedParameters, CertificateError, ValueError):
        return False
    digest = gost.streebog(tbs_der, bits)
    try:
        return gost.verify_data_signature(key.paramset, key.octets, digest, signature)
    except gost.UnsupportedParameters:
        return False


class RevocationList:
    """An X.509 CRL."""

    def __init__(self, der: bytes) -> None:
        try:
            self.asn1 = crl.CertificateList.load(der, strict=True)
            self.asn1["tbs_cert_list"]["this_update"].native
        except (ValueError, TypeError, KeyError) as problem:
            raise CertificateError(str(problem)) from None
        self.der = der

    @classmethod
    def load(cls, data: bytes) -> RevocationList:
        return cls(_der(data))

    @property
    def issuer(self) -> x509.Name:
        return self.asn1["tbs_cert_list"]["issuer"]

    @property
    def this_update(self) -> datetime:
        return _aware(self.asn1["tbs_cert_list"]["this_update"].native)

    @property
    def next_update(self) -> datetime | None:
        value = self.asn1["tbs_cert_list"]["next_update"].native
        return _aware(value) if value else None

    def revoked_at(self, serial: int) -> datetime | None:
        for entry in self.asn1["tbs_cert_list"]["revoked_certificates"]:
            if entry["user_certificate"].native == serial:
                return _aware(entry["revocation_date"].native)
        return None

    def signed_by(self, issuer: Certificate) -> bool:
        if self.issuer != issuer.subject:
            return False
        return verify_signed(
            self.asn1["tbs_cert_list"].dump(), self.asn1["signature_algorithm"]["algorithm"].dotted,
            self.asn1["signature"].native, issuer,
        )
