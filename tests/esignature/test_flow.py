"""«Завершить с формированием заключения» through the HTTP layer with the development
signer (seed 002 §7.1, SPEC D9, P6), and the refusals that complete nothing."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pikepdf
import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation, Document, Outcome
from core.testing import PASSWORD
from plugins.esignature.archive import verify_archive
from plugins.esignature import devsigner
from plugins.esignature.models import Conclusion, DevelopmentKey, DoctorSigner, Signature

FORM = {
    "conclusion_data.diagnosis_code": "j06.9",
    "conclusion_data.diagnosis_text": "Острая инфекция верхних дыхательных путей неуточнённая",
    "conclusion_data.conclusion": "Состояние удовлетворительное.",
    "conclusion_data.recommendations": "Обильное питьё, контроль температуры.",
    "conclusion_data.next_contact": "",
}


def _setup(factory):
    organisation = factory.organisation("СПб ГБУЗ «Городская поликлиника № 17»")
    doctor = factory.doctor(organisation, login="petrov", last_name="Петров")
    consultation = factory.consultation(author=doctor, consultant=doctor)
    return doctor, consultation


def _json_post(client, url, body):
    return client.post(url, json=body, headers={"X-CSRFToken": client.csrf_token("/workplace/"), "Accept": "application/json"})


def _actions(consultation_id):
    return [e.action for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.consultation_id == consultation_id).order_by(AuditEvent.id))]


def test_form_validates_in_russian_and_stores_nothing(client, factory):
    doctor, consultation = _setup(factory)
    client.login("petrov", PASSWORD)
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "Завершить с формированием заключения" in card
    url = f"/esignature/consultations/{consultation.id}/conclusion"
    page = client.get(url).get_data(as_text=True)
    for label in ("Диагноз: код по МКБ-10", "Диагноз", "Заключение", "Рекомендации", "Дата следующего контакта"):
        assert label in page
    response = client.post_form(url, {**FORM, "conclusion_data.diagnosis_code": "ОРВИ"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Проверьте поля заключения" in text and "МКБ-10" in text
    response = client.post_form(url, {**FORM, "conclusion_data.next_contact": "2001-01-01"})
    assert response.status_code == 422
    assert "прошедш" in response.get_data(as_text=True) or "прошл" in response.get_data(as_text=True)
    response = client.post_form(url, {key: "" for key in FORM})
    assert response.status_code == 422
    assert "пустое заключение не подписывается" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conclusion)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_whole_flow_with_development_signer(client, factory, tmp_path):
    doctor, consultation = _setup(factory)
    client.login("petrov", PASSWORD)
    response = client.post_form(f"/esignature/consultations/{consultation.id}/conclusion", FORM)
    assert response.status_code == 302
    conclusion = db.session.scalar(sa.select(Conclusion))
    assert response.location.endswith(f"/esignature/conclusions/{conclusion.id}/sign")
    assert conclusion.data["diagnosis_code"] == "J06.9" and conclusion.version == 1 and conclusion.test
    window = client.get(response.location).get_data(as_text=True)
    assert "Подписать файл" in window and "Сертификат электронной подписи" in window
    assert "тестовая подпись" in window
    preview = client.get(f"/esignature/pdf/{conclusion.pdf_document_id}")
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")

    prepared = _json_post(client, f"/esignature/conclusions/{conclusion.id}/prepare", {"development": True})
    assert prepared.status_code == 200, prepared.get_data(as_text=True)
    document_id = prepared.json["document_id"]
    pdf_bytes = client.get(prepared.json["pdf_url"]).data
    with pikepdf.open(io.BytesIO(pdf_bytes)) as document:
        metadata = document.open_metadata()
        assert metadata.pdfa_status == "2B"
        fonts = set()
        for page in document.pages:
            for font in (page.Resources.get("/Font") or {}).values():
                fonts.add(str(font.get("/BaseFont")))
                descriptor = font.get("/FontDescriptor") or (font.get("/DescendantFonts") or [{}])[0].get("/FontDescriptor")
                assert descriptor is not None and ("/FontFile2" in descriptor or "/FontFile3" in descriptor), "font not embedded"
        assert any("DejaVu" in f for f in fonts)
        text = b"".join(page.Contents.read_bytes() if not isinstance(page.Contents, pikepdf.Array) else b"" for page in document.pages)
    assert len(pdf_bytes) > 5000

    signed = _json_post(client, f"/esignature/conclusions/{conclusion.id}/signature", {"document_id": document_id, "development": True})
    assert signed.status_code == 200, signed.get_data(as_text=True)
    assert signed.json["message"] == "Подпись действительна"
    db.session.expire_all()
    consultation = db.session.get(Consultation, consultation.id)
    assert consultation.is_closed and consultation.outcome == Outcome.SIGNED_CONCLUSION
    assert consultation.conclusion_document_id == document_id
    assert consultation.conclusion_data["diagnosis_code"] == "J06.9"
    signature = db.session.scalar(sa.select(Signature))
    assert signature.status == "valid" and signature.test
    # The PDF's bytes never changed after the signature.
    stored = db.session.get(Document, document_id)
    assert client.get(f"/esignature/pdf/{stored.id}").data == pdf_bytes

    archive = client.get(signed.json["archive_url"])
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        names = set(zipped.namelist())
        manifest = json.loads(zipped.read("manifest.json"))
    assert {"signer.cer", "manifest.json", "revocation.crl"} <= names
    assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".pdf.sig") for n in names)
    assert manifest["verdict"]["status"] == "valid" and manifest["verdict"]["revocation"] == "good"
    assert manifest["test"] is True
    check = verify_archive(archive.data)
    assert check.ok, check.message
    # The archive is on the card; the card offers no completion any more.
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "подписанный архив.zip" in card and "Завершить с формированием заключения" not in card
    assert "Скачать архив с подписью" in card and "<section" in card
    snils = db.session.scalar(sa.select(DoctorSigner.snils))
    assert snils not in card  # the doctor's SNILS stays out of pages (it is in the certificate)
    actions = _actions(consultation.id)
    for action in ("esignature.pdf_rendered", "esignature.signature_received", "esignature.signature_verified",
                   "esignature.archive_formed", "consultation.completed", "esignature.archive_downloaded"):
        assert action in actions, action


def test_refused_signature_completes_nothing(client, factory):
    doctor, consultation = _setup(factory)
    client.login("petrov", PASSWORD)
    client.post_form(f"/esignature/consultations/{consultation.id}/conclusion", FORM)
    conclusion = db.session.scalar(sa.select(Conclusion))
    prepared = _json_post(client, f"/esignature/conclusions/{conclusion.id}/prepare", {"development": True}).json
    for body, status, text in [
        ({"document_id": prepared["document_id"], "signature": base64.b64encode(b"not a cms").decode()}, 422, "не является подписью CMS"),
        ({"document_id": prepared["document_id"], "signature": "%%%"}, 422, "Base64"),
        ({"document_id": prepared["document_id"]}, 422, "Нет подписи"),
        ({"document_id": prepared["document_id"] + 999, "development": True}, 409, "Документ изменился"),
    ]:
        response = _json_post(client, f"/esignature/conclusions/{conclusion.id}/signature", body)
        assert response.status_code == status, response.get_data(as_text=True)
        assert text in json.dumps(response.json, ensure_ascii=False)
    # A certificate of the trusted (development) CA that carries someone else's SNILS.
    ca = db.session.scalar(sa.select(DevelopmentKey).where(DevelopmentKey.kind == "ca"))
    key, der = devsigner.make_doctor_certificate(ca.private_key, ca.certificate, last_name="Петров", first_names="П. П.", snils="11223344595")
    pdf_bytes = client.get(prepared["pdf_url"]).data
    foreign = base64.b64encode(devsigner.sign_detached(pdf_bytes, key, der)).decode()
    response = _json_post(client, f"/esignature/conclusions/{conclusion.id}/signature", {"document_id": prepared["document_id"], "signature": foreign})
    assert response.status_code == 422
    assert response.json["message"] == "СНИЛС в сертификате не совпадает со СНИЛС врача"
    db.session.expire_all()
    assert not db.session.get(Consultation, consultation.id).is_closed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    refused = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "esignature.signature_refused")).all()
    assert refused and "СНИЛС" in refused[-1].data["reason"]


def test_only_the_consultant_may_sign(client, factory):
    doctor, consultation = _setup(factory)
    factory.doctor(consultation.organisation, login="other", last_name="Другой")
    client.login("other", PASSWORD)
    assert client.get(f"/esignature/consultations/{consultation.id}/conclusion").status_code in (403, 404)
