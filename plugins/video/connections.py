"""This process's /video sockets: who they are, which call they are in, the re-check.

Every event asks ``core.access`` itself, with the consultation read afresh and the
principal the socket connected as (``Entry.principal``: loading the person, their roles
and their wards again for each offer and candidate was most of an event's work). That
principal is renewed every ``VIDEO_RECHECK_SECONDS``, when each socket's person is loaded
afresh and asked ``video.join`` for the call it is in: a participant removed from the
consultation, a deactivated user or a closed consultation leaves the room within seconds
(and a removed participant or a closed consultation is refused by the very next event). A logout drops the user's sockets at once; so does the
end of the login session noticed anywhere else (another web process's logout, a password
or role change, a timeout: ``core.sessions`` disconnects the socket and the participant
leaves at once, without the reconnect grace). A dropped socket keeps its place for
``VIDEO_RECONNECT_SECONDS``, so a reconnect with the same participant keeps host, mute
and pause.

The background tasks wait on a stop event (``plugins.video.tasks``), so ``stop`` ends
them all at once (a web process shutting down, the end of a test).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app

from core.access import Principal, can, principal_for_account, principal_for_user
from core.db import db
from core.models import Consultation, PortalAccount, User
from core.realtime import login_session_over
from plugins.video import tasks

log = logging.getLogger(__name__)


@dataclass
class Entry:
    sid: str
    kind: str
    person_id: int
    consultation_id: int | None = None
    call_id: int | None = None
    participant_id: int | None = None
    session_id: str | None = None
    principal: Principal | None = None  # as of the connection or the last re-check


class Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_sid: dict[str, Entry] = {}
        self.sweeping = False

    def add(self, sid: str, principal: Principal, session_id: str | None = None) -> None:
        with self.lock:
            self.by_sid[sid] = Entry(sid, principal.kind, principal.id, session_id=session_id, principal=principal)

    def get(self, sid: str) -> Entry | None:
        with self.lock:
            return self.by_sid.get(sid)

    def renewed(self, sid: str, principal: Principal) -> None:
        with self.lock:
            entry = self.by_sid.get(sid)
            if entry is not None:
                entry.principal = principal

    def remove(self, sid: str) -> Entry | None:
        with self.lock:
            return self.by_sid.pop(sid, None)

    def entered(self, sid: str, consultation_id, call_id, participant_id) -> None:
        with self.lock:
            entry = self.by_sid.get(sid)
            if entry is not None:
                entry.consultation_id, entry.call_id, entry.participant_id = consultation_id, call_id, participant_id

    def snapshot(self) -> list[Entry]:
        with self.lock:
            return list(self.by_sid.values())

    def of_person(self, kind: str, person_id: int) -> list[Entry]:
        with self.lock:
            return [e for e in self.by_sid.values() if e.kind == kind and e.person_id == person_id]


def registry(app: Flask | None = None) -> Registry:
    app = app or current_app
    found = app.extensions.get("video.connections")
    if found is None:
        found = app.extensions["video.connections"] = Registry()
    return found


def stop(app: Flask, timeout: float = 10.0) -> None:
    """End this process's video background tasks and forget its sockets: what a
    shutting-down process (or a test reusing the app) does. The next socket starts afresh."""
    app.extensions.pop("video.connections", None)
    tasks.stop(app, timeout)


def start_sweeper() -> None:
    app = current_app._get_current_object()
    found = registry(app)
    with found.lock:
        if found.sweeping:
            return
        found.sweeping = True
    tasks.of(app).spawn(app, _sweep_forever, app, found, tasks.of(app))


def _principal(kind: str, person_id: int) -> Principal | None:
    if kind == "staff":
        user = db.session.get(User, person_id)
        return principal_for_user(user) if user is not None and user.is_active else None
    account = db.session.get(PortalAccount, person_id)
    return principal_for_account(account) if account is not None else None


def _out_of_call(app: Flask, entry: Entry) -> None:
    """Out of the call and its room (in an app context, commits); the socket stays."""
    from plugins.video import calls, rooms
    from plugins.video.models import VideoCall, VideoParticipant

    socketio = app.extensions["socketio"]
    if entry.participant_id is not None:
        participant = db.session.get(VideoParticipant, entry.participant_id)
        call = db.session.get(VideoCall, entry.call_id)
        if participant is not None and call is not None and participant.sid == entry.sid:
            calls.leave(call, participant, None)
            if call.is_live:
                rooms.announce(call)
            db.session.commit()
        socketio.server.leave_room(entry.sid, rooms.call_room(entry.call_id), namespace=rooms.NAMESPACE)
        socketio.emit("removed", {"consultation_id": entry.consultation_id}, to=entry.sid, namespace=rooms.NAMESPACE)
    registry(app).entered(entry.sid, None, None, None)


def _remove(app: Flask, entry: Entry) -> None:
    """The login is over: out of the call, and the socket is disconnected."""
    from plugins.video import rooms

    _out_of_call(app, entry)
    socketio = app.extensions["socketio"]
    socketio.emit("session_ended", {}, to=entry.sid, namespace=rooms.NAMESPACE)
    try:
        socketio.server.disconnect(entry.sid, namespace=rooms.NAMESPACE)
    except Exception:
        log.debug("socket %s already gone", entry.sid)
    registry(app).remove(entry.sid)


def session_over(entry: Entry) -> bool:
    """Whether the login session the socket connected with has ended (in an app context)."""
    if entry.session_id is None:
        return False
    return login_session_over(entry.session_id)


def recheck(app: Flask) -> None:
    """One pass over this process's sockets (also called by tests)."""
    with app.app_context():
        try:
            for entry in registry(app).snapshot():
                principal = _principal(entry.kind, entry.person_id)
                if principal is None or session_over(entry) or not can("video.connect", None, principal):
                    _remove(app, entry)
                    continue
                registry(app).renewed(entry.sid, principal)
                if entry.consultation_id is None:
                    continue
                consultation = db.session.get(Consultation, entry.consultation_id)
                if consultation is None or not can("video.join", consultation, principal):
                    _out_of_call(app, entry)
            db.session.commit()
        finally:
            db.session.remove()


def _sweep_forever(app: Flask, found: Registry, running: tasks.Tasks) -> None:
    while True:
        if running.wait(app.config["VIDEO_RECHECK_SECONDS"]):
            return
        with found.lock:
            if not found.by_sid:
                found.sweeping = False
                return
        try:
            recheck(app)
        except Exception:
            log.exception("video connection re-check failed")


def dropped(entry: Entry) -> None:
    """A socket went: a login that is over leaves the call at once; a mere drop leaves it
    unless the same participant is back within ``VIDEO_RECONNECT_SECONDS``."""
    app = current_app._get_current_object()
    if session_over(entry):
        _leave_now(app, entry)
        return
    running = tasks.of(app)
    running.spawn(app, _leave_later, app, running, entry)


def _leave_later(app: Flask, running: tasks.Tasks, entry: Entry) -> None:
    if running.wait(app.config["VIDEO_RECONNECT_SECONDS"]):
        return
    _leave_now(app, entry)


def _leave_now(app: Flask, entry: Entry) -> None:
    with app.app_context():
        try:
            from plugins.video import calls, rooms
            from plugins.video.models import VideoCall, VideoParticipant

            participant = db.session.get(VideoParticipant, entry.participant_id)
            call = db.session.get(VideoCall, entry.call_id)
            if participant is not None and call is not None and participant.sid == entry.sid:
                calls.leave(call, participant, None)
                if call.is_live:
                    rooms.announce(call)
                db.session.commit()
        except Exception:
            log.exception("leaving call %s after a drop failed", entry.call_id)
            db.session.rollback()
        finally:
            db.session.remove()


def on_logout(sender, user=None, **extra) -> None:
    """flask_login.user_logged_out: the user's sockets in this process leave at once."""
    app = current_app._get_current_object()
    if "video" not in app.extensions["teleconsult.pm"].info or user is None:
        return
    kind = "staff" if isinstance(user, User) else "patient"
    for entry in registry(app).of_person(kind, user.id):
        _remove(app, entry)
