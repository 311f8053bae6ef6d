"""Who hears what on ``/video``: rooms, after-commit emits, the ring timer.

Rooms: ``video:call:<id>`` holds the sockets of the participants in the room;
``video:staff:<user>`` and ``video:person:<patient>`` every tab of a person, so that the
popup «Врач … вызывает вас» shows in all of them (SPEC P5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

from core.db import db
from core.models import Consultation
from core.tx import after_commit
from plugins.video import tasks
from plugins.video.models import VideoCall, VideoParticipant

log = logging.getLogger(__name__)

NAMESPACE = "/video"


def call_room(call_id: int) -> str:
    return f"video:call:{call_id}"


def staff_room(user_id: int) -> str:
    return f"video:staff:{user_id}"


def person_room(patient_id: int) -> str:
    return f"video:person:{patient_id}"


def personal_rooms(principal) -> list[str]:
    if principal.is_staff:
        return [staff_room(principal.id)]
    return [person_room(pid) for pid in sorted(principal.patient_ids)]


def emit_after_commit(event: str, data, to: str, skip_sid: str | None = None) -> None:
    socketio = current_app.extensions["socketio"]
    after_commit(lambda: socketio.emit(event, data, to=to, namespace=NAMESPACE, skip_sid=skip_sid))


def participant_view(participant: VideoParticipant, call: VideoCall) -> dict:
    return {
        "id": participant.id,
        "name": participant.name,
        "side": participant.side,
        "host": call.host_participant_id == participant.id,
        "owner": call.owner_participant_id == participant.id,
        "muted": participant.muted,
        "paused": participant.paused,
        "camera_off": participant.camera_off,
        "in_room": participant.in_room,
    }


def state_of(call: VideoCall) -> dict:
    return {
        "call": call.id,
        "consultation_id": call.consultation_id,
        "status": call.status,
        "host": call.host_participant_id,
        "media": call.media or "p2p",
        "started_at": (call.accepted_at or call.created_at).isoformat(),
        "participants": [participant_view(p, call) for p in call.participants if p.in_room],
    }


def announce(call: VideoCall) -> None:
    """Everyone in the room gets the room's state after the commit."""
    db.session.flush()
    db.session.refresh(call)
    emit_after_commit("state", state_of(call), call_room(call.id))


def ring(call: VideoCall, consultation: Consultation, caller, miss: Callable[[int], bool]) -> None:
    """Every tab of the patient (and of the representative) shows the popup; the ring
    timer turns the call into a missed one with ``miss(call_id)`` (``calls.miss``)."""
    data = {"consultation_id": consultation.id, "call": call.id, "doctor": caller.name,
            "title": consultation.title, "url": call_url(consultation.id), "check_url": check_url(consultation.id),
            "assets": room_assets()}
    for patient_id in {consultation.patient_id, consultation.representative_id} - {None}:
        emit_after_commit("ringing", data, person_room(patient_id))
    app = current_app._get_current_object()
    seconds, running = app.config["VIDEO_RING_SECONDS"], tasks.of(app)
    after_commit(lambda: running.spawn(app, _ring_timer, app, running, call.id, seconds, miss))


def call_url(consultation_id: int) -> str:
    from flask import url_for

    return url_for("video.room", consultation_id=consultation_id)


def check_url(consultation_id: int) -> str:
    """The pre-call check «Проверка связи» of the consultation."""
    from flask import url_for

    return url_for("video_check.page", consultation_id=consultation_id)


def room_assets() -> list[str]:
    """The call window's scripts and style, in the order the page loads them; a ringing
    popup has the browser fetch them before «Принять» is pressed."""
    from flask import url_for

    return [url_for("video.vendor", filename="socket.io.min.js"), url_for("video.vendor", filename="adapter.js"),
            url_for("video.static", filename="video/mesh.js"), url_for("video.static", filename="video/janus.js"),
            url_for("video.static", filename="video/room.js"),
            url_for("video.static", filename="video/video.css")]


def _ring_timer(app, running, call_id: int, seconds: float, miss: Callable[[int], bool]) -> None:
    if running.wait(seconds + 0.2):
        return  # stopped: a later request's ``expire_overdue`` still turns it missed
    with app.app_context():
        try:
            if miss(call_id):
                db.session.commit()
        except Exception:
            log.exception("ring timeout of call %s failed", call_id)
            db.session.rollback()
        finally:
            db.session.remove()


def ring_over(call: VideoCall, consultation: Consultation, status: str) -> None:
    """The ringing ended but the call goes on (answered, or unanswered while the doctor
    waits in the room): the popups close; the room hears why."""
    data = {"consultation_id": consultation.id, "call": call.id, "status": status}
    for patient_id in {consultation.patient_id, consultation.representative_id} - {None}:
        emit_after_commit("ring_over", data, person_room(patient_id))
    emit_after_commit("ring_over", data, call_room(call.id))


def call_over(call: VideoCall, consultation: Consultation) -> None:
    """The call ended (missed, declined, hung up, consultation closed): popups close,
    the room is told and emptied."""
    data = {"consultation_id": consultation.id, "call": call.id, "status": call.status}
    for patient_id in {consultation.patient_id, consultation.representative_id} - {None}:
        emit_after_commit("call_over", data, person_room(patient_id))
    if call.caller_user_id:
        emit_after_commit("call_over", data, staff_room(call.caller_user_id))
    emit_after_commit("call_over", data, call_room(call.id))
    socketio = current_app.extensions["socketio"]
    room = call_room(call.id)
    after_commit(lambda: socketio.close_room(room, namespace=NAMESPACE))
