"""Images among a consultation's documents show as small pictures, on the application
card and in the chat (SPEC D7, P4), through the same authorised address as their
download (``?inline=1``): the same access rule, the same audit event. Other files show
their type."""

from __future__ import annotations

import io

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent
from core.storage import store_document
from core.testing import login_session

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _downloads(document_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "document.downloaded", AuditEvent.object_id == document_id))


def test_the_card_shows_an_image_as_a_thumbnail_and_a_pdf_as_its_type(app, factory):
    organisation = factory.organisation()
    doctor, colleague = factory.doctor(organisation), factory.doctor(organisation)
    consultation = factory.consultation(author=doctor)
    image = store_document("снимок.png", PNG, consultation_id=consultation.id, owner_user_id=doctor.id)
    scan = store_document("анализы.pdf", PDF, consultation_id=consultation.id, owner_user_id=doctor.id)
    db.session.commit()
    client = app.test_client()
    login_session(client, doctor)
    page = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    thumbnail = f"/workplace/documents/{image.id}/download?inline=1"
    assert f'<img src="{thumbnail}" alt=""' in page
    assert 'aria-label="Открыть изображение снимок.png"' in page
    assert f"/workplace/documents/{scan.id}/download?inline=1" not in page
    assert '<span class="file-type" aria-hidden="true">PDF</span>' in page

    response = client.get(thumbnail)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert _downloads(image.id) == 1
    attachment = client.get(f"/workplace/documents/{image.id}/download")
    assert attachment.headers["Content-Disposition"].startswith("attachment")

    other = app.test_client()
    login_session(other, colleague)  # same organisation, no part in the consultation
    assert other.get(thumbnail).status_code == 404
    assert _downloads(image.id) == 2


def test_the_chat_shows_an_image_attachment_as_a_thumbnail(app, factory):
    organisation = factory.organisation()
    doctor, colleague = factory.doctor(organisation), factory.doctor(organisation)
    consultation = factory.consultation(author=doctor)
    client = app.test_client()
    login_session(client, doctor)
    token = client.csrf_token(f"/chat/{consultation.id}")
    response = client.post(
        f"/chat/{consultation.id}/files", content_type="multipart/form-data",
        data={"csrf_token": token, "files": [(io.BytesIO(PNG), "снимок.png"), (io.BytesIO(PDF), "анализы.pdf")]},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    image, scan = (m["file"] for m in response.get_json()["messages"])
    assert image["type"] == "image/png" and image["view_url"].endswith("?inline=1")
    page = client.get(f"/chat/{consultation.id}").get_data(as_text=True)
    assert f'<a class="msg-thumb" href="{image["view_url"]}"' in page and f'<img src="{image["view_url"]}"' in page
    assert '<span class="msg-type" aria-hidden="true">PDF</span>' in page
    assert f'<img src="{scan["view_url"]}"' not in page
    shown = client.get(image["view_url"])
    assert shown.status_code == 200 and shown.headers["Content-Disposition"].startswith("inline")
    other = app.test_client()
    login_session(other, colleague)
    assert other.get(image["view_url"]).status_code in (403, 404)
