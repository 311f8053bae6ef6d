"""Socket.IO namespace ``/video``: every event is authorised on its own (SPEC D8, P5).

Client → server (each answers ``{ok: true, ...}`` or ``{ok: false, status, error}``, the
error in Russian; every payload names ``consultation_id``):
``call`` (ring the patient), ``enter`` (wait in the room without calling), ``status``,
``join {participant?}`` (accept, join, or rejoin after a reconnect: host, mute and pause
are restored from the server), ``decline``, ``leave``, ``signal {to, data}`` (offer,
answer, ICE; only to a participant of the same call), ``ice`` (fresh ICE servers and
the media backend's part: a Janus room's address, PIN and tokens),
``transfer {to}``, ``return_host``, ``mute {to}``, ``set {muted?, paused?, camera_off?}`` (own switches),
``message {client_id, text}``, ``stats {rtt_ms, jitter_ms, loss, fps, setup_ms?}``,
``board_op {client_id, kind, data}`` (one operation on «Доска»; ``clear`` only for the
host; answers the stored operation with its number), ``board_sync {after}`` (the
operations numbered after ``after``: the replay).
Server → client: ``ringing``, ``ring_over`` (answered, or unanswered while the doctor
waits in the room: the popups close), ``call_over``, ``state``, ``signal {from, data}``,
``message``, ``board_op``, ``muted``, ``files_changed``, ``removed`` (out of the room: access
lost or the consultation closed), ``session_ended``.
"""

from __future__ import annotations

import functools
import logging

from flask import request
from flask_babel import lazy_gettext as _l
from flask_socketio import join_room, leave_room

from core.access import current_principal, require
from core.db import db
from core.errors import Conflict, UserError
from core.realtime import Namespace, login_session_id
from plugins.video import board, calls, connections, media, quality, rooms
from plugins.video.rooms import NAMESPACE

log = logging.getLogger(__name__)


def _answer(handler):
    """Commit on success; anything unexpected still answers (never a bare 500)."""

    @functools.wraps(handler)
    def wrapper(self, data=None, *rest):
        try:
            result = handler(self, data if isinstance(data, dict) else {})
            db.session.commit()
            return {"ok": True, **(result or {})}
        except UserError:
            raise
        except Exception as error:
            from werkzeug.exceptions import HTTPException

            if isinstance(error, HTTPException):
                raise
            log.exception("video event %s failed", handler.__name__)
            db.session.rollback()
            return {"ok": False, "status": 500, "error": str(_l("Не удалось выполнить действие, повторите попытку"))}

    return wrapper


class VideoNamespace(Namespace):
    def event_principal(self, event: str):
        """The principal the socket connected as, renewed by the re-check
        (``plugins.video.connections``); its login is watched by ``core.sessions``."""
        if event in ("connect", "disconnect"):
            return None
        entry = connections.registry().get(request.sid)
        return entry.principal if entry is not None else None

    def _room(self, data: dict):
        """The caller, the consultation, its live call and the caller's place in it.

        The consultation is read afresh and asked ``video.join`` of ``core.access`` on
        every event; the call and the place are the ones this socket joined, confirmed by
        one query (in the room, the call live), else looked up as on a first join."""
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal)
        entry = connections.registry().get(request.sid)
        if entry is not None and entry.consultation_id == consultation.id and entry.participant_id is not None:
            found = calls.still_in_room(consultation, principal, entry.call_id, entry.participant_id)
            if found is not None:
                return (principal, consultation, *found)
        call = calls.live_call(consultation)
        me = calls.participant_of(call, principal, consultation) if call is not None else None
        if call is None or me is None or not me.in_room:
            raise Conflict(_l("Вы не в видеоконсультации"))
        return principal, consultation, call, me

    def on_connect(self, auth=None):
        principal = require("video.connect")
        for room in rooms.personal_rooms(principal):
            join_room(room)
        connections.registry().add(request.sid, principal, login_session_id())
        connections.start_sweeper()
        # A tab opened while the doctor is calling shows the popup at once.
        for ringing in calls.ringing_for(principal):
            self.socketio.emit("ringing", ringing, to=request.sid, namespace=NAMESPACE)
        db.session.rollback()

    def on_disconnect(self, reason=None):
        entry = connections.registry().remove(request.sid)
        if entry is not None and entry.call_id is not None:
            connections.dropped(entry)

    @_answer
    def on_status(self, data):
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal, "video.view")
        call = calls.live_call(consultation) if not consultation.is_closed else None
        if call is None:
            return {"call": None}
        return {"call": {"id": call.id, "status": call.status,
                         "waiting": any(p.in_room and p.side == "staff" for p in call.participants),
                         "url": rooms.call_url(consultation.id)}}

    @_answer
    def on_call(self, data):
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal, "video.start")
        call, _new = calls.start(consultation, principal, ring=True)
        return {"call": call.id, "url": rooms.call_url(consultation.id)}

    @_answer
    def on_enter(self, data):
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal, "video.start")
        call, _new = calls.start(consultation, principal, ring=False)
        return {"call": call.id, "url": rooms.call_url(consultation.id)}

    @_answer
    def on_join(self, data):
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal)
        call, me = calls.join(consultation, principal, request.sid)
        join_room(rooms.call_room(call.id))
        connections.registry().entered(request.sid, consultation.id, call.id, me.id)
        rooms.announce(call)
        return {"state": rooms.state_of(call), "me": me.id, "media": media.client_config(call, me)}

    @_answer
    def on_decline(self, data):
        principal = current_principal()
        consultation = calls.consultation_for(data.get("consultation_id"), principal)
        call = calls.decline(consultation, principal)
        return {"call": call.id}

    @_answer
    def on_leave(self, data):
        principal, consultation, call, me = self._room(data)
        calls.leave(call, me, principal)
        leave_room(rooms.call_room(call.id))
        connections.registry().entered(request.sid, None, None, None)
        if call.is_live:
            rooms.announce(call)
        return {}

    @_answer
    def on_signal(self, data):
        principal, consultation, call, me = self._room(data)
        target = calls.require_member(call, data.get("to"))
        payload = data.get("data")
        if target.id == me.id or not isinstance(payload, dict) or target.sid is None:
            raise Conflict(_l("Участник недоступен"))
        self.socketio.emit("signal", {"from": me.id, "data": payload, "consultation_id": consultation.id},
                          to=target.sid, namespace=NAMESPACE)
        db.session.rollback()
        return {}

    @_answer
    def on_ice(self, data):
        principal, consultation, call, me = self._room(data)
        return {"media": media.client_config(call, me)}

    @_answer
    def on_transfer(self, data):
        principal, consultation, call, me = self._room(data)
        calls.transfer_host(call, me, data.get("to"), principal)
        rooms.announce(call)
        return {}

    @_answer
    def on_return_host(self, data):
        principal, consultation, call, me = self._room(data)
        calls.return_host(call, me, principal)
        rooms.announce(call)
        return {}

    @_answer
    def on_mute(self, data):
        principal, consultation, call, me = self._room(data)
        target = calls.mute(call, me, data.get("to"), principal)
        if target.sid:
            rooms.emit_after_commit("muted", {"consultation_id": consultation.id, "by": me.name}, target.sid)
        rooms.announce(call)
        return {}

    @_answer
    def on_set(self, data):
        principal, consultation, call, me = self._room(data)
        calls.set_own(me, muted=data.get("muted"), paused=data.get("paused"), camera_off=data.get("camera_off"))
        rooms.announce(call)
        return {"muted": me.muted, "paused": me.paused, "camera_off": me.camera_off}

    @_answer
    def on_message(self, data):
        principal, consultation, call, me = self._room(data)
        message, created = calls.post_message(call, me, data.get("client_id"), data.get("text"))
        payload = {"consultation_id": consultation.id, "id": message.id, "client_id": message.client_id,
                   "name": message.name, "text": message.text, "at": message.created_at.isoformat(),
                   "from": me.id}
        if created:
            rooms.emit_after_commit("message", payload, rooms.call_room(call.id), skip_sid=request.sid)
        return {"message": payload}

    @_answer
    def on_board_op(self, data):
        principal, consultation, call, me = self._room(data)
        op, created = board.append(call, me, principal, data.get("client_id"), data.get("kind"), data.get("data"))
        if created:
            rooms.emit_after_commit("board_op", {"consultation_id": consultation.id, "op": op},
                                    rooms.call_room(call.id), skip_sid=request.sid)
        return {"op": op}

    @_answer
    def on_board_sync(self, data):
        principal, consultation, call, me = self._room(data)
        board.require_draw(me, principal)
        answer = board.ops_after(call, data.get("after", 0))
        db.session.rollback()
        return answer

    @_answer
    def on_stats(self, data):
        principal, consultation, call, me = self._room(data)
        return quality.record(call, me, data)


def namespace() -> VideoNamespace:
    return VideoNamespace(NAMESPACE)
