"""Read marks and unread counts: the blue circle of the lists and the «прочитано» of
the messages (SPEC P3)."""

from __future__ import annotations

import sqlalchemy as sa

from core.access import Principal
from core.db import db
from core.models import Consultation
from core.tx import after_commit
from plugins.chat.chats import ensure_member, open_for, parse_seq, writing
from plugins.chat.models import Chat, ChatMember, ChatMessage
from plugins.chat.rooms import chat_room, emit, member_room


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
def unread_query():
    return (
        sa.select(sa.func.count(ChatMessage.id))
        .where(ChatMessage.chat_id == ChatMember.chat_id, ChatMessage.seq > ChatMember.last_read_seq)
        .where(ChatMessage.sender_member_id != ChatMember.id)
    )


def _not_read_by(member: ChatMember):
    """The messages of a loaded member's chat that they have not read (as ``unread_query``)."""
    return sa.and_(
        ChatMessage.chat_id == member.chat_id,
        ChatMessage.seq > member.last_read_seq,
        ChatMessage.sender_member_id != member.id,
    )


def _unread_of(member: ChatMember) -> int:
    return db.session.scalar(sa.select(sa.func.count(ChatMessage.id)).where(_not_read_by(member)))


def first_unread_seq(member: ChatMember) -> int | None:
    """The first message the member has not read, counted as the circle counts them."""
    return db.session.scalar(sa.select(sa.func.min(ChatMessage.seq)).where(_not_read_by(member)))


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
