"""One host however requests race, and nothing of /video for outsiders (SPEC D8, A1)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from core.access import principal_for_user
from core.db import db
from core.models import AuditEvent, Consultation, Document, User
from plugins.video import calls
from plugins.video.events import VideoNamespace
from plugins.video.models import VideoCall, VideoParticipant
from tests.video.conftest import Browser, VideoSocket, add_doctor, client_id, make_cast

# Every event the namespace handles, read from it, so that a new one is checked too.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4c50000000049454e44ae426082")

EVENTS = tuple(sorted(name[3:] for name in vars(VideoNamespace) if name.startswith("on_")
                      and name not in ("on_connect", "on_disconnect")))


def _in_threads(app, n, work):
    barrier = threading.Barrier(n)
    results: list = []
    lock = threading.Lock()

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                outcome = work(i)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - each refusal is counted
                db.session.rollback()
                outcome = error
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_two_doctors_entering_at_once_give_exactly_one_host(app, factory):
    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    ids = [cast.doctor_id, other.id]

    def enter(i):
        user = db.session.get(User, ids[i])
        consultation = db.session.get(Consultation, cast.consultation_id)
        call, me = calls.join(consultation, principal_for_user(user), None)
        return me.id

    results = _in_threads(app, 2, enter)
    db.session.expire_all()
    live = list(db.session.scalars(sa.select(VideoCall)))
    assert len(live) == 1, results  # one call, not one per doctor
    participants = list(db.session.scalars(sa.select(VideoParticipant)))
    assert len(participants) == 2 and live[0].host_participant_id in {p.id for p in participants}


def test_100_concurrent_transfers_leave_exactly_one_host(app, factory):
    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    consultation = db.session.get(Consultation, cast.consultation_id)
    a_principal = principal_for_user(db.session.get(User, cast.doctor_id))
    b_principal = principal_for_user(other)
    call, a = calls.join(consultation, a_principal, None)
    call, b = calls.join(consultation, b_principal, None)
    db.session.commit()
    people = [(a.id, b.id, a_principal), (b.id, a.id, b_principal)]
    call_id = call.id

    def transfer(i):
        mine, theirs, principal = people[i % 2]
        found = db.session.get(VideoCall, call_id)
        me = db.session.get(VideoParticipant, mine)
        calls.transfer_host(found, me, theirs, principal)
        return "moved"

    results = _in_threads(app, 100, transfer)
    moved = results.count("moved")
    refused = [r for r in results if r != "moved"]
    assert all(isinstance(r, calls.NotHost) for r in refused), refused[:3]
    db.session.expire_all()
    host = db.session.scalar(sa.select(VideoCall.host_participant_id).where(VideoCall.id == call_id))
    # Every success flipped the host once: no lost update, never none or two.
    assert host == (a.id if moved % 2 == 0 else b.id)
    audited = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "video.host_transferred"))
    assert audited == moved >= 1


@pytest.fixture
def outsiders(server, factory, sockets):
    """A live call, and a non-member, a doctor of another organisation and a patient of
    another consultation, each connected to /video; an anonymous client is refused."""
    cast = make_cast(factory)
    doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
    patient = VideoSocket(Browser(server.url, "patient", cast.account_id))
    sockets += [doctor, patient]
    assert doctor.call("call", {"consultation_id": cast.consultation_id})["ok"]
    assert doctor.call("join", {"consultation_id": cast.consultation_id})["ok"]
    stranger_doctor = factory.doctor(organisation=db.session.get(Consultation, cast.consultation_id).organisation)
    other_org_doctor = factory.doctor()
    other_cast = make_cast(factory)
    clients = [VideoSocket(Browser(server.url, "staff", stranger_doctor.id)),
               VideoSocket(Browser(server.url, "staff", other_org_doctor.id)),
               VideoSocket(Browser(server.url, "patient", other_cast.account_id))]
    sockets += clients
    return cast, doctor, patient, clients


def test_outsiders_get_nothing_from_any_event(outsiders, server):
    cast, doctor, patient, clients = outsiders
    base = {"consultation_id": cast.consultation_id}
    payloads = {"signal": {"to": 1, "data": {"type": "offer", "sdp": "x"}}, "transfer": {"to": 1}, "mute": {"to": 1},
                "set": {"muted": True}, "message": {"client_id": client_id(), "text": "утечка"}, "stats": {"rtt_ms": 5}}
    for sock in clients:
        for event in EVENTS:
            answer = sock.call(event, {**base, **payloads.get(event, {})})
            assert answer["ok"] is False and answer["status"] in (403, 404), (event, answer)
            assert set(answer) == {"ok", "status", "error"}, (event, answer)  # nothing else in it
        assert sock.events == [], sock.events  # no ringing, no state, no signal
    # The room saw none of them.
    assert all(len(s["participants"]) == 1 for s in doctor.received("state"))
    assert len(EVENTS) >= 14, EVENTS
    # A file of the consultation, uploaded in the call, for them to try to fetch.
    own = doctor.browser.post(f"/video/{cast.consultation_id}/files", files={"file": ("own.png", PNG)})
    assert own.status_code == 201, own.text
    document_id = own.json()["file"]["id"]
    anonymous = Browser(server.url)
    for path in ("", "/files", f"/files/{document_id}", "/files/1"):
        for sock in clients:
            answer = sock.browser.get(f"/video/{cast.consultation_id}{path}")
            assert answer.status_code in (403, 404) and "own.png" not in answer.text, (path, answer.status_code)
        answer = anonymous.get(f"/video/{cast.consultation_id}{path}", allow_redirects=False)
        assert answer.status_code in (401, 302, 403, 404) and "own.png" not in answer.text
    # Nor can they put a file into the call.
    for who in [*[sock.browser for sock in clients], anonymous]:
        answer = who.post(f"/video/{cast.consultation_id}/files", files={"file": ("leak.png", PNG)}, allow_redirects=False)
        assert answer.status_code in (302, 400, 401, 403, 404), answer.status_code
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.filename == "leak.png")) == 0


def test_an_anonymous_client_cannot_connect(server):
    import socketio

    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.url, namespaces=["/video"], transports=["websocket"], wait_timeout=30)


@pytest.mark.parametrize("value", ["abc", "1.5", "", None, 2**40, -3, [1], {"a": 1}, "1\x00"])
def test_bad_input_is_a_russian_4xx_never_a_500(server, factory, sockets, value):
    cast = make_cast(factory)
    doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
    sockets.append(doctor)
    for event in EVENTS:
        answer = doctor.call(event, {"consultation_id": value})
        assert answer["ok"] is False and 400 <= answer["status"] < 500, (event, value, answer)
        assert any("а" <= ch <= "я" for ch in answer["error"].lower()), answer
    assert doctor.call("join", "not a dict")["status"] in (400, 422)
    doctor.call("join", {"consultation_id": cast.consultation_id})
    for bad in ({"to": "x", "data": {}}, {"to": 1, "data": "s"}):
        assert 400 <= doctor.call("signal", {"consultation_id": cast.consultation_id, **bad})["status"] < 500
    for stats in ({"rtt_ms": "fast"}, {"loss": 7}, {"fps": float("inf")} if False else {"fps": -1}):
        answer = doctor.call("stats", {"consultation_id": cast.consultation_id, **stats})
        assert answer["status"] == 422, answer


def test_turn_credentials_only_for_members_and_they_verify(make_app, factory):
    import base64
    import hashlib
    import hmac

    from plugins.video.turn import credentials

    username, password = credentials("s3cret", "p7", 600, now=1000)
    assert username == "1600:p7"
    assert password == base64.b64encode(hmac.new(b"s3cret", b"1600:p7", hashlib.sha1).digest()).decode()


def test_a_participant_removed_from_the_consultation_leaves_within_seconds(server, factory, sockets):
    from core.models import Participant
    from tests.video.conftest import wait_for

    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
    colleague = VideoSocket(Browser(server.url, "staff", other.id))
    sockets += [doctor, colleague]
    base = {"consultation_id": cast.consultation_id}
    doctor.call("join", base)
    colleague.call("join", base)
    db.session.execute(sa.delete(Participant).where(Participant.user_id == other.id))
    db.session.commit()
    wait_for(lambda: colleague.received("removed"), timeout=15)
    wait_for(lambda: [s for s in doctor.received("state") if len(s["participants"]) == 1], timeout=15)
    assert colleague.call("signal", {**base, "to": 1, "data": {}})["status"] == 404
