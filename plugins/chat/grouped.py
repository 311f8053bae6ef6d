"""Group commit for chat text messages: many senders, one transaction.

Under load most of a message's cost is the transaction around it: loading the chat,
the sequence-number update, the insert, the unread counters, the commit. Senders that
arrive while a transaction is being written wait in a queue; the next transaction takes
all of them at once. There is no writer thread: the first sender to find nobody writing
becomes the leader, writes one batch (its own message among them), hands the leadership
to the first sender still waiting and returns. Every message still goes through the
access policy with its own sender's principal, is stored before it is broadcast, and is
acknowledged only after the commit.

A message that needs more than storing (the first one of a scheduled consultation starts
it, with the audit event and hooks of its sender) and the messages of a batch that failed
as a whole are sent back to their own sender's thread, which stores them alone through
``service.post_text_alone``.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app, g
from werkzeug.exceptions import HTTPException, NotFound

from core.access import Principal, require
from core.db import db
from core.errors import UserError
from core.models import Consultation, ConsultationStatus
from core.tx import after_commit
from plugins.chat import service
from plugins.chat.models import Chat, ChatMember, ChatMessage

log = logging.getLogger(__name__)

BATCH_LIMIT = 200
_ALONE = object()  # the sender stores the message itself


class Pending:
    __slots__ = ("consultation_id", "principal", "client_id", "text", "done", "lead", "result", "error", "same_as")

    def __init__(self, consultation_id: int, principal: Principal, client_id: str, text: str) -> None:
        self.consultation_id = consultation_id
        self.principal = principal
        self.client_id = client_id
        self.text = text
        self.done = threading.Event()
        self.lead = False
        self.result = None
        self.error: BaseException | None = None
        self.same_as: Pending | None = None

    def finish(self, result=None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class GroupWriter:
    """One per app (``writer()``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Pending] = []
        self._writing = False

    def post(self, pending: Pending):
        with self._lock:
            self._queue.append(pending)
            lead = not self._writing
            if lead:
                self._writing = True
        if not lead:
            pending.done.wait()
            if pending.lead:  # handed the leadership, not an answer
                pending.done.clear()
                self._lead()
                pending.done.wait()
        else:
            self._lead()
            pending.done.wait()
        if pending.result is _ALONE:
            return service.post_text_alone(pending.consultation_id, pending.principal, pending.client_id, pending.text)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:BATCH_LIMIT], self._queue[BATCH_LIMIT:]
        try:
            if batch:
                write_batch(batch)
        finally:
            for pending in batch:  # whatever went wrong, nobody waits for ever
                if not pending.done.is_set():
                    pending.finish(_ALONE)
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._writing = False


def writer() -> GroupWriter:
    app = current_app._get_current_object()
    found = app.extensions.get("chat.group_writer")
    if found is None:
        found = app.extensions.setdefault("chat.group_writer", GroupWriter())
    return found


class _ActingAs:
    """The access rules and the audit read the principal of the request; inside a batch
    it is each message's sender."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def __enter__(self):
        self.saved = g.get("teleconsult_principal")
        g.teleconsult_principal = self.principal

    def __exit__(self, *exc):
        if self.saved is None:
            g.pop("teleconsult_principal", None)
        else:
            g.teleconsult_principal = self.saved


def write_batch(batch: list[Pending]) -> None:
    try:
        with service.writing():
            outcome = _store(batch)
            db.session.commit()  # broadcasts (after_commit), then the acks below
    except Exception:
        log.exception("chat batch of %d messages failed; storing them one by one", len(batch))
        db.session.rollback()
        for pending in batch:
            pending.finish(_ALONE)
        return
    for pending, result, error in outcome:
        if pending.same_as is not None:
            first = pending.same_as
            pending.finish((first.result[0], False) if first.error is None else None, first.error)
        else:
            pending.finish(result, error)


def _store(batch: list[Pending]) -> list[tuple[Pending, object, BaseException | None]]:
    ids = sorted({p.consultation_id for p in batch})
    consultations = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Consultation).where(Consultation.id.in_(ids)).options(sa.orm.lazyload("*"))
        )
    }
    chats = {
        c.consultation_id: c
        for c in db.session.scalars(
            sa.select(Chat).where(Chat.consultation_id.in_(ids)).options(sa.orm.selectinload(Chat.members))
        )
    }
    client_ids = {p.client_id for p in batch}
    stored = {
        (m.chat_id, m.client_id): m
        for m in db.session.scalars(
            sa.select(ChatMessage).where(
                ChatMessage.chat_id.in_([c.id for c in chats.values()]), ChatMessage.client_id.in_(client_ids)
            )
        )
    }
    outcome: list[tuple[Pending, object, BaseException | None]] = []
    accepted: dict[int, list[tuple[Pending, ChatMember]]] = defaultdict(list)
    first_of: dict[tuple[int, str], Pending] = {}
    for pending in batch:
        result, error = None, None
        with _ActingAs(pending.principal):
            try:
                consultation = consultations.get(pending.consultation_id)
                chat = chats.get(pending.consultation_id)
                if consultation is None or chat is None:
                    raise NotFound()
                require("chat.view", consultation, pending.principal)
                key = (chat.id, pending.client_id)
                if key in stored:  # a resend: the stored message, nothing new
                    result = (service.serialize(stored[key], consultation), False)
                elif key in first_of:  # the same resend twice in one batch
                    pending.same_as = first_of[key]
                else:
                    service.check_writable(chat, consultation, pending.principal)
                    if consultation.status == ConsultationStatus.SCHEDULED:
                        result = _ALONE  # starting it is the sender's own action
                    else:
                        member = service.ensure_member(chat, consultation, pending.principal)
                        first_of[key] = pending
                        accepted[chat.id].append((pending, member))
            except (HTTPException, UserError) as refusal:
                error = refusal
        outcome.append((pending, result, error))
    if not accepted:
        return outcome

    # Sequence numbers: the chats' rows are locked in id order (two processes never wait
    # on each other in a circle; SQLite has one writer anyway), then one UPDATE reserves
    # the numbers of every chat of the batch.
    by_id = {chat.id: chat for chat in chats.values()}
    chat_ids = sorted(accepted)
    db.session.execute(sa.select(Chat.id).where(Chat.id.in_(chat_ids)).order_by(Chat.id).with_for_update())
    counts = sa.case({chat_id: len(accepted[chat_id]) for chat_id in chat_ids}, value=Chat.id)
    reserved = dict(
        db.session.execute(
            sa.update(Chat)
            .where(Chat.id.in_(chat_ids))
            .values(last_seq=Chat.last_seq + counts)
            .returning(Chat.id, Chat.last_seq)
            .execution_options(synchronize_session=False)
        ).all()
    )
    messages: dict[int, ChatMessage] = {}
    for chat_id in chat_ids:
        items, last = accepted[chat_id], reserved[chat_id]
        sa.orm.attributes.set_committed_value(by_id[chat_id], "last_seq", last)
        for seq, (pending, member) in enumerate(items, start=last - len(items) + 1):
            message = ChatMessage(
                chat_id=chat_id, seq=seq, kind=ChatMessage.TEXT, client_id=pending.client_id, text=pending.text,
                sender_member_id=member.id, sender_side=member.side, sender_name=pending.principal.name,
            )
            db.session.add(message)
            member.last_read_seq = max(member.last_read_seq, seq)  # writing counts as reading
            messages[id(pending)] = message
    db.session.flush()

    payloads: dict[int, list[dict]] = defaultdict(list)
    final = []
    for pending, result, error in outcome:
        message = messages.get(id(pending))
        if message is not None:
            consultation = consultations[pending.consultation_id]
            result = (service.serialize(message, consultation), True)
            payloads[consultation.id].append(result[0])
        final.append((pending, result, error))
    for consultation_id, sent in payloads.items():
        sent.sort(key=lambda payload: payload["seq"])
    targets = service.unread_targets([by_id[chat_id] for chat_id in chat_ids])

    def broadcast() -> None:
        for consultation_id, sent in payloads.items():
            room = service.chat_room(consultation_id)
            for payload in sent:
                service.emit("message", payload, room)
        for (consultation_id, target) in targets:
            service.emit("unread", {"chat": consultation_id, "unread": target.unread}, target.room)

    after_commit(broadcast)
    return final
