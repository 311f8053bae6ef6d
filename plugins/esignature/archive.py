"""The archive of a signed document (seed 002 §7.1): one zip with the document, its
detached signature (DER), the signer's certificate, the chain, the CRL used, and a
manifest (hashes of every file, the verdict, the chain, the revocation status, the time).

``verify_archive`` re-checks an archive from its own files, offline.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

from plugins.esignature import gost
from plugins.esignature.certs import Certificate, CertificateError, RevocationList
from plugins.esignature.verify import INVALID, TrustContext, Verdict, verify_detached

MANIFEST = "manifest.json"
FORMAT = "teleconsult-signed-archive/1"
# Fixed member times: the same content makes the same zip.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _hashes(data: bytes) -> dict:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "gost3411_2012_256": gost.streebog(data, 256).hex(),
        "size": len(data),
    }


def build(
    *, document_name: str, document: bytes, signature: bytes, verdict: Verdict, crl: bytes | None = None,
    test: bool = False, extra: dict | None = None,
) -> bytes:
    files: dict[str, bytes] = {document_name: document, f"{document_name}.sig": signature}
    if verdict.signer is not None:
        files["signer.cer"] = verdict.signer.der
    for index, certificate in enumerate(verdict.chain[1:], start=1):
        files[f"chain/{index}.cer"] = certificate.der
    if crl:
        files["revocation.crl"] = crl
    manifest = {
        "format": FORMAT,
        "document": document_name,
        "signature": f"{document_name}.sig",
        "test": test,
        "formed_at": datetime.now(timezone.utc).isoformat(),
        "files": {name: _hashes(data) for name, data in files.items()},
        "verdict": verdict.as_dict(),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in list(files.items()) + [(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())]:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass
class ArchiveCheck:
    ok: bool
    message: str
    verdict: Verdict | None = None
    manifest: dict | None = None


def verify_archive(data: bytes, trust_roots: list[Certificate] | None = None, now: datetime | None = None) -> ArchiveCheck:
    """Re-check an archive: every file against the manifest's hashes, then the signature
    of the document. Without ``trust_roots`` the root in the archive's own chain is the
    anchor (the archive is checked as what it says it is)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read(MANIFEST))
        files = {name: archive.read(name) for name in archive.namelist() if name != MANIFEST}
    except (zipfile.BadZipFile, KeyError, ValueError):
        return ArchiveCheck(False, "Файл не является архивом подписанного документа (нет manifest.json или архив повреждён)")
    if manifest.get("format") != FORMAT:
        return ArchiveCheck(False, "Неизвестный формат архива", manifest=manifest)
    listed = manifest.get("files") or {}
    if set(listed) != set(files):
        return ArchiveCheck(False, "Состав архива не совпадает с описью (manifest.json)", manifest=manifest)
    for name, content in files.items():
        if _hashes(content) != listed[name]:
            return ArchiveCheck(False, f"Файл «{name}» изменён: хэш не совпадает с описью", manifest=manifest)
    try:
        document = files[manifest["document"]]
        signature = files[manifest["signature"]]
    except KeyError:
        return ArchiveCheck(False, "В архиве нет документа или подписи", manifest=manifest)
    try:
        chain = [Certificate(files[name]) for name in sorted(n for n in files if n.startswith("chain/"))]
        crls = [RevocationList(files["revocation.crl"])] if "revocation.crl" in files else []
    except CertificateError:
        return ArchiveCheck(False, "Сертификат или список отзыва в архиве повреждён", manifest=manifest)
    roots = trust_roots if trust_roots is not None else chain[-1:]
    if now is None:
        # The archive proves the state at its forming: the CRL it carries speaks of then.
        checked = (manifest.get("verdict") or {}).get("checked_at")
        try:
            now = datetime.fromisoformat(checked) if checked else None
        except ValueError:
            now = None
    verdict = verify_detached(document, signature, TrustContext(roots=roots, intermediates=chain, crls=crls, now=now))
    if verdict.status == INVALID:
        return ArchiveCheck(False, verdict.message, verdict, manifest)
    return ArchiveCheck(verdict.valid, verdict.message, verdict, manifest)
