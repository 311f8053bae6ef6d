"""Verification of a detached CAdES-BES signature (GOST R 34.10-2012), SPEC D9.

Every signature the server accepts, from the CryptoPro browser plug-in or the
development signer, and every one the ``teleconsult signature verify`` command checks,
goes through ``verify_detached``. It is pure: the trust anchors, the CRLs and the moment
come in a ``TrustContext``; the database and the network stay outside.

The checks, in order, each with its own refusal:
CMS structure → one signer → content type → messageDigest against the data → the GOST
signature over the DER of the signed attributes → signingCertificateV2 (hash and
issuer/serial) → key usage → signing time and now within the validity → the chain to a
trusted root (every link's signature) → revocation by CRL → the SNILS of the signer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from asn1crypto import cms, tsp
from flask_babel import lazy_gettext as _l

from plugins.esignature import gost
from plugins.esignature.certs import Certificate, CertificateError, RevocationList

VALID = "valid"
REVOCATION_UNKNOWN = "revocation_unknown"
INVALID = "invalid"

REASONS = {
    "valid": _l("Подпись действительна"),
    "revocation_unknown": _l(
        "Статус отзыва неизвестен: подпись и цепочка сертификатов верны, но нет действующего "
        "списка отозванных сертификатов удостоверяющего центра"
    ),
    "not_cms": _l("Файл подписи повреждён или не является подписью CMS (PKCS#7)"),
    "not_signed_data": _l("Файл подписи не содержит подписанных данных (SignedData)"),
    "attached": _l("Подпись должна быть отсоединённой: файл подписи не должен содержать сам документ"),
    "signer_count": _l("В подписи должен быть ровно один подписант"),
    "no_certificate": _l("В подписи нет сертификата подписанта"),
    "bad_certificate": _l("Сертификат подписанта повреждён или не является сертификатом ГОСТ Р 34.10-2012"),
    "unsupported_algorithm": _l("Алгоритм подписи не ГОСТ Р 34.10-2012 с хэш-функцией ГОСТ Р 34.11-2012"),
    "no_signed_attributes": _l("В подписи нет подписанных атрибутов: требуется формат CAdES-BES"),
    "content_type": _l("Атрибут типа содержимого подписи неверен (ожидается data)"),
    "digest_mismatch": _l(
        "Подпись относится к другому документу или документ изменён: хэш документа не совпадает "
        "с хэшем в подписи"
    ),
    "signature_invalid": _l(
        "Подпись неверна: подписанные атрибуты изменены или подпись сделана другим ключом"
    ),
    "no_signing_certificate": _l("В подписи нет атрибута signingCertificateV2: требуется формат CAdES-BES"),
    "signing_certificate_mismatch": _l(
        "Атрибут signingCertificateV2 не соответствует сертификату подписанта"
    ),
    "key_usage": _l("Сертификат не предназначен для электронной подписи (нет digitalSignature в keyUsage)"),
    "not_yet_valid": _l("Срок действия сертификата подписанта ещё не начался"),
    "expired": _l("Срок действия сертификата подписанта истёк"),
    "untrusted": _l(
        "Сертификат выдан удостоверяющим центром, которого нет в списке доверенных "
        "(аккредитованных) удостоверяющих центров"
    ),
    "issuer_expired": _l("Срок действия сертификата удостоверяющего центра в цепочке истёк"),
    "revoked": _l("Сертификат подписанта отозван удостоверяющим центром"),
    "no_snils": _l("В сертификате подписанта нет СНИЛС"),
    "snils_mismatch": _l("СНИЛС в сертификате не совпадает со СНИЛС врача"),
    "doctor_without_snils": _l(
        "Для врача не указан СНИЛС: оператор вносит его в консоли администратора (раздел «Электронная подпись»)"
    ),
}

MAX_CHAIN = 6


@dataclass
class TrustContext:
    roots: Sequence[Certificate]
    intermediates: Sequence[Certificate] = ()
    crls: Sequence[RevocationList] = ()
    now: datetime | None = None


@dataclass
class Verdict:
    status: str  # VALID | REVOCATION_UNKNOWN | INVALID
    code: str
    signer: Certificate | None = None
    chain: list[Certificate] = field(default_factory=list)
    signing_time: datetime | None = None
    digest_algorithm: str | None = None
    data_digest: str | None = None  # hex of the Streebog digest of the data
    revocation: str = "not_checked"  # not_checked | good | revoked | unknown
    revocation_source: str | None = None
    checked_at: datetime | None = None

    @property
    def valid(self) -> bool:
        return self.status == VALID

    @property
    def message(self) -> str:
        return str(REASONS[self.code])

    def as_dict(self) -> dict:
        signer = self.signer
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "digest_algorithm": self.digest_algorithm,
            "data_digest": self.data_digest,
            "revocation": self.revocation,
            "revocation_source": self.revocation_source,
            "signer": certificate_summary(signer) if signer else None,
            "chain": [certificate_summary(c) for c in self.chain],
        }


def certificate_summary(certificate: Certificate) -> dict:
    return {
        "owner": certificate.owner,
        "subject": certificate.subject_text,
        "issuer": certificate.issuer_text,
        "serial": certificate.serial_hex,
        "not_before": certificate.not_before.isoformat(),
        "not_after": certificate.not_after.isoformat(),
        "thumbprint": certificate.thumbprint,
    }


class _Refusal(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _attribute(attributes, name: str):
    found = [a for a in attributes if a["type"].native == name]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        return None
    return found[0]["values"][0]


def _hash_for(oid: str, data: bytes) -> bytes | None:
    if oid in gost.DIGEST_ALGORITHMS:
        return gost.streebog(data, gost.DIGEST_ALGORITHMS[oid])
    names = {"2.16.840.1.101.3.4.2.1": "sha256", "1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.3": "sha512"}
    if oid in names:
        return hashlib.new(names[oid], data).digest()
    return None


def _parse(signature: bytes):
    try:
        info = cms.ContentInfo.load(signature, strict=True)
        content_type = info["content_type"].native
    except (ValueError, TypeError, KeyError, OverflowError):
        raise _Refusal("not_cms") from None
    if content_type != "signed_data":
        raise _Refusal("not_signed_data")
    try:
        signed = info["content"]
        # Parse the parts read below now: a damaged inner part is a damaged file. The
        # certificates are read by ``Certificate`` (asn1crypto knows no GOST key).
        signed["encap_content_info"].native
        signed["digest_algorithms"].native
        signed["signer_infos"].native
    except (ValueError, TypeError, KeyError, OverflowError):
        raise _Refusal("not_cms") from None
    return signed


def _signer_certificate(signed, signer_info) -> tuple[Certificate, list[Certificate]]:
    certificates = []
    for choice in signed["certificates"] or ():
        if choice.name != "certificate":
            continue
        try:
            certificates.append(Certificate.from_asn1(choice.chosen))
        except CertificateError:
            raise _Refusal("bad_certificate") from None
    sid = signer_info["sid"]
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if ias["issuer"] == certificate.issuer and ias["serial_number"].native == certificate.serial:
                return certificate, certificates
        elif certificate.key_identifier == sid.chosen.native:
            return certificate, certificates
    raise _Refusal("no_certificate")


def _check_signing_certificate(attributes, certificate: Certificate) -> None:
    raw = _attribute(attributes, "signing_certificate_v2")
    if raw is None:
        raw = _attribute(attributes, "1.2.840.113549.1.9.16.2.47")
    if raw is None:
        raise _Refusal("no_signing_certificate")
    try:
        value = tsp.SigningCertificateV2.load(raw.dump(), strict=True)
        certs = value["certs"]
        certs.native
    except (ValueError, TypeError, KeyError):
        raise _Refusal("signing_certificate_mismatch") from None
    if len(certs) < 1:
        raise _Refusal("no_signing_certificate")
    first = certs[0]
    algorithm = first["hash_algorithm"]["algorithm"].dotted
    expected = _hash_for(algorithm, certificate.der)
    if expected is None or expected != first["cert_hash"].native:
        raise _Refusal("signing_certificate_mismatch")
    issuer_serial = first["issuer_serial"]
    if issuer_serial.native is not None:
        if issuer_serial["serial_number"].native != certificate.serial:
            raise _Refusal("signing_certificate_mismatch")
        names = [n.chosen for n in issuer_serial["issuer"] if n.name == "directory_name"]
        if names and certificate.issuer not in names:
            raise _Refusal("signing_certificate_mismatch")


def _build_chain(
    signer: Certificate, pool: Iterable[Certificate], roots: Sequence[Certificate], now: datetime
) -> list[Certificate]:
    """Signer first, trusted root last; every link's signature checked."""
    chain = [signer]
    current = signer
    candidates = list(pool)
    for _ in range(MAX_CHAIN):
        if current in roots:
            return chain
        issuers = [c for c in list(roots) + candidates if c.subject == current.issuer and c.is_ca]
        issuer = next((c for c in issuers if current.issued_by(c)), None)
        if issuer is None:
            raise _Refusal("untrusted")
        if not issuer.valid_at(now):
            raise _Refusal("issuer_expired")
        chain.append(issuer)
        if issuer in roots:
            return chain
        current = issuer
    raise _Refusal("untrusted")


def _revocation(signer: Certificate, issuer: Certificate, crls: Sequence[RevocationList], now: datetime):
    """(status, revocation list used): good, revoked or unknown."""
    best = None
    for candidate in crls:
        if candidate.issuer != signer.issuer or not candidate.signed_by(issuer):
            continue
        if candidate.this_update > now:
            continue
        if candidate.next_update is not None and candidate.next_update < now:
            continue
        if best is None or candidate.this_update > best.this_update:
            best = candidate
    if best is None:
        return "unknown", None
    return ("revoked" if best.revoked_at(signer.serial) is not None else "good"), best


def verify_detached(
    data: bytes, signature: bytes, trust: TrustContext, *, expected_snils: str | None = None
) -> Verdict:
    """Check a detached CAdES-BES ``signature`` (DER) of ``data``; never raises on bad input."""
    now = trust.now or datetime.now(timezone.utc)
    verdict = Verdict(status=INVALID, code="not_cms", checked_at=now)
    try:
        _verify(data, signature, trust, expected_snils, now, verdict)
    except _Refusal as refusal:
        verdict.status, verdict.code = INVALID, refusal.code
    return verdict


def _verify(data, signature, trust, expected_snils, now, verdict: Verdict) -> None:
    if not signature:
        raise _Refusal("not_cms")
    signed = _parse(signature)
    if signed["encap_content_info"]["content"].native is not None:
        raise _Refusal("attached")
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise _Refusal("signer_count")
    signer_info = signer_infos[0]
    signer, certificates = _signer_certificate(signed, signer_info)
    verdict.signer = signer
    digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    if digest_oid not in gost.DIGEST_ALGORITHMS:
        raise _Refusal("unsupported_algorithm")
    bits = gost.DIGEST_ALGORITHMS[digest_oid]
    verdict.digest_algorithm = digest_oid
    try:
        key = signer.public_key
    except (gost.UnsupportedParameters, CertificateError, ValueError):
        raise _Refusal("bad_certificate") from None
    signature_oid = signer_info["signature_algorithm"]["algorithm"].dotted
    if signature_oid not in gost.KEY_ALGORITHMS and signature_oid not in gost.SIGNATURE_ALGORITHMS:
        raise _Refusal("unsupported_algorithm")
    if key.paramset not in gost.PARAMSETS:
        raise _Refusal("unsupported_algorithm")
    attributes = signer_info["signed_attrs"]
    if not len(attributes):
        raise _Refusal("no_signed_attributes")
    content_type = _attribute(attributes, "content_type")
    if content_type is None or content_type.native != "data":
        raise _Refusal("content_type")
    if signed["encap_content_info"]["content_type"].native != "data":
        raise _Refusal("content_type")
    message_digest = _attribute(attributes, "message_digest")
    data_digest = gost.streebog(data, bits)
    verdict.data_digest = data_digest.hex()
    if message_digest is None or message_digest.native != data_digest:
        raise _Refusal("digest_mismatch")
    # The signature is over the DER of the attributes as a SET OF, as they were sent.
    signed_der = b"\x31" + attributes.dump()[1:]
    if not gost.verify_data_signature(
        key.paramset, key.octets, gost.streebog(signed_der, bits), signer_info["signature"].native
    ):
        raise _Refusal("signature_invalid")
    _check_signing_certificate(attributes, signer)
    if "digital_signature" not in signer.key_usage:
        raise _Refusal("key_usage")
    signing_time = _attribute(attributes, "signing_time")
    moment = signing_time.native if signing_time is not None else now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    verdict.signing_time = moment
    for instant in (moment, now):
        if instant < signer.not_before:
            raise _Refusal("not_yet_valid")
        if instant > signer.not_after:
            raise _Refusal("expired")
    pool = list(certificates) + list(trust.intermediates)
    verdict.chain = _build_chain(signer, pool, list(trust.roots), now)
    issuer = verdict.chain[1] if len(verdict.chain) > 1 else signer
    status, source = _revocation(signer, issuer, trust.crls, now)
    verdict.revocation = status
    if source is not None:
        verdict.revocation_source = (
            f"СОС от {source.this_update:%d.%m.%Y %H:%M} UTC"
            + (f", следующий до {source.next_update:%d.%m.%Y %H:%M} UTC" if source.next_update else "")
        )
    if status == "revoked":
        raise _Refusal("revoked")
    if expected_snils is not None:
        if not signer.snils:
            raise _Refusal("no_snils")
        if signer.snils != "".join(ch for ch in expected_snils if ch.isdigit()):
            raise _Refusal("snils_mismatch")
    if status == "unknown":
        verdict.status, verdict.code = REVOCATION_UNKNOWN, "revocation_unknown"
    else:
        verdict.status, verdict.code = VALID, "valid"
