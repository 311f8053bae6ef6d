"""What the chat does, shared by the pages, the Socket.IO namespace and the hooks.

Messages are stored first and broadcast after the commit (``core.tx.after_commit``), so a
client never sees a message that is not in the database. Each message takes the chat's
next sequence number under a row lock: within a chat, commit order is sequence order, and
a client that asks for "everything after N" after a reconnect misses nothing.
"""

from __future__ import annotations

import contextlib
import re
import threading

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from core import audit, lifecycle, params, routeforms
from core.access import Principal, require
from core.db import db, increment
from core.errors import Conflict, InvalidInput
from core.models import Consultation, Document, Outcome, ParticipantRole
from core.storage import store_document
from core.tx import after_commit
from plugins.chat.models import Chat, ChatMember, ChatMessage

NAMESPACE = "/chat"
TEXT_MAX_LENGTH = 4000
PAGE_SIZE = 50
REPLAY_LIMIT = 500
FILES_PER_UPLOAD = 10
# No colon: the messages of a file upload take "<client id>:<index>", so a text's id with a
# colon could meet one of them. 56 leaves room for the suffix in the 64-character column.
_CLIENT_ID = re.compile(r"\A[A-Za-z0-9_.-]{1,56}\Z")

READ_ONLY = _l("Консультация завершена: чат доступен только для чтения, новые сообщения и файлы не принимаются")


# --------------------------------------------------------------------------- rooms


def chat_room(consultation_id: int) -> str:
    return f"chat:{consultation_id}"


def staff_room(user_id: int) -> str:
    return f"staff:{user_id}"


def person_room(patient_id: int) -> str:
    return f"person:{patient_id}"


def login_room(token: str) -> str:
    return f"login:{token}"


def ward_room(child_id: int, representative_id: int) -> str:
    return f"ward:{child_id}:{representative_id}"


def personal_rooms(principal: Principal) -> list[str]:
    """Rooms every tab of a user joins: unread counters and read marks reach them all.

    A patient joins the room of each person they act for now, and for each child the room
    of their own member rows in that child's consultations (``ward_room``): when a link
    ends, the re-check leaves those rooms, so no counter of the child's chats arrives."""
    if principal.is_staff:
        return [staff_room(principal.id)]
    if principal.is_patient:
        ids = sorted(principal.patient_ids)
        return [person_room(pid) for pid in ids] + [
            ward_room(child, own) for own in ids for child in ids if child != own
        ]
    return []


def member_room(member: ChatMember, subject_id: int | None) -> str:
    """The room of a member's tabs; ``subject_id``: whom the consultation is about. A
    representative's row in a child's chat reaches them only while they act for the child."""
    if member.user_id is not None:
        return staff_room(member.user_id)
    if subject_id is None or member.patient_id == subject_id:
        return person_room(member.patient_id)
    return ward_room(subject_id, member.patient_id)


def emit(event: str, data, room: str, skip_sid=None) -> None:
    """To every socket of ``room`` on /chat, less ``skip_sid`` (a socket id or a list)."""
    current_app.extensions["socketio"].emit(event, data, to=room, namespace=NAMESPACE, skip_sid=skip_sid)


# --------------------------------------------------------------------------- lookup


def load(consultation_id) -> tuple[Chat, Consultation]:
    """The chat of a consultation, or 404 (also for a malformed id)."""
    consultation_id = params.to_id(consultation_id)
    if consultation_id is None:
        raise NotFound()
    # Only what the access rule needs is loaded now; the rest lazily, when a page wants it.
    consultation = db.session.get(Consultation, consultation_id, options=[sa.orm.lazyload("*")])
    if consultation is None:
        raise NotFound()
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:
        raise NotFound()
    return chat, consultation


def open_for(consultation_id, principal: Principal, action: str = "chat.view") -> tuple[Chat, Consultation]:
    chat, consultation = load(consultation_id)
    require(action, consultation, principal)
    return chat, consultation


def open_for_writing(consultation_id, principal: Principal) -> tuple[Chat, Consultation]:
    chat, consultation = open_for(consultation_id, principal)
    check_writable(chat, consultation, principal)
    return chat, consultation


def check_writable(chat: Chat, consultation: Consultation, principal: Principal) -> None:
    """Closed: refused with the reason, whatever the client sends (SPEC P3, D9)."""
    if chat.is_closed or consultation.is_closed:
        raise Conflict(READ_ONLY)
    require("chat.write", consultation, principal)


def member_for(chat: Chat, principal: Principal) -> ChatMember | None:
    for member in chat.members:
        if principal.is_staff and member.user_id == principal.id:
            return member
        if principal.is_patient and member.patient_id in principal.patient_ids:
            return member
    return None


def ensure_member(chat: Chat, consultation: Consultation, principal: Principal) -> ChatMember:
    """The principal's member row; someone who takes part but has none gets one."""
    member = member_for(chat, principal)
    if member is not None:
        return member
    if principal.is_staff:
        member = ChatMember(chat=chat, user_id=principal.id, role=ParticipantRole.OBSERVER)
    else:
        patient_id = consultation.portal_patient.id
        if patient_id not in principal.patient_ids:
            patient_id = consultation.patient_id
        member = ChatMember(chat=chat, patient_id=patient_id, role=ParticipantRole.PATIENT)
    db.session.add(member)
    db.session.flush()
    return member


# --------------------------------------------------------------------------- creation


def create_chat(consultation: Consultation) -> Chat:
    """The chat of a new consultation: author, consultant, patient or representative."""
    chat = Chat(consultation_id=consultation.id)
    db.session.add(chat)
    seen: set[tuple] = set()
    for participant in consultation.participants:
        key = (participant.user_id, participant.patient_id)
        if key in seen or participant.role == ParticipantRole.OBSERVER:
            continue
        seen.add(key)
        chat.members.append(
            ChatMember(user_id=participant.user_id, patient_id=participant.patient_id, role=participant.role)
        )
    db.session.flush()
    return chat


def add_member(consultation: Consultation, participant) -> None:
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:  # participants of a new consultation arrive before the chat
        return
    for member in chat.members:
        if (member.user_id, member.patient_id) == (participant.user_id, participant.patient_id):
            return
    chat.members.append(
        ChatMember(user_id=participant.user_id, patient_id=participant.patient_id, role=participant.role)
    )
    db.session.flush()


# --------------------------------------------------------------------------- messages


_NO_LOCK = contextlib.nullcontext()


def writing():
    """On SQLite, this process's chat writers take turns on a lock: SQLite admits one
    writer at a time and makes the others poll with growing sleeps, which under a burst
    of messages costs far more than waiting in line. PostgreSQL needs no such thing."""
    app = current_app._get_current_object()
    lock = app.extensions.get("chat.sqlite_writer")
    if lock is None:
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            return _NO_LOCK
        lock = app.extensions.setdefault("chat.sqlite_writer", threading.Lock())
    return lock


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
    _broadcast_after_commit(chat, consultation, [payload], skip_sid=sid)
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
    _broadcast_after_commit(chat, consultation, payloads)
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
    from core.db import utcnow

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
    _broadcast_after_commit(chat, consultation, [payload], closed=True)


def post_notice(consultation: Consultation, source: str, text: str) -> None:
    """Another plugin's notice (a missed call, a call's message) as a system message."""
    chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == consultation.id))
    if chat is None:
        return
    message = post_system(chat, consultation, {"event": "notice", "source": source, "text": str(text)[:4000]})
    _broadcast_after_commit(chat, consultation, [serialize(message, consultation)])


def _url(endpoint: str, **values) -> str:
    # Completion may happen outside a request (a task, the API worker): build the path alone.
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def payload_of(row: dict, consultation_id: int) -> dict:
    """What clients get of a text message, from the values of its row."""
    return {
        "chat": consultation_id,
        "id": row.get("id"),
        "seq": row["seq"],
        "kind": row["kind"],
        "side": row["sender_side"],
        "member": row["sender_member_id"],
        "name": row["sender_name"],
        "client_id": row["client_id"],
        "text": row["text"],
        "at": row["created_at"].isoformat(),
    }


def serialize(message: ChatMessage, consultation: Consultation, document: Document | None = None) -> dict:
    payload = {
        "chat": consultation.id,
        "id": message.id,
        "seq": message.seq,
        "kind": message.kind,
        "side": message.sender_side,
        "member": message.sender_member_id,
        "name": message.sender_name,
        "client_id": message.client_id,
        "text": message.text,
        "at": message.created_at.isoformat(),
    }
    if message.document_id is not None:
        document = document or db.session.get(Document, message.document_id)
        if document is not None:
            payload["file"] = {
                "id": document.id,
                "name": document.filename,
                "size": document.size,
                "type": document.content_type,
                "url": _url("chat.download", consultation_id=consultation.id, document_id=document.id),
                "view_url": _url("chat.download", consultation_id=consultation.id, document_id=document.id, inline=1),
            }
    if message.kind == ChatMessage.SYSTEM:
        payload["text"] = describe_system(message.data)
        payload["data"] = message.data
    return payload


def describe_system(data: dict) -> str:
    if data.get("event") == "notice":
        return data.get("text") or ""
    if data.get("event") == "completed":
        if data.get("outcome") == Outcome.NO_CONCLUSION:
            return _("Консультация завершена без заключения. Причина: %(reason)s", reason=data.get("reason") or "—")
        if data.get("document_id") is None:
            return _("Консультация завершена с заключением врача.")
        return _("Консультация завершена. Заключение врача доступно для просмотра и скачивания.")
    return ""


def history(chat: Chat, consultation: Consultation, *, before=None, after=None, limit=PAGE_SIZE) -> tuple[list[dict], bool]:
    """A page of messages in sequence order: the newest ``limit`` before ``before``, or
    everything after ``after`` (replay, at most REPLAY_LIMIT). Returns ``(messages, more)``."""
    query = sa.select(ChatMessage).where(ChatMessage.chat_id == chat.id)
    if after is not None:
        limit = params.to_int(limit, 1, REPLAY_LIMIT) or REPLAY_LIMIT
        rows = list(db.session.scalars(query.where(ChatMessage.seq > after).order_by(ChatMessage.seq).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
    else:
        limit = params.to_int(limit, 1, 200) or 200
        if before is not None:
            query = query.where(ChatMessage.seq < before)
        rows = list(db.session.scalars(query.order_by(ChatMessage.seq.desc()).limit(limit + 1)))
        more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    documents = {}
    ids = [m.document_id for m in rows if m.document_id]
    if ids:
        documents = {d.id: d for d in db.session.scalars(sa.select(Document).where(Document.id.in_(ids)))}
    return [serialize(m, consultation, documents.get(m.document_id)) for m in rows], more


CONTEXT_BEFORE_UNREAD = 5


def first_unread_seq(member: ChatMember) -> int | None:
    """The first message the member has not read, counted as the circle counts them."""
    return db.session.scalar(
        sa.select(sa.func.min(ChatMessage.seq)).where(
            ChatMessage.chat_id == member.chat_id,
            ChatMessage.seq > member.last_read_seq,
            ChatMessage.sender_member_id != member.id,
        )
    )


def opening_page(chat: Chat, consultation: Consultation, member: ChatMember) -> tuple[list[dict], bool, int | None]:
    """What the chat window opens with: ``(messages, more, first unread seq)``.

    The latest page; but when the first unread message is older than that page, a few read
    messages before it and a page from it on, so the window can open there (the client
    fetches the rest after it). ``more``: older messages exist before the first shown."""
    first = first_unread_seq(member)
    messages, more = history(chat, consultation)
    if first is None or not messages or messages[0]["seq"] <= first:
        return messages, more, first
    before, more = history(chat, consultation, before=first, limit=CONTEXT_BEFORE_UNREAD)
    after, _ = history(chat, consultation, after=first - 1, limit=PAGE_SIZE)
    return before + after, more, first


def parse_seq(value, name: str = "seq") -> int | None:
    if value is None or value == "":
        return None
    number = params.to_int(value, 0)
    if number is None:
        raise InvalidInput(_l("Некорректный номер сообщения"))
    return number


# --------------------------------------------------------------------------- read marks


def mark_read(consultation_id, principal: Principal, seq) -> dict:
    """Move the principal's read mark forward (never back). Commits; broadcasts."""
    with writing():
        return _mark_read(consultation_id, principal, seq)


def _mark_read(consultation_id, principal: Principal, seq) -> dict:
    chat, consultation = open_for(consultation_id, principal)
    seq = parse_seq(seq) or 0
    member = ensure_member(chat, consultation, principal)
    seq = min(seq, chat.last_seq)
    moved = seq > member.last_read_seq
    if moved:
        member.last_read_seq = seq
        db.session.flush()
    unread = _unread_of(member)
    result = {"chat": consultation.id, "seq": member.last_read_seq, "unread": unread}
    if moved:
        mark = {"chat": consultation.id, "member": member.id, "side": member.side, "seq": seq}
        own_room = member_room(member, consultation.patient_id)

        def announce() -> None:
            emit("read", mark, chat_room(mark["chat"]))
            emit("unread", {"chat": mark["chat"], "unread": unread}, own_room)

        after_commit(announce)
    db.session.commit()
    return result


# Unread: messages of the other members after the read mark. System notices (NULL sender,
# never equal to anything) are not counted: the circle counts the doctor's messages (P3).
def _unread_query():
    return (
        sa.select(sa.func.count(ChatMessage.id))
        .where(ChatMessage.chat_id == ChatMember.chat_id, ChatMessage.seq > ChatMember.last_read_seq)
        .where(ChatMessage.sender_member_id != ChatMember.id)
    )


def _unread_of(member: ChatMember) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(ChatMessage.id)).where(
            ChatMessage.chat_id == member.chat_id,
            ChatMessage.seq > member.last_read_seq,
            ChatMessage.sender_member_id != member.id,
        )
    )


def _member_filter(principal: Principal):
    """The principal's member rows, in chats they may see now: a patient's rows count only
    in consultations about a person they act for (a representative's own row in a child's
    chat stops counting when the link ends)."""
    if principal.is_staff:
        return ChatMember.user_id == principal.id
    if principal.is_patient and principal.patient_ids:
        ids = list(principal.patient_ids)
        about = sa.select(Consultation.id).where(Consultation.patient_id.in_(ids))
        return sa.and_(ChatMember.patient_id.in_(ids), Chat.consultation_id.in_(about))
    return sa.false()


def _unread_by_member():
    """Joins a chat's member to the messages they have not read (not their own)."""
    return sa.and_(
        ChatMessage.chat_id == Chat.id,
        ChatMessage.seq > ChatMember.last_read_seq,
        ChatMessage.sender_member_id != ChatMember.id,
    )


def unread_counts(consultation_ids: list[int], principal: Principal) -> dict[int, int]:
    """``{consultation id: unread messages}`` for the principal (the blue circle)."""
    if not consultation_ids or not (principal.is_staff or principal.is_patient):
        return {}
    rows = db.session.execute(
        sa.select(Chat.consultation_id, sa.func.count(ChatMessage.id))
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .join(
            ChatMessage,
            _unread_by_member(),
        )
        .where(Chat.consultation_id.in_(consultation_ids), _member_filter(principal))
        .group_by(Chat.consultation_id)
    ).all()
    return {cid: count for cid, count in rows if count}


CHATS_ASKED_MAX = 500


def asked_chats(value) -> list[int]:
    """The consultation ids a list page names when it connects (``auth.chats``): ids
    only, at most CHATS_ASKED_MAX; anything else is ignored, never an error."""
    if not isinstance(value, list):
        return []
    ids = [v for v in value[:CHATS_ASKED_MAX] if type(v) is int and 0 < v < 2**31]
    return sorted(set(ids))


def counts_of(principal: Principal, asked: list[int] = ()) -> dict:
    """What a tab is sent when it connects: ``{"unread": {consultation id: n}, "closed":
    [ids]}``. ``unread`` covers every chat of the principal that has unread messages
    (absent: none); ``closed`` says which of the ``asked`` chats are closed. One query."""
    if not (principal.is_staff or principal.is_patient):
        return {"unread": {}, "closed": []}
    unread = sa.func.count(ChatMessage.id)
    asked = list(asked)
    rows = db.session.execute(
        sa.select(Chat.consultation_id, Chat.closed_at.is_not(None), unread)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .outerjoin(
            ChatMessage,
            _unread_by_member(),
        )
        .where(_member_filter(principal))
        .group_by(Chat.consultation_id, Chat.closed_at)
        .having(sa.or_(unread > 0, Chat.consultation_id.in_(asked)) if asked else unread > 0)
    ).all()
    return {
        "unread": {str(cid): count for cid, _closed, count in rows if count},
        "closed": sorted(cid for cid, closed, _count in rows if closed and cid in asked),
    }


def read_marks(chat: Chat) -> dict[str, int]:
    """How far each side has read: the other side's mark shows «прочитано» on messages."""
    marks = {"staff": 0, "patient": 0}
    for member in chat.members:
        marks[member.side] = max(marks[member.side], member.last_read_seq)
    return marks


# --------------------------------------------------------------------------- broadcast


def _broadcast_after_commit(chat: Chat, consultation: Consultation, payloads: list[dict], closed: bool = False,
                            skip_sid: str | None = None) -> None:
    after_commit(
        prepare_broadcast({consultation.id: [(payload, skip_sid) for payload in payloads]}, [(consultation, chat)], closed)
    )


def _tabs_outside(socketio, rooms: list[str], chat: str) -> dict[str, list[str]] | None:
    """In a single process: ``{room: the sockets of the chat}`` for each of ``rooms`` (a
    member's tabs) with a socket outside the chat room, that is a tab with a list open.
    ``None`` with a message queue: other processes' sockets are not known here."""
    import socketio as python_socketio

    manager = socketio.server.manager
    if isinstance(manager, python_socketio.PubSubManager):
        return None
    inside = [sid for sid, _eio in manager.get_participants(NAMESPACE, chat)]
    found = {}
    for room in rooms:
        if any(sid not in inside for sid, _eio in manager.get_participants(NAMESPACE, room)):
            found[room] = inside
    return found


def prepare_broadcast(
    sent: dict[int, list[tuple[dict, str | None]]], chats: list[tuple[Consultation, Chat]], closed: bool = False
):
    """What new messages tell once committed: each message to its chat's room (not to the
    sender's socket: its acknowledgement has it), the senders' moved read marks, then the unread counters to the members'
    tabs outside the chat (inside, the window shows the messages and marks them read).
    The counters are counted after the commit, on a connection of their own, and only when
    some tab would get them. ``closed``: the chat has just closed; every tab of its members
    is told, and its room gets ``closed``."""
    socketio = current_app.extensions["socketio"]
    members = {
        chat.consultation_id: [(member.id, member_room(member, consultation.patient_id)) for member in chat.members]
        for consultation, chat in chats
    }

    def broadcast() -> None:
        for consultation_id, items in sent.items():
            marks: dict[int, dict] = {}
            for payload, sid in items:
                emit("message", payload, chat_room(consultation_id), skip_sid=sid)
                if payload.get("member") is not None:  # writing moved the sender's read mark
                    marks[payload["member"]] = {
                        "chat": consultation_id, "member": payload["member"], "side": payload["side"],
                        "seq": payload["seq"],
                    }
            for mark in marks.values():  # told as a `read` event tells it (not left to a reload)
                emit("read", mark, chat_room(consultation_id))
        wanted: list[tuple[int, int, str, list[str] | None]] = []
        for consultation_id, rooms in members.items():
            outside = None if closed else _tabs_outside(socketio, [room for _id, room in rooms], chat_room(consultation_id))
            for member_id, room in rooms:
                if outside is None:
                    wanted.append((consultation_id, member_id, room, None))
                elif room in outside:
                    wanted.append((consultation_id, member_id, room, outside[room] or None))
        if wanted:
            with db.engine.connect() as connection:
                counts = dict(connection.execute(
                    sa.select(ChatMember.id, _unread_query().scalar_subquery())
                    .where(ChatMember.id.in_([member_id for _c, member_id, _r, _s in wanted]))
                ).all())
            for consultation_id, member_id, room, skip in wanted:
                data = {"chat": consultation_id, "unread": counts.get(member_id, 0)}
                if closed:
                    data["closed"] = True
                emit("unread", data, room, skip_sid=skip)
        if closed:
            for consultation_id in members:
                emit("closed", {"chat": consultation_id}, chat_room(consultation_id))

    return broadcast
