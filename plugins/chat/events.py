"""Socket.IO namespace ``/chat``: every event is authorised on its own (SPEC D7, P3, P4).

The client protocol:
- ``join {chat, after}`` → the chat's state and the messages after ``after`` (a replay
  after a reconnect) or the latest page; the socket then receives ``message``, ``read``,
  ``closed`` of the chat.
- ``send {chat, client_id, text}`` → ``{ok, message}``; a resend with the same
  ``client_id`` returns the stored message and stores nothing. The sending socket has the
  message in this acknowledgement and not again as ``message``; the sender's other tabs
  get it as everyone else does.
- ``history {chat, before}``, ``read {chat, seq}``, ``leave {chat}``.
Every tab of a user also receives ``unread {chat, unread}`` for all their chats (with
``closed`` when the chat has just closed; a tab with the chat itself open may be spared
them for new messages, as it shows them), and ``session_ended`` when the login is over.
On connecting, a tab gets ``counts {unread: {chat: n}, closed: [chat]}``: the unread
numbers of all its user's chats that have any, and which of the chats it named in the
connection's ``auth`` (``{chats: [ids]}``, a list page's items) are closed.
"""

from __future__ import annotations

import functools
import logging

from flask import current_app, request
from flask_babel import gettext as _
from flask_socketio import disconnect, join_room, leave_room
from werkzeug.exceptions import HTTPException, Unauthorized

from core.errors import UserError

from core.access import current_principal, require
from core.db import db
from core.realtime import Namespace
from plugins.chat import grouped, sessions
from plugins.chat.chats import ensure_member, open_for, parse_seq
from plugins.chat.history import history
from plugins.chat.rooms import NAMESPACE, chat_room, emit, login_room, personal_rooms
from plugins.chat.unread import asked_chats, counts_of, mark_read, read_marks

log = logging.getLogger(__name__)


def _answer_errors(handler):
    """An unexpected failure still answers the event, so the client retries at once."""

    @functools.wraps(handler)
    def wrapper(self, *args):
        try:
            return handler(self, *args)
        except (HTTPException, UserError):
            raise  # the core turns these into a refusal with their message
        except Exception:
            log.exception("chat event %s failed", handler.__name__)
            db.session.rollback()
            return {"ok": False, "status": 500, "error": _("Не удалось выполнить действие, повторите попытку")}

    return wrapper


class ChatNamespace(Namespace):
    def event_consultation_id(self, event, *args):
        data = args[0] if args else None
        return data.get("chat") if isinstance(data, dict) else None  # a chat is its consultation's

    def event_principal(self, event):
        if event == "connect":
            return None
        connection = sessions.connections().get(request.sid)
        return connection.principal if connection is not None else None

    def _principal(self):
        """The principal of a live login; a revoked or expired one is disconnected."""
        token = sessions.current_token()
        registry = sessions.connections()
        if token is None or registry.is_revoked(token) or sessions.login_expired():
            disconnect()
            raise Unauthorized()
        principal = current_principal()
        require("chat.connect", None, principal)
        return principal

    def _data(self, data) -> dict:
        return data if isinstance(data, dict) else {}

    def on_connect(self, auth=None):
        principal = self._principal()
        token = sessions.current_token()
        rooms = personal_rooms(principal)
        for room in rooms:
            join_room(room)
        join_room(login_room(token))
        registry = sessions.connections()
        registry.add(
            sessions.Connection(
                sid=request.sid, token=token, kind=principal.kind, principal_id=principal.id,
                issued_at=int(sessions.session.get(sessions.ISSUED_KEY) or 0), principal=principal,
                rooms=set(rooms),
            )
        )
        registry.start_sweeper(current_app._get_current_object())
        # After joining the personal rooms: whatever changes from now on comes as `unread`.
        asked = asked_chats(auth.get("chats") if isinstance(auth, dict) else None)
        emit("counts", counts_of(principal, asked), request.sid)
        db.session.rollback()  # end the read transaction: the connection lives long

    def on_disconnect(self, reason=None):
        sessions.connections().remove(request.sid)

    @_answer_errors
    def on_join(self, data=None):
        data = self._data(data)
        principal = self._principal()
        chat, consultation = open_for(data.get("chat"), principal)
        after = parse_seq(data.get("after"), "after")
        # Join first, then read: a message stored in between is both replayed and
        # broadcast, and the client drops the duplicate by its sequence number.
        join_room(chat_room(consultation.id))
        connection = sessions.connections().get(request.sid)
        if connection is not None:
            connection.chats.add(consultation.id)
        member = ensure_member(chat, consultation, principal)
        messages, more = history(chat, consultation, after=after)
        state = {
            "ok": True,
            "chat": consultation.id,
            "closed": chat.is_closed,
            "last_seq": chat.last_seq,
            "my_read_seq": member.last_read_seq,
            "read": read_marks(chat),
            "side": member.side,
            "member": member.id,
            "messages": messages,
            "more": more,
        }
        db.session.commit()
        return state

    @_answer_errors
    def on_leave(self, data=None):
        data = self._data(data)
        principal = self._principal()
        chat, consultation = open_for(data.get("chat"), principal)
        leave_room(chat_room(consultation.id))
        connection = sessions.connections().get(request.sid)
        if connection is not None:
            connection.chats.discard(consultation.id)
        return {"ok": True}

    @_answer_errors
    def on_send(self, data=None):
        data = self._data(data)
        principal = self._principal()
        message, created = grouped.post_text(
            data.get("chat"), principal, data.get("client_id"), data.get("text"), sid=request.sid
        )
        return {"ok": True, "message": message, "duplicate": not created}

    @_answer_errors
    def on_history(self, data=None):
        data = self._data(data)
        principal = self._principal()
        chat, consultation = open_for(data.get("chat"), principal)
        before = parse_seq(data.get("before"), "before")
        after = parse_seq(data.get("after"), "after")
        messages, more = history(chat, consultation, before=before, after=after)
        db.session.rollback()
        return {"ok": True, "messages": messages, "more": more}

    @_answer_errors
    def on_read(self, data=None):
        data = self._data(data)
        principal = self._principal()
        result = mark_read(data.get("chat"), principal, data.get("seq"))
        return {"ok": True, **result}


def namespace() -> ChatNamespace:
    return ChatNamespace(NAMESPACE)
