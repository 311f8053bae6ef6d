"""Server-side verification of detached CAdES-BES GOST signatures (SPEC D9).

Signatures and certificates are made at test time by OpenSSL's GOST engine, an
implementation independent of the one verifying them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from plugins.esignature import gost
from plugins.esignature.certs import Certificate, RevocationList
from plugins.esignature.verify import INVALID, REVOCATION_UNKNOWN, VALID, TrustContext, verify_detached
from tests.esignature.openssl_pki import OpenSSLPKI, require_engine

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
SNILS = "123-456-789 64"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    require_engine()
    return OpenSSLPKI(tmp_path_factory.mktemp("pki"), name="Тестовый УЦ")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    require_engine()
    return OpenSSLPKI(tmp_path_factory.mktemp("other"), name="Посторонний УЦ", bits=512, paramset="B")


def trust(pki, *, crl=True, now=None):
    crls = [RevocationList.load(pki.crl())] if crl else []
    return TrustContext(roots=[Certificate.load(pki.ca_pem)], crls=crls, now=now)


# --------------------------------------------------------------------------- the standard's examples


def test_gost_r_34_10_2012_example_1_256_verifies():
    """GOST R 34.10-2012, appendix A, example 1 (256-bit)."""
    q = bytes.fromhex(
        "7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B"
        "26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA"
    )
    e = bytes.fromhex("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5")
    r_s = bytes.fromhex(
        "41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493"
        "01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40"
    )
    assert gost.verify_digest(gost.TEST_CURVE_256, 256, q, e, r_s)
    tampered = bytearray(r_s)
    tampered[-1] ^= 1
    assert not gost.verify_digest(gost.TEST_CURVE_256, 256, q, e, bytes(tampered))


def test_gost_r_34_10_2012_example_2_512_verifies():
    """GOST R 34.10-2012, appendix A, example 2 (512-bit)."""
    q = bytes.fromhex(
        "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD"
        "5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1"
        "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61"
        "EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC"
    )
    e = bytes.fromhex(
        "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591"
        "7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C"
    )
    r_s = bytes.fromhex(
        "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD3"
        "5492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36"
        "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5"
        "823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A"
    )
    assert gost.verify_digest(gost.TEST_CURVE_512, 512, q, e, r_s)
    assert not gost.verify_digest(gost.TEST_CURVE_512, 512, q, bytes(64), r_s)


def test_streebog_fast_path_equals_pure_path():
    data = b"012345678901234567890123456789012345678901234567890123456789012"
    assert gost.fast_hash_available(), "OpenSSL GOST provider should load on this machine"
    for bits in (256, 512):
        assert gost.streebog(data, bits) == gost.streebog(data, bits, pure=True)
    # GOST R 34.11-2012 example 1 (M1 = "0123…012"): the standard prints numbers with
    # the most significant byte first, so its H is the reversed byte string.
    assert gost.streebog(data, 256)[::-1].hex() == (
        "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d"
    )


# --------------------------------------------------------------------------- OpenSSL-made signatures


@pytest.mark.parametrize(
    ("bits", "paramset"), [(256, "A"), (256, "B"), (512, "A"), (512, "B")]
)
def test_openssl_cades_bes_verifies(tmp_path, bits, paramset):
    require_engine()
    pki = OpenSSLPKI(tmp_path, bits=bits, paramset=paramset)
    doctor = pki.issue("Иванов Иван Иванович", bits=bits, paramset=paramset)
    signature = pki.sign(doctor, PDF)
    assert pki.verify_with_openssl(PDF, signature)
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.status == VALID, verdict.message
    assert verdict.message == "Подпись действительна"
    assert verdict.revocation == "good"
    assert verdict.signer.snils == "12345678964"
    assert [c.subject_text for c in verdict.chain][-1].startswith("Тестовый УЦ")
    assert verdict.digest_algorithm == gost.DIGEST_OID[bits]


def test_changed_pdf_byte_is_refused(pki):
    doctor = pki.issue("Петров Пётр Петрович")
    signature = pki.sign(doctor, PDF)
    changed = bytearray(PDF)
    changed[100] ^= 0x01
    verdict = verify_detached(bytes(changed), signature, trust(pki), expected_snils=SNILS)
    assert verdict.status == INVALID and verdict.code == "digest_mismatch"
    assert "документ изменён" in verdict.message


def test_signature_of_another_document_is_refused(pki):
    doctor = pki.issue("Петров Пётр Петрович")
    signature = pki.sign(doctor, b"%PDF-1.7 another conclusion")
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.code == "digest_mismatch"
    assert "другому документу" in verdict.message


def test_changed_signed_attribute_is_refused(pki):
    doctor = pki.issue("Петров Пётр Петрович")
    signature = pki.sign(doctor, PDF)
    # The signingTime attribute is a UTCTime "YYMMDDhhmmssZ": change its seconds' last digit.
    marker = signature.index(bytes.fromhex("06092a864886f70d010905"))  # OID signingTime
    position = marker + 11 + 2 + 2 + 11  # SET, UTCTime header, then the 12th character
    tampered = bytearray(signature)
    tampered[position] = ord("0") + (tampered[position] - ord("0") + 1) % 10
    verdict = verify_detached(PDF, bytes(tampered), trust(pki), expected_snils=SNILS)
    assert verdict.code == "signature_invalid"
    assert "подписанные атрибуты изменены" in verdict.message


def test_certificate_of_another_ca_is_refused(pki, other_pki):
    stranger = other_pki.issue("Сидоров Сидор Сидорович", bits=512, paramset="B")
    signature = other_pki.sign(stranger, PDF)
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.code == "untrusted"
    assert "нет в списке доверенных" in verdict.message


def test_expired_certificate_is_refused(pki):
    doctor = pki.issue("Старый Сертификат", start="20200101000000Z", end="20210101000000Z")
    signature = pki.sign(doctor, PDF)
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.code == "expired"
    assert verdict.message == "Срок действия сертификата подписанта истёк"


def test_revoked_certificate_is_refused(tmp_path):
    require_engine()
    pki = OpenSSLPKI(tmp_path)
    doctor = pki.issue("Отозванный Врач")
    signature = pki.sign(doctor, PDF)
    assert verify_detached(PDF, signature, trust(pki), expected_snils=SNILS).status == VALID
    pki.revoke(doctor)
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.code == "revoked"
    assert verdict.revocation == "revoked"
    assert "отозван" in verdict.message


def test_unknown_revocation_status_is_its_own_verdict(pki):
    doctor = pki.issue("Иванов Иван Иванович")
    signature = pki.sign(doctor, PDF)
    verdict = verify_detached(PDF, signature, trust(pki, crl=False), expected_snils=SNILS)
    assert verdict.status == REVOCATION_UNKNOWN and not verdict.valid
    assert verdict.message.startswith("Статус отзыва неизвестен")
    # An outdated CRL is no better than none.
    later = datetime.now(timezone.utc) + timedelta(days=30)
    crl = RevocationList.load(pki.crl())
    outdated = TrustContext(roots=[Certificate.load(pki.ca_pem)], crls=[crl], now=later)
    assert verify_detached(PDF, signature, outdated).status == REVOCATION_UNKNOWN


def test_snils_not_the_doctors_is_refused(pki):
    doctor = pki.issue("Иванов Иван Иванович", snils="11223344595")
    signature = pki.sign(doctor, PDF)
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    assert verdict.code == "snils_mismatch"
    assert verdict.message == "СНИЛС в сертификате не совпадает со СНИЛС врача"
    without = pki.issue("Без СНИЛС", snils=None)
    assert verify_detached(PDF, pki.sign(without, PDF), trust(pki), expected_snils=SNILS).code == "no_snils"


def test_certificate_not_for_signing_is_refused(pki):
    doctor = pki.issue("Шифровальщик", extensions="encipher_only_ext")
    try:
        signature = pki.sign(doctor, PDF)
    except RuntimeError:
        pytest.skip("OpenSSL refuses to sign with a key-encipherment-only certificate")
    assert verify_detached(PDF, signature, trust(pki), expected_snils=SNILS).code == "key_usage"


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda s: s[: len(s) // 2], "not_cms"),
        (lambda s: s[:-1], "not_cms"),
        (lambda s: b"%PDF-1.4 this is not a signature", "not_cms"),
        (lambda s: b"", "not_cms"),
        (lambda s: bytes.fromhex("300d06092a864886f70d010701a000"), "not_signed_data"),
    ],
    ids=["half", "last-byte-cut", "pdf", "empty", "data-content-info"],
)
def test_truncated_or_non_cms_upload_is_refused(pki, mangle, code):
    doctor = pki.issue("Иванов Иван Иванович")
    verdict = verify_detached(PDF, mangle(pki.sign(doctor, PDF)), trust(pki), expected_snils=SNILS)
    assert verdict.status == INVALID and verdict.code == code


# --------------------------------------------------------------------------- the archive (947н)


def _rezip(data: bytes, change) -> bytes:
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        files = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    change(files, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in files.items():
            target.writestr(name, content)
        target.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
    return out.getvalue()


def test_archive_is_accepted_as_formed_and_refused_when_anything_changed(tmp_path, other_pki):
    """The archive keeps the signature with the document; a re-check from its own files
    accepts what was formed and names what was changed."""
    from plugins.esignature import archive

    require_engine()
    pki = OpenSSLPKI(tmp_path)
    doctor = pki.issue("Иванов Иван Иванович")
    signature = pki.sign(doctor, PDF)
    crl = pki.crl()
    verdict = verify_detached(PDF, signature, trust(pki), expected_snils=SNILS)
    formed = archive.build(document_name="Заключение.pdf", document=PDF, signature=signature, verdict=verdict, crl=crl)
    check = archive.verify_archive(formed)
    assert check.ok and check.message == "Подпись действительна" and check.verdict.revocation == "good"
    root = Certificate.load(pki.ca_pem)
    assert archive.verify_archive(formed, [root]).ok
    foreign = archive.verify_archive(formed, [Certificate.load(other_pki.ca_pem)])
    assert not foreign.ok and "нет в списке доверенных" in foreign.message

    def flip(files, manifest):
        changed = bytearray(files["Заключение.pdf"])
        changed[50] ^= 1
        files["Заключение.pdf"] = bytes(changed)

    assert "«Заключение.pdf» изменён" in archive.verify_archive(_rezip(formed, flip)).message

    def flip_and_rehash(files, manifest):
        flip(files, manifest)
        manifest["files"]["Заключение.pdf"] = archive._hashes(files["Заключение.pdf"])

    assert "документ изменён" in archive.verify_archive(_rezip(formed, flip_and_rehash)).message

    def drop_signature(files, manifest):
        del files["Заключение.pdf.sig"]

    assert "не совпадает с описью" in archive.verify_archive(_rezip(formed, drop_signature)).message
    assert "не является архивом" in archive.verify_archive(b"PK\x03\x04 not a zip").message

    # A CRL that revokes the signer, carried in the archive: checked as of now, refused.
    pki.revoke(doctor)
    revoked_crl = pki.crl()

    def carry_revoked_crl(files, manifest):
        files["revocation.crl"] = revoked_crl
        manifest["files"]["revocation.crl"] = archive._hashes(revoked_crl)

    later = _rezip(formed, carry_revoked_crl)
    revoked = archive.verify_archive(later, now=datetime.now(timezone.utc) + timedelta(seconds=2))
    assert not revoked.ok and revoked.verdict.code == "revoked" and "отозван" in revoked.message
