"""What clients are sent of the messages: one message, a page of the history, the
page the chat window opens with."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _

from core import params
from core.db import db
from core.models import Consultation, Document, Outcome
from plugins.chat.models import Chat, ChatMember, ChatMessage
from plugins.chat.unread import first_unread_seq

PAGE_SIZE = 50
REPLAY_LIMIT = 500


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
