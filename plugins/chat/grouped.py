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
consultations, their chats and members; on SQLite (chats locked by the read) one UPDATE
that reserves the sequence numbers, one INSERT of the messages, one UPDATE of the
senders' read marks; on PostgreSQL all three in one statement without a transaction
around it (``_AT_ONCE``: two round trips a batch instead of six). A resend of a
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
from plugins.chat.chats import READ_ONLY, check_writable, ensure_member, member_for, open_for, writing
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
            if _at_once() and not db.session().in_transaction():
                # No BEGIN and no COMMIT of their own: the read needs no transaction (the
                # write locks and checks again), and the write is one statement. (A caller
                # with a transaction open has the batch in it.)
                db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
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


def _at_once() -> bool:
    """PostgreSQL: the batch is written by one statement (``_write_at_once``)."""
    return db.session.get_bind().dialect.name == "postgresql"


def _read(ids: list[int]) -> dict[int, tuple[Consultation, Chat]]:
    """The consultations and their chats with their members. In steps (SQLite), the
    chats' rows are locked in id order here; at once (PostgreSQL), the write statement
    locks them in the same order and checks again that each is still open."""
    query = (
        sa.select(Consultation, Chat)
        .join(Chat, Chat.consultation_id == Consultation.id)
        .where(Consultation.id.in_(ids))
        .order_by(Chat.id)
        .options(sa.orm.lazyload("*"), sa.orm.joinedload(Chat.members))
    )
    if not _at_once():
        query = query.with_for_update(of=Chat)
    rows = db.session.execute(query).unique().all()
    return {consultation.id: (consultation, chat) for consultation, chat in rows}


def _store(batch: list[Pending]):
    at_once = _at_once()
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
                    elif at_once and member_for(chat, pending.principal) is None:
                        result = _ALONE  # a member row to add: in a transaction of its own
                    else:
                        member = ensure_member(chat, consultation, pending.principal)
                        first_of[key] = pending
                        accepted[chat.id].append((pending, member))
            except (HTTPException, UserError) as refusal:
                error = refusal
        outcome.append((pending, result, error))
    if not accepted:
        return outcome, None

    chat_ids = sorted(accepted)
    now = utcnow()
    stored = (_write_at_once if at_once else _write_in_steps)(accepted, chat_ids, now)
    payloads: dict[int, dict] = {}  # by id(pending)
    refused: set[int] = set()
    chats = {chat.id: (consultation, chat) for consultation, chat in found.values()}
    reserved = set()
    for chat_id in chat_ids:
        consultation, _chat = chats[chat_id]
        for pending, member in accepted[chat_id]:
            found_row = stored.get((chat_id, pending.client_id))
            if found_row is None:  # the chat closed since it was read
                refused.add(id(pending))
                continue
            reserved.add(chat_id)
            message_id, seq = found_row
            payloads[id(pending)] = payload_of({
                "id": message_id, "seq": seq, "kind": ChatMessage.TEXT, "client_id": pending.client_id,
                "text": pending.text, "sender_member_id": member.id, "sender_side": member.side,
                "sender_name": pending.principal.name, "created_at": now,
            }, consultation.id)

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


def _write_in_steps(accepted, chat_ids: list[int], now) -> dict[tuple[int, str], tuple[int, int]]:
    """SQLite: one UPDATE reserves the numbers of every chat of the batch (a chat closed
    since it was read, completion on SQLite taking no row lock, reserves none), one INSERT
    stores the messages, one UPDATE moves the senders' read marks. Returns
    ``{(chat id, client id): (message id, seq)}`` of the stored messages."""
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
    rows: list[dict] = []
    read_marks: dict[int, int] = {}
    for chat_id in chat_ids:
        if chat_id not in reserved:
            continue
        items = accepted[chat_id]
        last = reserved[chat_id]
        for seq, (pending, member) in enumerate(items, start=last - len(items) + 1):
            rows.append({
                "chat_id": chat_id, "seq": seq, "kind": ChatMessage.TEXT, "client_id": pending.client_id,
                "text": pending.text, "sender_member_id": member.id, "sender_side": member.side,
                "sender_name": pending.principal.name, "document_id": None, "data": {}, "created_at": now,
            })
            read_marks[member.id] = seq  # writing counts as reading
    if not rows:
        return {}
    ids = db.session.execute(
        sa.insert(ChatMessage).returning(ChatMessage.id, sort_by_parameter_order=True), rows
    ).scalars().all()
    db.session.execute(
        sa.update(ChatMember)
        .where(ChatMember.id.in_(list(read_marks)))
        .values(last_read_seq=sa.case(read_marks, value=ChatMember.id))
        .execution_options(synchronize_session=False)
    )
    return {(row["chat_id"], row["client_id"]): (message_id, row["seq"]) for row, message_id in zip(rows, ids)}


# PostgreSQL: the whole batch in one statement, so one round trip and its own transaction.
# The messages come as arrays (one statement text whatever the batch's size, so it is
# prepared once); ``k`` numbers a chat's messages of the batch from 1. The open chats
# are locked in id order (two processes' batches never wait on each other in a circle)
# and, once locked, checked again to be open; their numbers are reserved, the messages
# stored with theirs, and each sender's read mark moved to their last message (writing
# counts as reading; never back). A chat closed meanwhile stores nothing.
_AT_ONCE = sa.text("""
WITH input AS (
    SELECT * FROM unnest(CAST(:chat_ids AS integer[]), CAST(:ks AS integer[]), CAST(:client_ids AS varchar[]),
                         CAST(:texts AS text[]), CAST(:member_ids AS integer[]), CAST(:sides AS varchar[]),
                         CAST(:names AS varchar[]))
        AS m(chat_id, k, client_id, text, member_id, side, name)
), wanted AS (
    SELECT chat_id, max(k) AS n FROM input GROUP BY chat_id
), locked AS (
    SELECT c.id FROM chat_chats AS c
    WHERE c.id IN (SELECT chat_id FROM wanted) AND c.closed_at IS NULL
    ORDER BY c.id FOR UPDATE
), numbers AS (
    UPDATE chat_chats AS c SET last_seq = c.last_seq + w.n
    FROM wanted AS w JOIN locked AS l ON l.id = w.chat_id
    WHERE c.id = w.chat_id AND c.closed_at IS NULL
    RETURNING c.id, c.last_seq - w.n AS base
), stored AS (
    INSERT INTO chat_messages (chat_id, seq, kind, client_id, text, sender_member_id, sender_side, sender_name,
                               document_id, data, created_at)
    SELECT m.chat_id, n.base + m.k, :kind, m.client_id, m.text, m.member_id, m.side, m.name,
           NULL, CAST('{}' AS json), :now
    FROM input AS m JOIN numbers AS n ON n.id = m.chat_id
    ORDER BY m.chat_id, m.k
    RETURNING id, chat_id, seq, client_id
), marks AS (
    UPDATE chat_members AS cm SET last_read_seq = greatest(cm.last_read_seq, r.seq)
    FROM (SELECT m.member_id, max(n.base + m.k) AS seq
          FROM input AS m JOIN numbers AS n ON n.id = m.chat_id GROUP BY m.member_id) AS r
    WHERE cm.id = r.member_id
)
SELECT chat_id, client_id, id, seq FROM stored
""").bindparams(sa.bindparam("now", type_=ChatMessage.__table__.c.created_at.type))


def _write_at_once(accepted, chat_ids: list[int], now) -> dict[tuple[int, str], tuple[int, int]]:
    """PostgreSQL: ``_AT_ONCE``; returns as ``_write_in_steps``."""
    columns: dict[str, list] = {name: [] for name in
                                ("chat_ids", "ks", "client_ids", "texts", "member_ids", "sides", "names")}
    for chat_id in chat_ids:
        for k, (pending, member) in enumerate(accepted[chat_id], start=1):
            columns["chat_ids"].append(chat_id)
            columns["ks"].append(k)
            columns["client_ids"].append(pending.client_id)
            columns["texts"].append(pending.text)
            columns["member_ids"].append(member.id)
            columns["sides"].append(member.side)
            columns["names"].append(pending.principal.name)
    rows = db.session.execute(_AT_ONCE, {**columns, "kind": ChatMessage.TEXT, "now": now}).all()
    return {(chat_id, client_id): (message_id, seq) for chat_id, client_id, message_id, seq in rows}


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
