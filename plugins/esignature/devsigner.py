"""The development signer: a test CA and a GOST certificate per doctor, made on first
use, so the whole §7.1 flow runs on a laptop and in tests with no CryptoPro.

Everything it makes is marked as a test: the CA's name says so, the PDFs rendered for
it carry «ТЕСТОВАЯ ПОДПИСЬ», and production refuses to start with it on. Its
signatures are ordinary detached CAdES-BES and go through the same verification as
the browser's. Certificates, CRLs and CMS are built with asn1crypto; the GOST
arithmetic is gostcrypto's (``plugins.esignature.gost``).
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone

from asn1crypto import algos, cms, core, crl, tsp, x509

from plugins.esignature import gost

PARAMSET = "1.2.643.2.2.35.1"  # CryptoPro-A, the most common set in issued certificates
BITS = 256
CA_NAME = "Тестовый удостоверяющий центр teleconsult (НЕ ДЛЯ РАБОТЫ)"
CRL_SOURCE = "development-ca"


def new_private_key(paramset: str = PARAMSET) -> bytes:
    bits, params = gost.curve(paramset)
    while True:
        key = os.urandom(bits // 8)
        value = int.from_bytes(key, "big")
        if 0 < value < params["q"]:
            return key


def _spki(public_xy: bytes, paramset: str, bits: int) -> bytes:
    octets = gost.spki_octets_from_key(public_xy)
    parameters = core.Sequence(contents=core.ObjectIdentifier(paramset).dump() + core.ObjectIdentifier(gost.DIGEST_OID[bits]).dump())
    algorithm = core.Sequence(contents=core.ObjectIdentifier(gost.KEY_OID[bits]).dump() + parameters.dump())
    bit_string = core.OctetBitString(core.OctetString(octets).dump())
    return core.Sequence(contents=algorithm.dump() + bit_string.dump()).dump()


def _name(common_name: str, *, surname: str | None = None, given: str | None = None, snils: str | None = None, organisation: str | None = None) -> x509.Name:
    pairs: list[tuple[str, core.Asn1Value]] = [("2.5.4.3", core.UTF8String(common_name))]
    if surname:
        pairs.append(("2.5.4.4", core.UTF8String(surname)))
    if given:
        pairs.append(("2.5.4.42", core.UTF8String(given)))
    if organisation:
        pairs.append(("2.5.4.10", core.UTF8String(organisation)))
    pairs.append(("2.5.4.6", core.PrintableString("RU")))
    if snils:
        pairs.append(("1.2.643.100.3", core.NumericString(snils)))
    rdns = []
    for oid, value in pairs:
        rdns.append(x509.RelativeDistinguishedName([x509.NameTypeAndValue({"type": oid, "value": value})]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def _sign(tbs_der: bytes, private_key: bytes, paramset: str) -> bytes:
    bits, _ = gost.curve(paramset)
    return gost.sign_data_digest(paramset, private_key, gost.streebog(tbs_der, bits))


def _signature_algorithm(bits: int) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm({"algorithm": gost.SIGNATURE_OID[bits]})


def make_certificate(
    *,
    subject: x509.Name,
    public_xy: bytes,
    paramset: str,
    issuer_name: x509.Name | None,
    issuer_key: bytes,
    issuer_paramset: str,
    issuer_key_id: bytes | None,
    ca: bool,
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    bits, _ = gost.curve(paramset)
    issuer_bits, _ = gost.curve(issuer_paramset)
    key_id = hashlib.sha1(public_xy).digest()
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": key_id},
    ]
    if issuer_key_id:
        extensions.append({"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": issuer_key_id}})
    if not ca:
        extensions.append({"extn_id": "extended_key_usage", "critical": False, "extn_value": ["email_protection"]})
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": int.from_bytes(os.urandom(16), "big") >> 1,
            "signature": _signature_algorithm(issuer_bits),
            "issuer": issuer_name or subject,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=not_before),
                "not_after": x509.Time(name="utc_time", value=not_after),
            },
            "subject": subject,
            "subject_public_key_info": x509.PublicKeyInfo.load(_spki(public_xy, paramset, bits)),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    signature = _sign(tbs_der, issuer_key, issuer_paramset)
    return core.Sequence(
        contents=tbs_der + _signature_algorithm(issuer_bits).dump() + core.BitString.load(
            core.OctetBitString(signature).dump()
        ).dump()
    ).dump()


def make_ca(now: datetime | None = None) -> tuple[bytes, bytes]:
    """(private key, certificate DER) of a new development CA."""
    now = now or datetime.now(timezone.utc)
    key = new_private_key()
    bits, params = gost.curve(PARAMSET)
    public_xy = gost.public_key(params, bits, key)
    name = _name(CA_NAME, organisation="teleconsult")
    der = make_certificate(
        subject=name, public_xy=public_xy, paramset=PARAMSET, issuer_name=None, issuer_key=key,
        issuer_paramset=PARAMSET, issuer_key_id=None, ca=True,
        not_before=now - timedelta(days=1), not_after=now + timedelta(days=3650),
    )
    return key, der


def make_doctor_certificate(
    ca_key: bytes, ca_der: bytes, *, last_name: str, first_names: str, snils: str, now: datetime | None = None
) -> tuple[bytes, bytes]:
    now = now or datetime.now(timezone.utc)
    ca = x509.Certificate.load(ca_der)
    key = new_private_key()
    bits, params = gost.curve(PARAMSET)
    public_xy = gost.public_key(params, bits, key)
    subject = _name(f"{last_name} {first_names}".strip(), surname=last_name, given=first_names, snils=snils)
    der = make_certificate(
        subject=subject, public_xy=public_xy, paramset=PARAMSET, issuer_name=ca.subject, issuer_key=ca_key,
        issuer_paramset=PARAMSET, issuer_key_id=ca.key_identifier, ca=False,
        not_before=now - timedelta(days=1), not_after=now + timedelta(days=365),
    )
    return key, der


def make_crl(ca_key: bytes, ca_der: bytes, revoked: list[int] = (), now: datetime | None = None, days: int = 7) -> bytes:
    now = now or datetime.now(timezone.utc)
    ca = x509.Certificate.load(ca_der)
    tbs = crl.TbsCertList(
        {
            "version": "v2",
            "signature": _signature_algorithm(BITS),
            "issuer": ca.subject,
            "this_update": x509.Time(name="utc_time", value=now - timedelta(minutes=1)),
            "next_update": x509.Time(name="utc_time", value=now + timedelta(days=days)),
            "revoked_certificates": [
                {"user_certificate": serial, "revocation_date": x509.Time(name="utc_time", value=now)} for serial in revoked
            ] or None,
        }
    )
    tbs_der = tbs.dump()
    signature = _sign(tbs_der, ca_key, PARAMSET)
    return core.Sequence(
        contents=tbs_der + _signature_algorithm(BITS).dump() + core.OctetBitString(signature).dump()
    ).dump()


def sign_detached(data: bytes, private_key: bytes, certificate_der: bytes, paramset: str = PARAMSET, now: datetime | None = None) -> bytes:
    """A detached CAdES-BES (DER) of ``data``, shaped as the CryptoPro plug-in makes it."""
    now = now or datetime.now(timezone.utc)
    bits, _ = gost.curve(paramset)
    certificate = x509.Certificate.load(certificate_der)
    digest_oid = gost.DIGEST_OID[bits]
    ess = tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "hash_algorithm": {"algorithm": digest_oid},
                    "cert_hash": gost.streebog(certificate_der, bits),
                    "issuer_serial": {
                        "issuer": [x509.GeneralName(name="directory_name", value=certificate.issuer)],
                        "serial_number": certificate.serial_number,
                    },
                }
            ]
        }
    )
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name="utc_time", value=now)]}),
            cms.CMSAttribute({"type": "message_digest", "values": [gost.streebog(data, bits)]}),
            cms.CMSAttribute({"type": "1.2.840.113549.1.9.16.2.47", "values": [ess]}),
        ]
    )
    signed_der = attributes.dump()  # a SET OF: the bytes that are signed
    signature = gost.sign_data_digest(paramset, private_key, gost.streebog(signed_der, bits))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
            ),
            "digest_algorithm": {"algorithm": digest_oid},
            "signed_attrs": cms.CMSAttributes.load(signed_der),
            "signature_algorithm": {"algorithm": gost.KEY_OID[bits]},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest_oid}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices(name="certificate", value=certificate)],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
