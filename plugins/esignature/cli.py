"""``teleconsult signature verify`` and ``teleconsult signature verify-archive``: offline
checks of a detached signature and of an archive, by the server's own verification."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from plugins.esignature.archive import verify_archive
from plugins.esignature.certs import Certificate, CertificateError, RevocationList
from plugins.esignature.verify import VALID, TrustContext, verify_detached

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN_REVOCATION, EXIT_USAGE = 0, 1, 3, 2


def _print_verdict(verdict) -> None:
    click.echo(verdict.message)
    if verdict.signer is not None:
        click.echo(f"Подписант: {verdict.signer.subject_text}")
        click.echo(f"Сертификат: {verdict.signer.serial_hex}, действителен с {verdict.signer.not_before:%d.%m.%Y} по {verdict.signer.not_after:%d.%m.%Y}")
    if verdict.signing_time:
        click.echo(f"Время подписи: {verdict.signing_time:%d.%m.%Y %H:%M:%S} UTC")
    if verdict.chain:
        click.echo("Цепочка: " + " → ".join(c.owner for c in verdict.chain))
    revocation = {"good": "не отозван", "revoked": "отозван", "unknown": "неизвестен", "not_checked": "не проверялся"}
    click.echo(f"Статус отзыва: {revocation.get(verdict.revocation, verdict.revocation)}"
               + (f" ({verdict.revocation_source})" if verdict.revocation_source else ""))


def _exit_code(verdict) -> int:
    if verdict.status == VALID:
        return EXIT_VALID
    return EXIT_UNKNOWN_REVOCATION if verdict.status == "revocation_unknown" else EXIT_INVALID


def _load(paths, kind):
    out = []
    for path in paths:
        try:
            out.append(kind.load(Path(path).read_bytes()))
        except (OSError, CertificateError) as problem:
            click.echo(f"Не удалось прочитать «{path}»: {problem}", err=True)
            sys.exit(EXIT_USAGE)
    return out


@click.group("signature")
def signature():
    """Electronic signatures: offline verification of signatures and archives."""


@signature.command("verify")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False), help="The signed file")
@click.option("--signature", "signature_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Detached CMS (DER or Base64)")
@click.option("--trust-root", "roots", multiple=True, type=click.Path(exists=True, dir_okay=False), help="A trusted CA certificate (DER or PEM); repeatable")
@click.option("--crl", "crls", multiple=True, type=click.Path(exists=True, dir_okay=False), help="A CRL (DER or PEM); repeatable")
@click.option("--snils", default=None, help="The SNILS the signer's certificate must carry")
def verify_command(data_path, signature_path, roots, crls, snils):
    """Check a detached CAdES-BES GOST signature of a file."""
    import base64
    import binascii

    raw = Path(signature_path).read_bytes()
    if raw[:1] != b"\x30":
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            pass
    trust = TrustContext(roots=_load(roots, Certificate), crls=_load(crls, RevocationList))
    verdict = verify_detached(Path(data_path).read_bytes(), raw, trust, expected_snils=snils)
    _print_verdict(verdict)
    if not roots and verdict.code == "untrusted":
        click.echo("Укажите сертификат корневого УЦ параметром --trust-root", err=True)
    sys.exit(_exit_code(verdict))


@signature.command("verify-archive")
@click.argument("archive_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--trust-root", "roots", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Trusted CA certificates; without them the root carried in the archive is the anchor")
def verify_archive_command(archive_path, roots):
    """Re-check an archive of a signed document from its own files."""
    check = verify_archive(Path(archive_path).read_bytes(), _load(roots, Certificate) if roots else None)
    if check.verdict is not None:
        _print_verdict(check.verdict)
    else:
        click.echo(check.message)
    if check.manifest and check.manifest.get("test"):
        click.echo("Внимание: тестовая подпись (режим разработки), юридической силы не имеет")
    if check.ok and not roots:
        click.echo("Корневой сертификат взят из самого архива; для проверки доверия укажите --trust-root")
    if check.ok:
        sys.exit(EXIT_VALID)
    sys.exit(_exit_code(check.verdict) if check.verdict is not None else EXIT_INVALID)
