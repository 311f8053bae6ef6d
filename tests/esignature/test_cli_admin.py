"""The offline command line, the trust list import, «Документы» → «Подписать файл»,
the production refusal of the development signer, and CRL fetching (SPEC D9, A1)."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Document
from core.storage import store_document
from core.testing import PASSWORD
from plugins.esignature import tasks, trust
from plugins.esignature.certs import Certificate
from plugins.esignature.models import RevocationListCache, Signature, TrustList, TrustRoot
from tests.esignature.openssl_pki import OpenSSLPKI, require_engine
from tests.esignature.test_browser import _trust_list_xml

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.7\n" + b"x" * 4000 + b"\n%%EOF\n"


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "signature", *map(str, args)], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env={**os.environ, "TELECONSULT_ENV": "testing", "TELECONSULT_DATABASE_URL": "sqlite://"},
    )


def _verify_in_process(*args):
    """The same command through click in this process: a subprocess imports the whole app."""
    from click.testing import CliRunner

    from plugins.esignature.cli import signature

    return CliRunner().invoke(signature, ["verify", *map(str, args)])


def test_cli_verify(tmp_path):
    require_engine()
    pki = OpenSSLPKI(tmp_path / "pki", bits=256, paramset="B")
    doctor = pki.issue("Иванов Иван Иванович", bits=256, paramset="B")
    data, sig, ca, crl = tmp_path / "c.pdf", tmp_path / "c.pdf.sig", tmp_path / "ca.pem", tmp_path / "ca.crl"
    data.write_bytes(PDF)
    sig.write_bytes(pki.sign(doctor, PDF))
    ca.write_bytes(pki.ca_pem)
    crl.write_bytes(pki.crl())
    # Once as an operator runs it, through the installed entry point.
    ok = _cli("verify", "--data", data, "--signature", sig, "--trust-root", ca, "--crl", crl, "--snils", "123-456-789 64")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("Подпись действительна") and "не отозван" in ok.stdout
    unknown = _verify_in_process("--data", data, "--signature", sig, "--trust-root", ca)
    assert unknown.exit_code == 3 and unknown.output.startswith("Статус отзыва неизвестен")
    untrusted = _verify_in_process("--data", data, "--signature", sig)
    assert untrusted.exit_code == 1 and "нет в списке доверенных" in untrusted.output
    wrong_snils = _verify_in_process("--data", data, "--signature", sig, "--trust-root", ca, "--crl", crl, "--snils", "11223344595")
    assert wrong_snils.exit_code == 1 and "СНИЛС в сертификате не совпадает" in wrong_snils.output
    data.write_bytes(PDF + b" ")
    changed = _verify_in_process("--data", data, "--signature", sig, "--trust-root", ca, "--crl", crl)
    assert changed.exit_code == 1 and "документ изменён" in changed.output
    # Base64 (as the plug-in returns it) is read too.
    data.write_bytes(PDF)
    sig.write_bytes(base64.b64encode(pki.sign(doctor, PDF)))
    assert _verify_in_process("--data", data, "--signature", sig, "--trust-root", ca, "--crl", crl).exit_code == 0
    pki.revoke(doctor)
    crl.write_bytes(pki.crl())
    revoked = _verify_in_process("--data", data, "--signature", sig, "--trust-root", ca, "--crl", crl)
    assert revoked.exit_code == 1 and "отозван удостоверяющим центром" in revoked.output


def test_trust_list_import_in_the_console(client, factory, tmp_path):
    require_engine()
    factory.user(roles=("operator",), login="operator")
    client.login("operator", PASSWORD)
    page = client.get("/admin/esignature_trust_lists/")
    assert page.status_code == 200 and "Загрузить новую версию" in page.get_data(as_text=True)
    pki = OpenSSLPKI(tmp_path / "pki")
    token = client.csrf_token("/admin/esignature_trust_lists/")
    for content, message in [(b"<html>", "не является XML"), (b"<root/>", "Это не список"),
                             (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DTD")]:
        response = client.post("/admin/esignature_trust_lists/import", data={
            "csrf_token": token, "trust_list": (io.BytesIO(content), "TSL.xml")}, follow_redirects=True)
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrustList)) == 0
    for _ in range(2):
        response = client.post("/admin/esignature_trust_lists/import", data={
            "csrf_token": token, "trust_list": (io.BytesIO(_trust_list_xml(pki.ca_pem)), "TSL.xml")}, follow_redirects=True)
        assert "Загружена версия 42: 1 доверенных сертификатов" in response.get_data(as_text=True)
    lists = db.session.scalars(sa.select(TrustList).order_by(TrustList.id)).all()
    assert [l.active for l in lists] == [False, True]  # versioned: the latest is in force
    with client.application.test_request_context():
        roots = trust.trusted_roots()
    assert Certificate.load(pki.ca_pem) in roots
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "esignature.trust_list_imported")) is not None


def test_documents_sign_a_file(client, factory):
    doctor = factory.doctor(login="petrov")
    with client.application.test_request_context():
        document = store_document("анализы.pdf", PDF, owner_user_id=doctor.id, content_type="application/pdf")
        db.session.commit()
    client.login("petrov", PASSWORD)
    page = client.get("/workplace/documents").get_data(as_text=True)
    assert f'href="/esignature/documents/{document.id}/sign"' in page and "Подписать файл" in page
    window = client.get(f"/esignature/documents/{document.id}/sign").get_data(as_text=True)
    assert "анализы.pdf" in window
    response = client.post(f"/esignature/documents/{document.id}/signature", json={"development": True},
                           headers={"X-CSRFToken": client.csrf_token("/workplace/"), "Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["message"] == "Подпись действительна"
    row = db.session.scalar(sa.select(Signature))
    assert row.document_id == document.id and row.archive_document_id
    assert "Подпись действительна" in client.get(f"/esignature/documents/{document.id}/sign").get_data(as_text=True)
    factory.doctor(doctor.organisation, login="other")
    client.login("other", PASSWORD)
    assert client.get(f"/esignature/documents/{document.id}/sign").status_code == 404


def test_production_refuses_the_development_signer():
    from core.app import create_app
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match="development signer must be off"):
        create_app(
            {"SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql+psycopg://db/x", "ESIGNATURE_DEVELOPMENT_SIGNER": True},
            environment="production",
        )


def test_crl_fetch_task_caches_and_keeps_the_last_good(app_context, tmp_path):
    require_engine()
    pki = OpenSSLPKI(tmp_path / "pki")
    served = {"body": pki.crl(), "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(served["status"])
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ca.crl"
    try:
        assert tasks.fetch_crls([url]) == {"fetched": 1, "failed": 0}
        row = db.session.scalar(sa.select(RevocationListCache).where(RevocationListCache.url == url))
        first = row.der
        assert first == served["body"] and row.next_update is not None
        served["status"] = 500
        assert tasks.fetch_crls([url]) == {"fetched": 0, "failed": 1}
        db.session.expire_all()
        row = db.session.scalar(sa.select(RevocationListCache).where(RevocationListCache.url == url))
        assert row.der == first and row.last_error
    finally:
        server.shutdown()
