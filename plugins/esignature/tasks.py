"""CRL fetching (Celery task ``esignature.fetch_crls``, periodic).

Each distribution point of the trusted centres' certificates and of the signers'
certificates seen so far is fetched where the network allows and cached in
``esignature_crls``; a point that cannot be reached keeps its last good CRL and notes
the error. Without a current CRL the verdict is «статус отзыва неизвестен».
"""

from __future__ import annotations

import requests
import sqlalchemy as sa
from flask import current_app

from core import audit
from core.access import SYSTEM
from core.db import db
from core.tasks import TaskSpec
from plugins.esignature import trust
from plugins.esignature.certs import Certificate, CertificateError
from plugins.esignature.models import RevocationListCache, Signature


def distribution_points() -> list[str]:
    urls: list[str] = []
    certificates = list(trust.trusted_roots())
    for der in db.session.scalars(sa.select(Signature.certificate).where(Signature.certificate.is_not(None)).distinct()):
        try:
            certificates.append(Certificate(der))
        except CertificateError:
            continue
    for certificate in certificates:
        for url in certificate.crl_urls:
            if url.startswith(("http://", "https://")) and url not in urls:
                urls.append(url)
    return urls


def fetch_one(url: str) -> bool:
    config = current_app.config
    row = db.session.scalar(sa.select(RevocationListCache).where(RevocationListCache.url == url))
    try:
        response = requests.get(url, timeout=config["ESIGNATURE_CRL_TIMEOUT"], stream=True)
        response.raise_for_status()
        data = response.raw.read(config["ESIGNATURE_CRL_MAX_SIZE"] + 1, decode_content=True)
        if len(data) > config["ESIGNATURE_CRL_MAX_SIZE"]:
            raise ValueError("CRL too large")
        row = trust.store_crl(url, data)
    except (requests.RequestException, ValueError, CertificateError) as problem:
        if row is None:
            row = RevocationListCache(url=url, issuer="")
            db.session.add(row)
        row.last_error = str(problem)[:500]
        db.session.commit()
        return False
    audit.record("esignature.crl_fetched", row, principal=SYSTEM, data={"url": url})
    db.session.commit()
    return True


def fetch_crls(urls: list[str] | None = None) -> dict:
    if not current_app.config["ESIGNATURE_CRL_FETCH"]:
        return {"fetched": 0, "failed": 0}
    fetched = failed = 0
    for url in urls or distribution_points():
        if fetch_one(url):
            fetched += 1
        else:
            failed += 1
    return {"fetched": fetched, "failed": failed}


TASKS = [
    TaskSpec("esignature.fetch_crls", fetch_crls, every="ESIGNATURE_CRL_REFRESH_SECONDS"),
]
