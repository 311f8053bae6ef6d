"""The hooks the video plugin shares with the chat and the core (no plugin imports another)."""

from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.models import Consultation
from core.plugins import hooks_for
from plugins.chat.models import Chat, ChatMessage
from tests.video.conftest import make_cast


def test_consultation_notice_becomes_a_chat_system_message(app, factory):
    """teleconsult_consultation_notified: the chat plugin stores what another plugin tells."""
    cast = make_cast(factory)
    consultation = db.session.get(Consultation, cast.consultation_id)
    hooks_for(consultation).teleconsult_consultation_notified(
        consultation=consultation, event="video_missed", text="Пропущенный видеозвонок от врача Иванова")
    db.session.commit()
    message = db.session.scalar(sa.select(ChatMessage).join(Chat, Chat.id == ChatMessage.chat_id)
                                .where(Chat.consultation_id == consultation.id, ChatMessage.kind == "system"))
    assert message.data["text"] == "Пропущенный видеозвонок от врача Иванова"


def test_chat_header_has_the_video_buttons_and_portal_pages_the_popup(app, factory):
    """teleconsult_register_chat_header_actions and teleconsult_register_page_scripts."""
    from core.testing import login_session
    from core.models import PortalAccount, User

    cast = make_cast(factory)
    client = app.test_client()
    login_session(client, db.session.get(User, cast.doctor_id))
    page = client.get(f"/chat/{cast.consultation_id}").get_data(as_text=True)
    assert 'aria-label="Видеозвонок"' in page and 'aria-label="Войти в ВКС"' in page
    assert "video/popup.js" not in page  # staff get no popup
    patient = app.test_client()
    login_session(patient, db.session.get(PortalAccount, cast.account_id))
    page = patient.get(f"/chat/{cast.consultation_id}").get_data(as_text=True)
    assert "video/popup.js" in page and 'aria-label="Видеозвонок"' not in page
    assert "video/popup.js" in patient.get("/portal/").get_data(as_text=True)
