"""A slot is booked by one consultation only, whatever the concurrency (SPEC D3.6).

Fifty doctors' browsers, each at the wizard's last step, press «Сохранить» on the same
slot at once: real threads, each request with its own app context and database session.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import sqlalchemy as sa

from core.db import db, utcnow
from core.models import AuditEvent, Consultation, ConsultationType, Participant, WizardDraft
from core.testing import PASSWORD, login_session
from core.workplace.wizard import STATE
from plugins.chat.models import Chat

BOOKINGS = 50


def test_fifty_concurrent_bookings_of_one_slot_give_one_success(app, factory):
    organisation = factory.organisation()
    consultant = factory.doctor(organisation, login="consultant")
    slot = factory.slot(consultant)
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
    patients = [factory.patient(organisation) for _ in range(BOOKINGS)]
    author = factory.doctor(organisation, login="author")
    # One doctor walks the wizard up to the slot step; fifty browsers hold that state.
    first = app.test_client()
    first.login("author", PASSWORD)
    first.post_form("/workplace/new/type", {"type_id": ctype.id})
    first.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    first.post_form("/workplace/new/patient", {"kind": "snils", "identifier": patients[0].snils})
    first.post_form("/workplace/new/confirm")
    first.post_form("/workplace/new/email", {"email": "p@example.ru"})
    assert first.post_form("/workplace/new/consultant", {"consultant_id": consultant.id}).status_code == 302
    with first.session_transaction() as session:
        wizard = dict(db.session.get(WizardDraft, session[STATE]).data)
    clients = []
    for patient in patients:
        client = app.test_client()
        login_session(client, author)
        draft = WizardDraft(
            id=secrets.token_urlsafe(16),
            user_id=author.id,
            data={**wizard, "candidate_id": patient.id, "patient_id": patient.id},
            expires_at=utcnow() + timedelta(hours=1),
        )
        db.session.add(draft)
        db.session.commit()
        with client.session_transaction() as session:
            session[STATE] = draft.id
        client.csrf_token("/workplace/new/slot")
        clients.append(client)
    slot_id = slot.id
    db.session.remove()  # the test's own session must not hold SQLite open meanwhile

    start = threading.Barrier(BOOKINGS)
    results: list = [None] * BOOKINGS

    def book(index: int) -> None:
        start.wait()
        response = clients[index].post_form("/workplace/new/slot", {"slot_id": slot_id})
        results[index] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(BOOKINGS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(status for status, _text in results)
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == BOOKINGS - 1, statuses
    assert all("Это время только что занял другой врач: выберите другое время" in text for status, text in results if status == 409)
    consultations = db.session.scalars(sa.select(Consultation)).all()
    assert len(consultations) == 1 and consultations[0].slot_id == slot_id
    assert db.session.scalar(sa.select(sa.func.count(Participant.id))) == 3
    # The chat plugin made exactly one chat, for the winner's consultation.
    chats = db.session.scalars(sa.select(Chat)).all()
    assert [chat.consultation_id for chat in chats] == [consultations[0].id]
    # Only the winner's draft is gone: the 49 losers keep theirs to pick another slot, and
    # the first browser's draft is still there too.
    assert db.session.scalar(sa.select(sa.func.count(WizardDraft.id))) == BOOKINGS
    assert db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "consultation.created")
    ) == 1
