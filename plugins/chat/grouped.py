"""Group commit for chat text messages: many senders, one transaction.

Under load most of a message's cost is the transaction around it: loading the chat,
the sequence-number update, the insert, the read mark, the commit. Senders that arrive
while a transaction is being written wait in a queue; the next transaction takes all of
them at once. There is no writer thread: the first sender to find nobody writing becomes
the leader, writes one batch (its own message among them), hands the leadership to the
first sender still waiting and returns. Every message still goes through the access
policy with its own sender's principal, is stored before it is broadcast, and is
acknowledged only after the commit.

A batch costs a fixed number of statements whatever its size: one read of the
consultations, their chats (locked) and members; one UPDATE that reserves the sequence
numbers; one INSERT of the messages; one UPDATE of the senders' read marks. A resend of a
message stored earlier is found by the unique index on (chat, client id): the batch fails
as a whole and each of its messages is stored alone (``messages.post_text_alone``), which
returns the stored one. So are a message that needs more than storing (the first one of a
scheduled consultation starts it, with the audit event and hooks of its sender) and the
messages of a batch that failed for any other reason.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app, g
from werkzeug.exceptions import HTTPException, NotFound

from core import params
from core.access import Principal, require
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput, UserError
from core.models import Consultation, ConsultationStatus

from plugins.chat.broadcast import prepare_broadcast
from plugins.chat.chats import READ_ONLY, check_writable, ensure_member, open_for, writing
from plugins.chat.history import payload_of
from plugins.chat.messages import check_client_id, check_text, post_text_alone
from plugins.chat.models import Chat, ChatMember, ChatMessage

log = logging.getLogger(__name__)

BATCH_LIMIT = 200
_ALONE = object()  # the sender stores the message itself


class Pending:
    """One message waiting for its batch. ``wait`` blocks on a lock that ``wake`` releases:
    cheaper than an Event (a Condition and a lock) for the one hand-over it needs."""

    __slots__ = ("consultation_id", "principal", "client_id", "text", "sid", "lead", "finished",
                 "result", "error", "same_as", "_signal")

    def __init__(self, consultation_id: int, principal: Principal, client_id: str, text: str,
                 sid: str | None = None) -> None:
        self.consultation_id = consultation_id
        self.principal = principal
        self.client_id = client_id
        self.text = text
        self.sid = sid  # the sender's socket: it has the message in its ack
        self.lead = False
        self.finished = False
        self.result = None
        self.error: BaseException | None = None
        self.same_as: Pending | None = None
        self._signal = threading.Lock()
        self._signal.acquire()

    def wait(self) -> None:
        self._signal.acquire()

    def wake(self) -> None:
        self._signal.release()

    def finish(self, result=None, error: BaseException | None = None) -> None:
        self.result, self.error, self.finished = result, error, True
        self.wake()


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
        if lead:
            self._lead()
        else:
            pending.wait()
            if pending.lead:  # handed the leadership, not an answer
                self._lead()
        if not pending.finished:
            pending.wait()
        if pending.result is _ALONE:
            return post_text_alone(
                pending.consultation_id, pending.principal, pending.client_id, pending.text, sid=pending.sid
            )
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:BATCH_LIMIT], self._queue[BATCH_LIMIT:]
        broadcast = None
        try:
            if batch:
                broadcast = write_batch(batch)
        finally:
            for pending in batch:  # whatever went wrong, nobody waits for ever
                if not pending.finished:
                    pending.finish(_ALONE)
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake()
                else:
                    self._writing = False
        # The senders have their acks and the next batch is being written: now the others.
        if broadcast is not None:
            broadcast()


def writer() -> GroupWriter:
    app = current_app._get_current_object()
    found = app.extensions.get("chat.group_writer")
    if found is None:
        found = app.extensions.setdefault("chat.group_writer", GroupWriter())
    return found


class _ActingAs:
    """The access rules read the principal of the request; inside a batch it is each
    message's sender."""

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


def write_batch(batch: list[Pending]):
    """Store the batch in one transaction and answer its senders; returns the broadcast
    to run once they are answered (None when there is nothing to tell)."""
    try:
        with writing():
            outcome, broadcast = _store(batch)
            db.session.commit()
    except Exception as error:
        if isinstance(error, sa.exc.IntegrityError):
            # A resend of a message stored before (or one just being stored by another
            # process): each is stored alone, and the resend gets the stored message.
            log.info("chat batch of %d messages holds a resend; storing them one by one", len(batch))
        else:
            log.exception("chat batch of %d messages failed; storing them one by one", len(batch))
        db.session.rollback()
        for pending in batch:
            pending.finish(_ALONE)
        return None
    for pending, result, error in outcome:
        if pending.same_as is not None:
            first = pending.same_as
            pending.finish((first.result[0], False) if first.error is None else None, first.error)
        else:
            pending.finish(result, error)
    return broadcast


def _read(ids: list[int]) -> dict[int, tuple[Consultation, Chat]]:
    """The consultations and their chats, the chats' rows locked in id order (two batches
    never wait on each other in a circle; SQLite has one writer anyway)."""
    rows = db.session.execute(
        sa.select(Consultation, Chat)
        .join(Chat, Chat.consultation_id == Consultation.id)
        .where(Consultation.id.in_(ids))
        .order_by(Chat.id)
        .options(sa.orm.lazyload("*"), sa.orm.joinedload(Chat.members))
        .with_for_update(of=Chat)
    ).unique().all()
    return {consultation.id: (consultation, chat) for consultation, chat in rows}


def _store(batch: list[Pending]):
    found = _read(sorted({p.consultation_id for p in batch}))
    outcome: list[tuple[Pending, object, BaseException | None]] = []
    accepted: dict[int, list[tuple[Pending, ChatMember]]] = defaultdict(list)
    first_of: dict[tuple[int, str], Pending] = {}
    for pending in batch:
        result, error = None, None
        with _ActingAs(pending.principal):
            try:
                consultation, chat = found.get(pending.consultation_id, (None, None))
                if consultation is None:
                    raise NotFound()
                require("chat.view", consultation, pending.principal)
                key = (chat.id, pending.client_id)
                if key in first_of:  # the same resend twice in one batch
                    pending.same_as = first_of[key]
                else:
                    check_writable(chat, consultation, pending.principal)
                    if consultation.status == ConsultationStatus.SCHEDULED:
                        result = _ALONE  # starting it is the sender's own action
                    else:
                        member = ensure_member(chat, consultation, pending.principal)
                        first_of[key] = pending
                        accepted[chat.id].append((pending, member))
            except (HTTPException, UserError) as refusal:
                error = refusal
        outcome.append((pending, result, error))
    if not accepted:
        return outcome, None

    # One UPDATE reserves the numbers of every chat of the batch; a chat closed since it
    # was read (completion on SQLite, which takes no row lock) reserves none.
    chat_ids = sorted(accepted)
    counts = sa.case({chat_id: len(accepted[chat_id]) for chat_id in chat_ids}, value=Chat.id)
    reserved = dict(
        db.session.execute(
            sa.update(Chat)
            .where(Chat.id.in_(chat_ids), Chat.closed_at.is_(None))
            .values(last_seq=Chat.last_seq + counts)
            .returning(Chat.id, Chat.last_seq)
            .execution_options(synchronize_session=False)
        ).all()
    )
    now = utcnow()
    rows: list[dict] = []
    payloads: dict[int, dict] = {}  # by id(pending), in the order of ``rows``
    read_marks: dict[int, int] = {}
    refused: set[int] = set()
    chats = {chat.id: (consultation, chat) for consultation, chat in found.values()}
    for chat_id in chat_ids:
        consultation, chat = chats[chat_id]
        items = accepted[chat_id]
        if chat_id not in reserved:
            refused.update(id(pending) for pending, _member in items)
            continue
        last = reserved[chat_id]
        sa.orm.attributes.set_committed_value(chat, "last_seq", last)
        for seq, (pending, member) in enumerate(items, start=last - len(items) + 1):
            row = {
                "chat_id": chat_id, "seq": seq, "kind": ChatMessage.TEXT, "client_id": pending.client_id,
                "text": pending.text, "sender_member_id": member.id, "sender_side": member.side,
                "sender_name": pending.principal.name, "document_id": None, "data": {}, "created_at": now,
            }
            rows.append(row)
            payloads[id(pending)] = payload_of(row, consultation.id)
            read_marks[member.id] = seq  # writing counts as reading
    if rows:
        ids = db.session.execute(
            sa.insert(ChatMessage).returning(ChatMessage.id, sort_by_parameter_order=True), rows
        ).scalars().all()
        for payload, message_id in zip(payloads.values(), ids):
            payload["id"] = message_id
        db.session.execute(
            sa.update(ChatMember)
            .where(ChatMember.id.in_(list(read_marks)))
            .values(last_read_seq=sa.case(read_marks, value=ChatMember.id))
            .execution_options(synchronize_session=False)
        )

    final = []
    sent: dict[int, list[tuple[dict, str | None]]] = defaultdict(list)
    for pending, result, error in outcome:
        if id(pending) in refused:
            result, error = None, Conflict(READ_ONLY)
        elif id(pending) in payloads:
            payload = payloads[id(pending)]
            result = (payload, True)
            sent[pending.consultation_id].append((payload, pending.sid))
        final.append((pending, result, error))
    if not sent:
        return final, None
    return final, prepare_broadcast(
        {cid: sorted(items, key=lambda item: item[0]["seq"]) for cid, items in sent.items()},
        [chats[chat_id] for chat_id in chat_ids if chat_id in reserved],
    )


def post_text(consultation_id, principal: Principal, client_id, text, sid: str | None = None) -> tuple[dict, bool]:
    """Store a text message and broadcast it after the commit.

    Returns ``(message, created)``; a resend with a known ``client_id`` returns the stored
    message and stores nothing (``created`` False). Messages arriving together are stored
    in one transaction. ``sid``: the sender's socket, which gets
    the message in its acknowledgement and so not once more from the broadcast. Commits.
    """
    consultation_id = params.to_id(consultation_id)
    if consultation_id is None:
        raise NotFound()
    try:
        client_id = check_client_id(client_id)
        text = check_text(text)
    except InvalidInput:
        open_for(consultation_id, principal)  # an outsider learns nothing but 404
        db.session.rollback()
        raise
    # Waiting for the batch holds no database connection (or fifty waiting senders
    # would empty the pool the leader needs).
    db.session.rollback()
    return writer().post(Pending(consultation_id, principal, client_id, text, sid))
