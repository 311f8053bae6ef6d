"""Storing the chat's messages: texts, files, the system's notices and the closing one.

Messages are stored first and broadcast after the commit (``core.tx.after_commit``), so a
client never sees a message that is not in the database. Each message takes the chat's
next sequence number under a row lock: within a chat, commit order is sequence order, and
a client that asks for "everything after N" after a reconnect misses nothing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from core import audit, lifecycle, routeforms
from core.access import Principal
from core.db import db, increment, utcnow
from core.errors import InvalidInput
from core.models import Consultation, Outcome
from core.storage import store_document
from plugins.chat.broadcast import broadcast_after_commit
from plugins.chat.chats import check_writable, ensure_member, open_for, open_for_writing, writing
from plugins.chat.history import serialize
from plugins.chat.models import Chat, ChatMember, ChatMessage

TEXT_MAX_LENGTH = 4000
FILES_PER_UPLOAD = 10

# No colon: the messages of a file upload take "<client id>:<index>", so a text's id with a
# colon could meet one of them. 56 leaves room for the suffix in the 64-character column.
_CLIENT_ID = re.compile(r"\A[A-Za-z0-9_.-]{1,56}\Z")


def _next_seq(chat: Chat) -> int:
    # An UPDATE first: it takes the row lock (PostgreSQL) or the write lock (SQLite)
    # before the number is read, so two senders never get the same one.
    seq = increment(Chat.last_seq, chat.id)
    sa.orm.attributes.set_committed_value(chat, "last_seq", seq)  # already in the row
    return seq


def _sender(member: ChatMember | None, principal: Principal) -> dict:
    if member is None:
        return {"sender_member_id": None, "sender_side": "system", "sender_name": ""}
    return {"sender_member_id": member.id, "sender_side": member.side, "sender_name": principal.name}


def check_client_id(client_id) -> str:
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise InvalidInput(_l("Сообщение без идентификатора: обновите страницу и повторите"))
    return client_id


def find_by_client_id(chat: Chat, client_id: str) -> ChatMessage | None:
    return db.session.scalar(
        sa.select(ChatMessage).where(ChatMessage.chat_id == chat.id, ChatMessage.client_id == client_id)
    )


def check_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(_l("Введите текст сообщения"))
    text = text.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidInput(_l("Сообщение не длиннее %(n)s символов", n=TEXT_MAX_LENGTH))
    return text


def post_text_alone(consultation_id, principal: Principal, client_id, text, sid: str | None = None) -> tuple[dict, bool]:
    """``grouped.post_text`` in a transaction of its own."""
    for attempt in range(3):
        try:
            with writing():
                return _post_text(consultation_id, principal, client_id, text, sid)
        except sa.orm.exc.StaleDataError:
            # Both sides wrote the first message at once and both started the
            # consultation; the loser starts over and finds it started.
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _post_text(consultation_id, principal: Principal, client_id, text, sid: str | None = None) -> tuple[dict, bool]:
    chat, consultation = open_for(consultation_id, principal)  # access before anything else
    client_id = check_client_id(client_id)
    text = check_text(text)
    existing = find_by_client_id(chat, client_id)
    if existing is not None:
        return serialize(existing, consultation), False
    check_writable(chat, consultation, principal)
    member = ensure_member(chat, consultation, principal)
    message = ChatMessage(
        chat_id=chat.id, seq=_next_seq(chat), kind=ChatMessage.TEXT, client_id=client_id, text=text,
        **_sender(member, principal),
    )
    db.session.add(message)
    # Writing counts as reading everything before (the sender has seen the chat).
    member.last_read_seq = message.seq
    lifecycle.start_if_scheduled(consultation, principal)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # The same resend arrived twice at once (two tabs, two processes): one stored it.
        db.session.rollback()
        chat, consultation = open_for(consultation_id, principal)
        existing = find_by_client_id(chat, client_id)
        if existing is None:
            raise
        return serialize(existing, consultation), False
    payload = serialize(message, consultation)
    broadcast_after_commit(chat, consultation, [payload], skip_sid=sid)
    db.session.commit()
    return payload, True


def post_files(consultation_id, principal: Principal, files: list[tuple[str, bytes]], client_id=None) -> list[dict]:
    """Store several files at once, each as a message; all or nothing. Commits."""
    with writing():
        return _post_files(consultation_id, principal, files, client_id)


def _post_files(consultation_id, principal: Principal, files: list[tuple[str, bytes]], client_id=None) -> list[dict]:
    chat, consultation = open_for_writing(consultation_id, principal)
    if not files:
        raise InvalidInput(_l("Выберите файлы для загрузки"))
    if len(files) > FILES_PER_UPLOAD:
        raise InvalidInput(_l("Не больше %(n)s файлов за один раз", n=FILES_PER_UPLOAD))
    if client_id is not None:
        client_id = check_client_id(client_id)
        existing = find_by_client_id(chat, f"{client_id}:0")
        if existing is not None:
            stored = db.session.scalars(
                sa.select(ChatMessage)
                .where(ChatMessage.chat_id == chat.id, ChatMessage.client_id.startswith(f"{client_id}:"))
                .order_by(ChatMessage.seq)
            )
            return [serialize(m, consultation) for m in stored]
    member = ensure_member(chat, consultation, principal)
    owner = {"owner_user_id": principal.id} if principal.is_staff else {"owner_account_id": principal.id}
    payloads = []
    # store_document validates each file by content before writing it; a refusal raises,
    # the caller rolls back, and files already written for this request are removed.
    for index, (filename, data) in enumerate(files):
        document = store_document(
            filename, data, kind="chat_attachment", consultation_id=consultation.id, folder="chat", **owner
        )
        db.session.flush()
        audit.record(
            "document.uploaded", document, consultation_id=consultation.id, principal=principal,
            data={"channel": "chat", "filename": document.filename, "size": document.size},
        )
        message = ChatMessage(
            chat_id=chat.id, seq=_next_seq(chat), kind=ChatMessage.FILE, document_id=document.id,
            client_id=f"{client_id}:{index}" if client_id else None, text="",
            **_sender(member, principal),
        )
        db.session.add(message)
        db.session.flush()
        member.last_read_seq = message.seq
        payloads.append(serialize(message, consultation, document))
    lifecycle.start_if_scheduled(consultation, principal)
    broadcast_after_commit(chat, consultation, payloads)
    db.session.commit()
    return payloads


def post_system(chat: Chat, consultation: Consultation, data: dict) -> ChatMessage:
    """A notice from the system (in the caller's transaction, broadcast after its commit)."""
    message = ChatMessage(
        chat_id=chat.id, seq=_next_seq(chat), kind=ChatMessage.SYSTEM, data=data, text="",
        document_id=data.get("document_id"), **_sender(None, None),
    )
    db.session.add(message)
    db.session.flush()
    return message


def close(consultation: Consultation, outcome: str, actor: Principal) -> None:
    """The consultation was completed: read-only chat and a notice of how it ended (P6, D9)."""
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None or chat.is_closed:
        return
    chat.closed_at = utcnow()
    data: dict = {"event": "completed", "outcome": outcome}
    if outcome == Outcome.NO_CONCLUSION:
        reason = consultation.outcome_reason
        data["reason"] = reason.name if reason else ""
    else:
        data["document_id"] = consultation.conclusion_document_id
        # The conclusion's fields as the route labels them, kept with the message (F2, P6).
        items = routeforms.conclusion_items(consultation)
        if items:
            data["conclusion"] = [[str(label), str(text)] for label, text in items]
    message = post_system(chat, consultation, data)
    payload = serialize(message, consultation)
    broadcast_after_commit(chat, consultation, [payload], closed=True)


def post_notice(consultation: Consultation, source: str, text: str) -> None:
    """Another plugin's notice (a missed call, a call's message) as a system message."""
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:
        return
    message = post_system(chat, consultation, {"event": "notice", "source": source, "text": str(text)[:4000]})
    broadcast_after_commit(chat, consultation, [serialize(message, consultation)])
