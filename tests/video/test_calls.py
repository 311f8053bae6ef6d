"""The /video namespace over real Socket.IO: calling, answering, the host, mute, pause,
signalling, in-call messages (SPEC D8, P5)."""

from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, Consultation
from plugins.chat.models import ChatMessage
from plugins.video.models import VideoCall, VideoMessage
from tests.video.conftest import Browser, VideoSocket, add_doctor, client_id, live_server_of, make_cast, wait_for


def _pair(server, factory, sockets):
    cast = make_cast(factory)
    doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
    patient = VideoSocket(Browser(server.url, "patient", cast.account_id))
    sockets += [doctor, patient]
    return cast, doctor, patient


def _chat_notices(consultation_id):
    from plugins.chat.models import Chat

    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(ChatMessage).join(Chat, Chat.id == ChatMessage.chat_id)
        .where(Chat.consultation_id == consultation_id, ChatMessage.kind == ChatMessage.SYSTEM)
    )
    return [m.data.get("text") for m in rows if m.data.get("event") == "notice"]


def _actions(consultation_id):
    db.session.expire_all()
    return [a for a in db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.consultation_id == consultation_id).order_by(AuditEvent.id)) if a.startswith("video.")]


def test_doctor_calls_patient_accepts_and_both_are_in_the_room(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    second_tab = VideoSocket(patient.browser)
    sockets.append(second_tab)
    answer = doctor.call("call", {"consultation_id": cast.consultation_id})
    assert answer["ok"], answer
    for tab in (patient, second_tab):  # the popup in every open tab of the patient
        ringing = wait_for(lambda tab=tab: tab.received("ringing"))
        assert ringing[0]["consultation_id"] == cast.consultation_id and ringing[0]["doctor"]
    joined = doctor.call("join", {"consultation_id": cast.consultation_id})
    assert joined["ok"] and joined["state"]["host"] == joined["me"]
    accepted = patient.call("join", {"consultation_id": cast.consultation_id})
    assert accepted["ok"], accepted
    assert accepted["state"]["status"] == "active"
    people = {p["side"]: p for p in accepted["state"]["participants"]}
    assert people["staff"]["host"] and not people["patient"]["host"]
    # The other tab's popup closes: nothing rings once the call is accepted.
    state = wait_for(lambda: [s for s in doctor.received("state") if len(s["participants"]) == 2])
    assert state
    assert _actions(cast.consultation_id)[:3] == ["video.started", "video.joined", "video.accepted"]


def test_decline_tells_the_doctor_at_once_and_leaves_a_chat_message(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    assert doctor.call("call", {"consultation_id": cast.consultation_id})["ok"]
    assert doctor.call("join", {"consultation_id": cast.consultation_id})["ok"]
    wait_for(lambda: patient.received("ringing"))
    answer = patient.call("decline", {"consultation_id": cast.consultation_id})
    assert answer["ok"], answer
    over = wait_for(lambda: doctor.received("call_over"))
    assert over[0]["status"] == "declined"
    texts = wait_for(lambda: [t for t in _chat_notices(cast.consultation_id) if "отклонил" in t])
    assert texts
    assert "video.declined" in _actions(cast.consultation_id)
    # The declined call is over: the patient cannot join it afterwards.
    refused = patient.call("join", {"consultation_id": cast.consultation_id})
    assert not refused["ok"] and refused["status"] == 409


def test_unanswered_call_becomes_missed_with_a_chat_message(make_app, factory, sockets):
    app = make_app(config={"VIDEO_RING_SECONDS": 1.0})
    with live_server_of(app) as live:
        with app.app_context():
            from core.testing import Factory

            cast = make_cast(Factory(app))
        doctor = VideoSocket(Browser(live.url, "staff", cast.doctor_id))
        patient = VideoSocket(Browser(live.url, "patient", cast.account_id))
        sockets += [doctor, patient]
        assert doctor.call("call", {"consultation_id": cast.consultation_id})["ok"]
        wait_for(lambda: patient.received("ringing"))
        over = wait_for(lambda: patient.received("call_over"), timeout=20)
        assert over[0]["status"] == "missed"
        with app.app_context():
            texts = [m.data.get("text", "") for m in db.session.scalars(
                sa.select(ChatMessage).where(ChatMessage.kind == ChatMessage.SYSTEM))]
            assert any("Пропущенный видеозвонок" in t for t in texts), texts
            assert db.session.scalar(sa.select(VideoCall.status)) == "missed"


def test_a_ring_timer_never_misses_a_call_still_in_its_ringing_time(app, factory):
    from core.access import principal_for_user
    from core.models import User
    from plugins.video import calls

    cast = make_cast(factory)
    consultation = db.session.get(Consultation, cast.consultation_id)
    with app.test_request_context():
        call, _new = calls.start(consultation, principal_for_user(db.session.get(User, cast.doctor_id)), ring=True)
        db.session.commit()
    # A timer left from an earlier call with the same id (ids restart, a timer outlives
    # its call) must not end this one.
    assert calls.miss(call.id) is False
    db.session.commit()
    assert db.session.get(VideoCall, call.id).status == "ringing"


def test_the_end_of_a_login_takes_the_participant_out_at_once_and_ends_the_call(make_app, sockets):
    """A logout in another web process (or a password change, a timeout) ends the login
    session in the database: the core's session watch drops the socket, and the
    participant leaves the room at once, not after the reconnect grace (long here)."""
    from core import sessions
    from plugins.video.models import VideoParticipant

    app = make_app(config={"VIDEO_RECHECK_SECONDS": 60.0, "VIDEO_RECONNECT_SECONDS": 600.0})
    with live_server_of(app) as live:
        with app.app_context():
            from core.testing import Factory

            cast = make_cast(Factory(app))
        doctor = VideoSocket(Browser(live.url, "staff", cast.doctor_id))
        patient = VideoSocket(Browser(live.url, "patient", cast.account_id))
        sockets += [doctor, patient]
        base = {"consultation_id": cast.consultation_id}
        assert doctor.call("enter", base)["ok"] and doctor.call("join", base)["ok"]
        mine = patient.call("join", base)["me"]
        wait_for(lambda: [s for s in doctor.received("state") if len(s["participants"]) == 2])
        doctor.clear()
        with app.app_context():
            assert sessions.end_account("patient", cast.account_id, "logout") == 1
            db.session.commit()
        wait_for(lambda: patient.received("session_ended"), timeout=30)
        wait_for(lambda: [s for s in doctor.received("state") if len(s["participants"]) == 1], timeout=30)
        with app.app_context():
            assert db.session.get(VideoParticipant, mine).left_at is not None
        # The doctor logs out of this process with the logout button: the room is empty,
        # the call is over.
        answer = doctor.browser.post("/logout", allow_redirects=False)
        assert answer.status_code in (200, 302, 303), answer.status_code
        wait_for(lambda: doctor.received("session_ended") or doctor.received("call_over"), timeout=30)

        def ended():
            with app.app_context():
                return db.session.scalar(sa.select(VideoCall.status)) == "ended"

        wait_for(ended, timeout=30)


def test_enter_without_calling_then_the_patient_joins(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    assert doctor.call("enter", {"consultation_id": cast.consultation_id})["ok"]
    assert doctor.call("join", {"consultation_id": cast.consultation_id})["ok"]
    assert patient.received("ringing") == []  # waiting rings nobody
    status = patient.call("status", {"consultation_id": cast.consultation_id})
    assert status["ok"] and status["call"]["waiting"] is True
    joined = patient.call("join", {"consultation_id": cast.consultation_id})
    assert joined["ok"] and len(joined["state"]["participants"]) == 2


def test_a_patient_cannot_start_a_call_nor_join_an_empty_room(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    assert patient.call("call", {"consultation_id": cast.consultation_id})["status"] == 403
    refused = patient.call("join", {"consultation_id": cast.consultation_id})
    assert not refused["ok"] and refused["status"] == 409 and "Врач" in refused["error"]


def test_host_transfer_return_and_mute(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    other = add_doctor(factory, cast.consultation_id)
    colleague = VideoSocket(Browser(server.url, "staff", other.id))
    sockets.append(colleague)
    consultation = {"consultation_id": cast.consultation_id}
    me = doctor.call("join", consultation)["me"]
    them = colleague.call("join", consultation)["me"]
    pat = patient.call("join", consultation)["me"]
    # Only the host transfers; to staff only.
    assert colleague.call("transfer", {**consultation, "to": me})["status"] == 403
    assert doctor.call("transfer", {**consultation, "to": pat})["status"] == 422
    assert doctor.call("transfer", {**consultation, "to": them})["ok"]
    state = wait_for(lambda: [s for s in patient.received("state") if s["host"] == them])
    assert [p["id"] for p in state[-1]["participants"] if p["host"]] == [them]  # the old host demoted
    # The first host takes the rights back.
    assert doctor.call("return_host", consultation)["ok"]
    wait_for(lambda: [s for s in colleague.received("state") if s["host"] == me])
    # Only the host mutes others; only the owner unmutes.
    assert colleague.call("mute", {**consultation, "to": pat})["status"] == 403
    assert patient.call("mute", {**consultation, "to": me})["status"] == 403
    assert doctor.call("mute", {**consultation, "to": pat})["ok"]
    muted = wait_for(lambda: patient.received("muted"))
    assert muted[0]["by"]
    state = wait_for(lambda: [s for s in colleague.received("state")
                              if any(p["id"] == pat and p["muted"] for p in s["participants"])])
    assert state
    assert patient.call("set", {**consultation, "muted": False})["muted"] is False
    # Everyone pauses their own broadcast and the others see it.
    assert patient.call("set", {**consultation, "paused": True})["paused"] is True
    wait_for(lambda: [s for s in doctor.received("state")
                      if any(p["id"] == pat and p["paused"] for p in s["participants"])])
    assert patient.call("set", {**consultation, "paused": "yes"})["status"] == 422
    actions = _actions(cast.consultation_id)
    assert actions.count("video.host_transferred") == 2 and "video.muted" in actions


def test_signalling_goes_only_to_members_of_the_same_call(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    consultation = {"consultation_id": cast.consultation_id}
    me = doctor.call("join", consultation)["me"]
    pat = patient.call("join", consultation)["me"]
    offer = {"type": "offer", "sdp": "v=0"}
    assert doctor.call("signal", {**consultation, "to": pat, "data": offer})["ok"]
    got = wait_for(lambda: patient.received("signal"))
    assert got[0] == {"from": me, "data": offer, "consultation_id": cast.consultation_id}
    # Another consultation's call: its participant is not a target from here.
    cast2, doctor2, patient2 = _pair(server, factory, sockets)
    other = doctor2.call("join", {"consultation_id": cast2.consultation_id})["me"]
    refused = doctor.call("signal", {**consultation, "to": other, "data": offer})
    assert not refused["ok"] and refused["status"] == 422
    refused = doctor2.call("signal", {"consultation_id": cast.consultation_id, "to": pat, "data": offer})
    assert not refused["ok"] and refused["status"] in (403, 404)
    assert len(patient.received("signal")) == 1 and doctor2.received("signal") == []


def test_in_call_messages_are_stored_and_shown_in_the_chat_history(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    consultation = {"consultation_id": cast.consultation_id}
    doctor.call("join", consultation)
    patient.call("join", consultation)
    cid = client_id()
    sent = patient.call("message", {**consultation, "client_id": cid, "text": "Слышу вас хорошо"})
    assert sent["ok"], sent
    again = patient.call("message", {**consultation, "client_id": cid, "text": "Слышу вас хорошо"})
    assert again["message"]["id"] == sent["message"]["id"]  # a resend stores nothing
    got = wait_for(lambda: doctor.received("message"))
    assert got[0]["text"] == "Слышу вас хорошо" and len(got) == 1
    assert db.session.scalar(sa.select(sa.func.count(VideoMessage.id))) == 1
    texts = wait_for(lambda: [t for t in _chat_notices(cast.consultation_id) if "Слышу вас хорошо" in t])
    assert len(texts) == 1
    assert patient.call("message", {**consultation, "client_id": client_id(), "text": "   "})["status"] == 422


def test_completing_the_consultation_ends_the_call_and_refuses_new_ones(server, factory, sockets):
    from core import lifecycle
    from core.access import principal_for_user
    from core.models import CompletionReason, Outcome

    cast, doctor, patient = _pair(server, factory, sockets)
    consultation_id = {"consultation_id": cast.consultation_id}
    doctor.call("join", consultation_id)
    patient.call("join", consultation_id)
    consultation = db.session.get(Consultation, cast.consultation_id)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
    db.session.commit()
    for side in (doctor, patient):
        over = wait_for(lambda side=side: side.received("call_over"))
        assert over[0]["status"] == "ended"
    db.session.expire_all()
    call = db.session.scalar(sa.select(VideoCall))
    assert call.status == "ended" and all(not p.in_room for p in call.participants)
    assert "duration_s" in call.summary
    for event in ("call", "enter", "join"):
        refused = doctor.call(event, consultation_id)
        assert not refused["ok"] and refused["status"] == 409 and "завершена" in refused["error"], refused
    assert not doctor.call("signal", {**consultation_id, "to": 1, "data": {}})["ok"]


def test_reconnect_keeps_host_and_mute(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    consultation = {"consultation_id": cast.consultation_id}
    me = doctor.call("join", consultation)["me"]
    pat = patient.call("join", consultation)["me"]
    doctor.call("mute", {**consultation, "to": pat})
    patient.call("set", {**consultation, "paused": True})
    doctor.close()  # a network drop: the place is kept for VIDEO_RECONNECT_SECONDS
    again = VideoSocket(doctor.browser)
    sockets.append(again)
    rejoined = again.call("join", {**consultation, "participant": me})
    assert rejoined["ok"] and rejoined["me"] == me and rejoined["state"]["host"] == me
    patient.close()
    back = VideoSocket(patient.browser)
    sockets.append(back)
    state = back.call("join", consultation)["state"]
    mine = [p for p in state["participants"] if p["id"] == pat][0]
    assert mine["muted"] and mine["paused"]


def test_a_dropped_socket_leaves_after_the_grace_and_the_host_moves(server, factory, sockets):
    cast, doctor, patient = _pair(server, factory, sockets)
    other = add_doctor(factory, cast.consultation_id)
    colleague = VideoSocket(Browser(server.url, "staff", other.id))
    sockets.append(colleague)
    consultation = {"consultation_id": cast.consultation_id}
    doctor.call("join", consultation)
    them = colleague.call("join", consultation)["me"]
    doctor.close()
    state = wait_for(lambda: [s for s in colleague.received("state") if s["host"] == them and len(s["participants"]) == 1],
                     timeout=20)
    assert state


def test_a_doctor_waiting_in_the_room_who_rings_unanswered_stays_and_the_popups_close(make_app, sockets):
    app = make_app(config={"VIDEO_RING_SECONDS": 1.0})
    with live_server_of(app) as live:
        with app.app_context():
            from core.testing import Factory

            cast = make_cast(Factory(app))
        doctor = VideoSocket(Browser(live.url, "staff", cast.doctor_id))
        patient = VideoSocket(Browser(live.url, "patient", cast.account_id))
        sockets += [doctor, patient]
        base = {"consultation_id": cast.consultation_id}
        assert doctor.call("enter", base)["ok"] and doctor.call("join", base)["ok"]
        assert doctor.call("call", base)["ok"]  # now rings the patient
        wait_for(lambda: patient.received("ringing"))
        over = wait_for(lambda: patient.received("ring_over"), timeout=30)
        assert over[0]["status"] == "missed"
        wait_for(lambda: doctor.received("ring_over"))
        assert doctor.received("call_over") == []
        with app.app_context():
            assert db.session.scalar(sa.select(VideoCall.status)) == "active"  # the room stays
            texts = [m.data.get("text", "") for m in db.session.scalars(
                sa.select(ChatMessage).where(ChatMessage.kind == ChatMessage.SYSTEM))]
            assert any("Пропущенный видеозвонок" in t for t in texts), texts
        # Nothing rings for a tab opened now; the patient can still join the waiting doctor.
        late = VideoSocket(patient.browser)
        sockets.append(late)
        assert late.call("status", base)["ok"]  # what the connect sent has arrived before this answer
        assert late.received("ringing") == []
        assert patient.call("join", base)["ok"]
