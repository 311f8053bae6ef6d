"""The state of calls: ringing, accepting, joining, the host, mute and pause (SPEC D8, P5).

Every function runs in the caller's transaction and leaves the commit to it; what the
clients must hear is queued with ``plugins.video.rooms`` and sent after the commit.
The host is claimed and handed over by conditional UPDATEs of the call row, so
concurrent requests can never leave two hosts or none while staff are in the room.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import NotFound

from core import audit, params
from core.access import Principal, require
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput, UserError
from core.models import Consultation
from core.plugins import hooks_for
from plugins.video import media, rooms
from plugins.video.models import VideoCall, VideoMessage, VideoParticipant

MESSAGE_MAX = 1000


class NotHost(UserError):
    status = 403


def consultation_for(consultation_id, principal: Principal, action: str = "video.join") -> Consultation:
    """The consultation named by the client, if ``principal`` may do ``action`` in it."""
    consultation_id = params.to_id(consultation_id)
    if consultation_id is None:
        raise InvalidInput(_l("Не указана консультация"))
    # Only the row: the rules read its columns and participants, and most events need no
    # more (the type, profile, patient and consultant load when something asks for them).
    consultation = db.session.scalar(
        sa.select(Consultation).options(lazyload("*")).where(Consultation.id == consultation_id)
    )
    if consultation is None:
        raise NotFound()
    require("video.view", consultation, principal)
    if consultation.is_closed and action != "video.view":
        raise Conflict(_l("Консультация завершена: видеосвязь недоступна"))
    require(action, consultation, principal)
    return consultation


def live_call(consultation: Consultation) -> VideoCall | None:
    expire_overdue(consultation.id)
    return db.session.scalar(
        sa.select(VideoCall).where(VideoCall.consultation_id == consultation.id, VideoCall.status.in_(VideoCall.LIVE))
        .order_by(VideoCall.id.desc())
    )


def expire_overdue(consultation_id: int) -> list[int]:
    """Ringing calls past their time become missed (also done by the ring timer)."""
    overdue = list(db.session.scalars(
        sa.select(VideoCall.id).where(
            VideoCall.consultation_id == consultation_id, VideoCall.status == VideoCall.RINGING,
            VideoCall.ring_until < utcnow(),
        )
    ))
    return [call_id for call_id in overdue if miss(call_id)]


def still_in_room(consultation: Consultation, principal: Principal, call_id: int,
                  participant_id: int) -> tuple[VideoCall, VideoParticipant] | None:
    """The call and the place a socket joined, in one query, if the place is still this
    principal's, in the room, and the call still live (a ringing one within its time)."""
    person = _person(principal, consultation)
    mine = (VideoParticipant.user_id == person["user_id"] if "user_id" in person
            else VideoParticipant.patient_id == person["patient_id"])
    row = db.session.execute(
        sa.select(VideoCall, VideoParticipant).join(VideoParticipant, VideoParticipant.call_id == VideoCall.id)
        .where(VideoCall.id == call_id, VideoCall.consultation_id == consultation.id,
               VideoCall.status.in_(VideoCall.LIVE),
               sa.or_(VideoCall.status != VideoCall.RINGING, VideoCall.ring_until >= utcnow()),
               VideoParticipant.id == participant_id, mine,
               VideoParticipant.joined_at.is_not(None), VideoParticipant.left_at.is_(None))
    ).first()
    return (row[0], row[1]) if row is not None else None


def _person(principal: Principal, consultation: Consultation) -> dict:
    if principal.is_staff:
        return {"user_id": principal.id}
    # The consultation's representative (a guardian with the child) enters as a person of
    # their own, beside the child's own account: both may be in the room at once.
    if consultation.representative_id is not None and consultation.representative_id in principal.patient_ids:
        return {"patient_id": consultation.representative_id}
    return {"patient_id": consultation.patient_id}


def participant_of(call: VideoCall, principal: Principal, consultation: Consultation) -> VideoParticipant | None:
    person = _person(principal, consultation)
    return db.session.scalar(
        sa.select(VideoParticipant).where(
            VideoParticipant.call_id == call.id,
            VideoParticipant.user_id == person.get("user_id") if "user_id" in person
            else VideoParticipant.patient_id == person["patient_id"],
        )
    )


def start(consultation: Consultation, principal: Principal, ring: bool) -> tuple[VideoCall, bool]:
    """The doctor calls («Видеозвонок», ``ring``) or enters the room («Войти в ВКС»).
    Returns the live call (a new one or the one already going) and whether it is new."""
    require("video.start", consultation, principal)
    call = live_call(consultation)
    if call is not None:
        if ring and call.status == VideoCall.ACTIVE and not call.rang:
            _ring(call)  # the doctor waited in the room and now calls the patient
            rooms.ring(call, consultation, principal, miss)
        return call, False
    call = VideoCall(consultation_id=consultation.id, caller_user_id=principal.id, live_key=consultation.id,
                     status=VideoCall.RINGING if ring else VideoCall.ACTIVE, media=media.initial(consultation))
    if ring:
        _ring(call)
    try:
        with db.session.begin_nested():
            db.session.add(call)
            db.session.flush()
            # One live call per consultation: the partial unique index refuses a second.
    except sa.exc.IntegrityError:
        call = live_call(consultation)
        if call is None:
            raise Conflict(_l("Звонок уже начат, повторите попытку")) from None
        return call, False
    audit.record("video.started", call, consultation_id=consultation.id, principal=principal,
                 data={"ring": ring})
    if ring:
        rooms.ring(call, consultation, principal, miss)
    return call, True


def _ring(call: VideoCall) -> None:
    call.rang = True
    call.ring_until = utcnow() + timedelta(seconds=current_app.config["VIDEO_RING_SECONDS"])


def _finish(call_id: int, from_status: tuple[str, ...], to_status: str, *conditions) -> bool:
    result = db.session.execute(
        sa.update(VideoCall).where(VideoCall.id == call_id, VideoCall.status.in_(from_status), *conditions)
        .values(status=to_status, ended_at=utcnow(), live_key=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def miss(call_id: int) -> bool:
    """Nobody answered in time: the call is missed, and the chat says so."""
    # Only once its ringing time is over: a timer never ends a call rung later.
    ended = _finish(call_id, (VideoCall.RINGING,), VideoCall.MISSED, VideoCall.ring_until <= utcnow())
    # A doctor waiting in the room who rang: the ringing stops, the room stays open.
    stopped = not ended and db.session.execute(
        sa.update(VideoCall).where(VideoCall.id == call_id, VideoCall.status == VideoCall.ACTIVE,
                                   VideoCall.ring_until <= utcnow())
        .values(ring_until=None).execution_options(synchronize_session="fetch")
    ).rowcount == 1
    if not (ended or stopped):
        return False
    call = db.session.get(VideoCall, call_id)
    db.session.refresh(call)
    consultation = db.session.get(Consultation, call.consultation_id)
    from core.access import SYSTEM

    audit.record("video.missed", call, consultation_id=consultation.id, principal=SYSTEM)
    _notice(consultation, "video_missed", _l("Пропущенный видеозвонок от врача %(name)s", name=_caller_name(call)))
    if ended:
        rooms.call_over(call, consultation)
    else:
        rooms.ring_over(call, consultation, "missed")
    return True


def decline(consultation: Consultation, principal: Principal) -> VideoCall:
    call = live_call(consultation)
    if call is None or call.status != VideoCall.RINGING:
        raise Conflict(_l("Звонок уже завершён"))
    if principal.is_staff:
        raise InvalidInput(_l("Отклонить звонок может только пациент"))
    if not _finish(call.id, (VideoCall.RINGING,), VideoCall.DECLINED):
        raise Conflict(_l("Звонок уже завершён"))
    db.session.refresh(call)
    audit.record("video.declined", call, consultation_id=consultation.id, principal=principal)
    _notice(consultation, "video_declined", _l("Пациент отклонил видеозвонок врача %(name)s", name=_caller_name(call)))
    rooms.call_over(call, consultation)
    return call


def _caller_name(call: VideoCall) -> str:
    from core.models import User

    user = db.session.get(User, call.caller_user_id) if call.caller_user_id else None
    return user.full_name if user else ""


def _notice(consultation: Consultation, event: str, text) -> None:
    hooks_for(consultation).teleconsult_consultation_notified(consultation=consultation, event=event, text=str(text))


def join(consultation: Consultation, principal: Principal, sid: str | None) -> tuple[VideoCall, VideoParticipant]:
    """Enter the room: a patient accepts a ringing call or joins a waiting doctor; staff
    enter a live call. The first staff member in the room becomes the host."""
    require("video.join", consultation, principal)
    call = live_call(consultation)
    if call is None:
        if not principal.is_staff:
            raise Conflict(_l("Врач сейчас не в видеоконсультации"))
        call, _new = start(consultation, principal, ring=False)
    participant = participant_of(call, principal, consultation)
    if participant is None:
        participant = VideoParticipant(call_id=call.id, name=principal.name, **_person(principal, consultation))
        try:
            with db.session.begin_nested():
                db.session.add(participant)
                db.session.flush()
        except sa.exc.IntegrityError:  # the same person's other tab came first
            participant = participant_of(call, principal, consultation)
    returning = participant.in_room
    participant.joined_at = participant.joined_at if returning else utcnow()
    participant.left_at = None
    participant.sid = sid
    if not principal.is_staff and call.status == VideoCall.RINGING:
        accepted = db.session.execute(
            sa.update(VideoCall).where(VideoCall.id == call.id, VideoCall.status == VideoCall.RINGING)
            .values(status=VideoCall.ACTIVE, accepted_at=utcnow())
            .execution_options(synchronize_session="fetch")
        ).rowcount == 1
        if accepted:
            audit.record("video.accepted", call, consultation_id=consultation.id, principal=principal)
    if not principal.is_staff and call.ring_until is not None:
        # Answered: nothing rings any more, in no tab (nor does the ring timer miss it).
        call.ring_until = None
        rooms.ring_over(call, consultation, "accepted")
    if principal.is_staff:
        claim_host(call, participant)
    db.session.refresh(call)
    # The media backend lets the participant in (a Janus room: their token is added);
    # with ``auto`` a room grown past the threshold moves to the SFU.
    if not media.upgrade_if_crowded(call):
        media.admit(call, participant)
    if not returning:
        audit.record("video.joined", call, consultation_id=consultation.id, principal=principal,
                     data={"participant": participant.id})
        from core.presence import joined, participant_for

        core_participant = participant_for(consultation, principal)
        if core_participant is not None:
            joined(consultation, core_participant, "video")
    return call, participant


def claim_host(call: VideoCall, participant: VideoParticipant) -> bool:
    """Take the empty host's place: one UPDATE, so exactly one of concurrent entrants wins."""
    won = db.session.execute(
        sa.update(VideoCall).where(VideoCall.id == call.id, VideoCall.host_participant_id.is_(None))
        .values(host_participant_id=participant.id,
                owner_participant_id=sa.func.coalesce(VideoCall.owner_participant_id, participant.id))
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    return won


def require_member(call: VideoCall, participant_id) -> VideoParticipant:
    participant_id = params.to_id(participant_id)
    participant = db.session.get(VideoParticipant, participant_id) if participant_id else None
    if participant is None or participant.call_id != call.id or not participant.in_room:
        raise InvalidInput(_l("Такого участника нет в видеоконсультации"))
    return participant


def transfer_host(call: VideoCall, me: VideoParticipant, target_id, principal: Principal) -> VideoParticipant:
    """The host hands the rights to another staff participant in the room; the old host
    is demoted by the same UPDATE (there is one host column)."""
    target = require_member(call, target_id)
    if target.user_id is None:
        raise InvalidInput(_l("Права ведущего можно передать только сотруднику"))
    moved = db.session.execute(
        sa.update(VideoCall).where(
            VideoCall.id == call.id, VideoCall.host_participant_id == me.id, VideoCall.status.in_(VideoCall.LIVE)
        ).values(host_participant_id=target.id).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not moved:
        raise NotHost(_l("Передать права может только ведущий"))
    audit.record("video.host_transferred", call, consultation_id=call.consultation_id, principal=principal,
                 data={"from": me.id, "to": target.id})
    return target


def return_host(call: VideoCall, me: VideoParticipant, principal: Principal) -> None:
    """Who was host first takes the rights back from whoever holds them now."""
    moved = db.session.execute(
        sa.update(VideoCall).where(
            VideoCall.id == call.id, VideoCall.owner_participant_id == me.id, VideoCall.status.in_(VideoCall.LIVE),
            VideoCall.host_participant_id != me.id,
        ).values(host_participant_id=me.id).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not moved:
        raise NotHost(_l("Вернуть права может только первый ведущий"))
    audit.record("video.host_transferred", call, consultation_id=call.consultation_id, principal=principal,
                 data={"to": me.id, "returned": True})


def mute(call: VideoCall, me: VideoParticipant, target_id, principal: Principal) -> VideoParticipant:
    db.session.refresh(call)
    if call.host_participant_id != me.id:
        raise NotHost(_l("Отключать микрофоны участников может только ведущий"))
    target = require_member(call, target_id)
    target.muted = True
    media.set_muted(call, target, True)  # silenced at the SFU too, not only in their browser
    audit.record("video.muted", call, consultation_id=call.consultation_id, principal=principal,
                 data={"participant": target.id})
    return target


def set_own(me: VideoParticipant, muted=None, paused=None, camera_off=None) -> None:
    """The owner's own switches: the microphone (only they unmute), the broadcast and
    the camera."""
    switches = (("muted", muted), ("paused", paused), ("camera_off", camera_off))
    for name, value in switches:
        if value is not None and not isinstance(value, bool):
            raise InvalidInput(_l("Неверное значение переключателя"))
    if muted is False and me.muted:
        media.set_muted(me.call, me, False)  # the SFU forwards their audio again
    for name, value in switches:
        if value is not None:
            setattr(me, name, value)


def leave(call: VideoCall, me: VideoParticipant, principal: Principal | None) -> None:
    """Out of the room; the host's place goes to another staff member still in it, and
    the call ends when the room is empty."""
    if not me.in_room:
        return
    me.left_at = utcnow()
    me.sid = None
    db.session.flush()
    media.remove(call, me)
    others = [p for p in call.participants if p.id != me.id and p.in_room]
    staff = [p for p in others if p.user_id is not None]
    db.session.execute(
        sa.update(VideoCall).where(VideoCall.id == call.id, VideoCall.host_participant_id == me.id)
        .values(host_participant_id=staff[0].id if staff else None).execution_options(synchronize_session=False)
    )
    from core.access import SYSTEM

    audit.record("video.left", call, consultation_id=call.consultation_id, principal=principal or SYSTEM,
                 data={"participant": me.id})
    if not others and call.status == VideoCall.ACTIVE:
        end(call, principal)
    db.session.refresh(call)


def end(call: VideoCall, principal: Principal | None) -> None:
    if not _finish(call.id, VideoCall.LIVE, VideoCall.ENDED):
        return
    db.session.refresh(call)
    for participant in call.participants:
        if participant.in_room:
            participant.left_at = utcnow()
            participant.sid = None
    from plugins.video import quality

    quality.summarise(call)
    media.close(call)  # the Janus room is destroyed after the commit
    consultation = db.session.get(Consultation, call.consultation_id)
    rooms.call_over(call, consultation)


def post_message(call: VideoCall, me: VideoParticipant, client_id, text) -> tuple[VideoMessage, bool]:
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise InvalidInput(_l("Неверный идентификатор сообщения"))
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(_l("Сообщение пустое"))
    text = text.strip()
    if len(text) > MESSAGE_MAX:
        raise InvalidInput(_l("Сообщение длиннее %(n)s символов", n=MESSAGE_MAX))
    found = db.session.scalar(sa.select(VideoMessage).where(VideoMessage.call_id == call.id,
                                                          VideoMessage.client_id == client_id))
    if found is not None:
        return found, False
    message = VideoMessage(call_id=call.id, consultation_id=call.consultation_id, participant_id=me.id,
                           name=me.name, client_id=client_id, text=text)
    db.session.add(message)
    db.session.flush()
    consultation = db.session.get(Consultation, call.consultation_id)
    _notice(consultation, "video_message", _l("Сообщение в видеоконсультации — %(name)s: %(text)s",
                                             name=me.name, text=text))
    return message, True


def ringing_for(principal: Principal) -> list[dict]:
    """The calls ringing for a patient's tab that has just connected (the popup)."""
    if not principal.is_patient or not principal.patient_ids:
        return []
    ids = list(principal.patient_ids)
    rows = db.session.execute(
        sa.select(VideoCall, Consultation).join(Consultation, Consultation.id == VideoCall.consultation_id)
        .where(VideoCall.status.in_(VideoCall.LIVE), VideoCall.rang.is_(True), VideoCall.ring_until > utcnow(),
               VideoCall.accepted_at.is_(None),
               sa.or_(Consultation.patient_id.in_(ids), Consultation.representative_id.in_(ids)))
    ).all()
    return [{"consultation_id": c.id, "call": call.id, "doctor": _caller_name(call), "title": c.title,
             "url": rooms.call_url(c.id), "check_url": rooms.check_url(c.id), "assets": rooms.room_assets()}
            for call, c in rows if not c.is_closed]


def file_shared(call: VideoCall, me: VideoParticipant, document) -> None:
    """A file uploaded in the call: the room's «Файлы» refresh."""
    rooms.emit_after_commit("files_changed", {"consultation_id": call.consultation_id, "name": document.filename,
                                              "by": me.name}, rooms.call_room(call.id))
