"""What new messages tell the sockets once committed: the messages, the moved read
marks, the unread counters, a closed chat."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from core.db import db
from core.models import Consultation
from core.tx import after_commit
from plugins.chat.models import Chat, ChatMember
from plugins.chat.rooms import NAMESPACE, chat_room, emit, member_room
from plugins.chat.unread import unread_query


def broadcast_after_commit(chat: Chat, consultation: Consultation, payloads: list[dict], closed: bool = False,
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
                    sa.select(ChatMember.id, unread_query().scalar_subquery())
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
