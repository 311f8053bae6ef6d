"""Group commit of chat messages: each sender of a batch gets their own answer, and
senders arriving together share a transaction without losing or doubling a message."""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from core import lifecycle
from core.access import principal_for_account, principal_for_user
from core.db import db
from core.errors import Conflict
from core.models import CompletionReason, Consultation, Outcome, PortalAccount, User
from plugins.chat import grouped
from plugins.chat.models import Chat, ChatMessage
from tests.chat.conftest import make_cast


def _started(factory):
    cast = make_cast(factory)
    consultation = db.session.get(Consultation, cast.consultation_id)
    lifecycle.start(consultation, principal_for_user(consultation.author))
    db.session.commit()
    return cast


def _pending(cast, principal, text="Добрый день", client_id=None):
    return grouped.Pending(cast.consultation_id, principal, client_id or uuid.uuid4().hex, text)


def test_each_sender_of_a_batch_gets_their_own_answer(app, factory):
    with app.test_request_context():
        open_chat, closed_chat, scheduled_chat = _started(factory), _started(factory), make_cast(factory)
        doctor = principal_for_user(db.session.get(User, open_chat.doctor_id))
        patient = principal_for_account(db.session.get(PortalAccount, open_chat.account_id))
        outsider = principal_for_user(factory.doctor())
        consultation = db.session.get(Consultation, closed_chat.consultation_id)
        reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
        db.session.commit()
        closed_doctor = principal_for_user(db.session.get(User, closed_chat.doctor_id))
        scheduled_doctor = principal_for_user(db.session.get(User, scheduled_chat.doctor_id))

        first = _pending(open_chat, doctor, "Здравствуйте, жалобы?")
        grouped.write_batch([first])
        assert first.result[1] is True and first.result[0]["seq"] == 1

        answer = _pending(open_chat, patient, "Болит голова")
        twice_a = _pending(open_chat, patient, "Третий день", client_id="tab-1")
        twice_b = _pending(open_chat, patient, "Третий день", client_id="tab-1")
        foreign = _pending(open_chat, outsider, "Чужой чат")
        late = _pending(closed_chat, closed_doctor, "После завершения")
        starting = _pending(scheduled_chat, scheduled_doctor, "Первое сообщение")
        grouped.write_batch([answer, twice_a, twice_b, foreign, late, starting])

        assert answer.result[1] is True and answer.result[0]["seq"] == 2
        assert twice_a.result[1] is True and twice_a.result[0]["seq"] == 3
        assert twice_b.result == (twice_a.result[0], False)
        assert isinstance(foreign.error, NotFound)
        assert isinstance(late.error, Conflict) and "только для чтения" in str(late.error.message)
        assert starting.result is grouped._ALONE  # starting the consultation is the sender's own step

        # A resend of a stored message fails its batch on the unique client id: each of the
        # batch is then stored alone, and the resend gets the stored message back.
        resend = _pending(open_chat, doctor, "Здравствуйте, жалобы?", client_id=first.client_id)
        beside = _pending(open_chat, patient, "Температура 37,2")
        grouped.write_batch([resend, beside])
        assert resend.result is grouped._ALONE and beside.result is grouped._ALONE
        again = _pending(open_chat, doctor, "Здравствуйте, жалобы?", client_id=first.client_id)
        assert grouped.GroupWriter().post(again) == (first.result[0], False)
        assert db.session.scalar(
            sa.select(sa.func.count(ChatMessage.id)).where(ChatMessage.client_id == first.client_id)
        ) == 1

        rows = db.session.execute(
            sa.select(ChatMessage.seq, ChatMessage.text)
            .join(Chat, Chat.id == ChatMessage.chat_id)
            .where(Chat.consultation_id == open_chat.consultation_id)
            .order_by(ChatMessage.seq)
        ).all()
        assert rows == [(1, "Здравствуйте, жалобы?"), (2, "Болит голова"), (3, "Третий день")]
        assert db.session.scalar(sa.select(Chat.last_seq).where(Chat.consultation_id == open_chat.consultation_id)) == 3


def test_concurrent_senders_share_transactions_and_lose_nothing(app, factory, monkeypatch):
    senders = 24
    with app.app_context():
        casts = [_started(factory) for _ in range(3)]
        doctors = [principal_for_user(db.session.get(User, cast.doctor_id)) for cast in casts]
    batches: list[int] = []
    write_batch = grouped.write_batch

    def counting(batch):
        batches.append(len(batch))
        return write_batch(batch)

    monkeypatch.setattr(grouped, "write_batch", counting)
    barrier = threading.Barrier(senders)
    answers: list = []
    errors: list = []

    def send(n: int) -> None:
        cast, doctor = casts[n % 3], doctors[n % 3]
        with app.test_request_context():
            barrier.wait()
            try:
                for k in range(5):
                    answers.append(grouped.post_text(cast.consultation_id, doctor, f"{n}-{k}", f"сообщение {n}-{k}"))
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(answers) == senders * 5 and all(created for _, created in answers)
    assert len(batches) < senders * 5  # some senders shared a transaction
    with app.app_context():
        for cast in casts:
            seqs = db.session.scalars(
                sa.select(ChatMessage.seq).join(Chat, Chat.id == ChatMessage.chat_id)
                .where(Chat.consultation_id == cast.consultation_id).order_by(ChatMessage.seq)
            ).all()
            assert seqs == list(range(1, senders * 5 // 3 + 1))
