"""«Доска»: the numbered log, who may draw and clear, bad payloads, resends, replay (SPEC D8)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.access import can, principal_for_user
from core.db import db
from core.models import AuditEvent, Consultation, Document, User
from plugins.video import board, calls
from plugins.video.models import VideoBoardOp, VideoParticipant
from tests.video.conftest import Browser, VideoSocket, add_doctor, client_id, make_cast, wait_for
from tests.video.test_host_and_access import PNG, _in_threads

PATH = {"color": "#1F2937", "width": 4, "path": [["M", 10, 10], ["Q", 20, 20, 30.5, 25], ["L", 40, 40]]}
RECT = {"color": "#dc2626", "width": 2, "x": 100, "y": 100, "w": 200, "h": 120}


def russian(answer) -> bool:
    return any("а" <= ch <= "я" for ch in answer["error"].lower())


@pytest.fixture
def room(server, factory, sockets):
    """A live call: the doctor (host) and the patient in the room, both on /video."""
    cast = make_cast(factory)
    doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
    patient = VideoSocket(Browser(server.url, "patient", cast.account_id))
    sockets += [doctor, patient]
    base = {"consultation_id": cast.consultation_id}
    assert doctor.call("join", base)["ok"]
    joined = patient.call("join", base)
    assert joined["ok"], joined

    def op(sock, kind, data, cid=None):
        return sock.call("board_op", {**base, "client_id": cid or client_id(), "kind": kind, "data": data})

    return cast, doctor, patient, base, op


def rows(cast) -> list[tuple[int, str]]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(VideoBoardOp.seq, VideoBoardOp.kind).order_by(VideoBoardOp.seq)))


def test_ops_are_numbered_in_order_sent_to_the_others_and_replayed(room):
    cast, doctor, patient, base, op = room
    first = op(doctor, "path", PATH)
    assert first["ok"], first
    assert first["op"]["seq"] == 1 and first["op"]["data"]["color"] == "#1f2937"  # stored normalised
    second = op(patient, "rect", RECT)
    assert second["op"]["seq"] == 2
    # Each hears the other's operation, not its own.
    wait_for(lambda: patient.received("board_op"), timeout=15)
    wait_for(lambda: doctor.received("board_op"), timeout=15)
    assert [m["op"]["seq"] for m in patient.received("board_op")] == [1]
    assert [m["op"]["seq"] for m in doctor.received("board_op")] == [2]
    replay = patient.call("board_sync", {**base, "after": 0})
    assert [o["seq"] for o in replay["ops"]] == [1, 2] and replay["last"] == 2 and replay["more"] is False
    assert replay["ops"][0] == first["op"] and replay["ops"][1]["by"] != replay["ops"][0]["by"]
    assert [o["seq"] for o in patient.call("board_sync", {**base, "after": 1})["ops"]] == [2]
    # Undo of one's own, erase of anyone's, clear by the host: all appended, none deleted.
    assert op(patient, "undo", {"target": 2})["ok"]
    assert op(patient, "erase", {"target": 1})["ok"]
    assert op(doctor, "clear", {})["ok"]
    assert rows(cast) == [(1, "path"), (2, "rect"), (3, "undo"), (4, "erase"), (5, "clear")]
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "video.board_cleared")) == 1


def test_a_resent_op_is_stored_once_and_a_reconnect_replays_what_was_missed(room, server, sockets):
    cast, doctor, patient, base, op = room
    cid = client_id()
    sent = op(patient, "rect", RECT, cid)
    again = op(patient, "rect", {**RECT, "x": 5}, cid)  # the same id: the stored one answers
    assert again == sent and rows(cast) == [(1, "rect")]
    # The patient drops off; the doctor draws on.
    patient.close()
    for _ in range(3):
        assert op(doctor, "path", PATH)["ok"]
    back = VideoSocket(patient.browser)
    sockets.append(back)
    me = db.session.scalar(sa.select(VideoParticipant.id).where(VideoParticipant.patient_id == cast.patient_id))
    assert back.call("join", {**base, "participant": me})["ok"]
    missed = back.call("board_sync", {**base, "after": 1})
    assert [o["seq"] for o in missed.get("ops", [])] == [2, 3, 4], missed
    # The answer to the first send was lost in the drop: it is sent again, nothing doubles.
    doctor.clear()
    resent = op(back, "rect", RECT, cid)
    assert resent["op"]["seq"] == 1 and len(rows(cast)) == 4
    assert doctor.received("board_op") == []


def test_concurrent_ops_get_numbers_without_gaps_and_a_racing_resend_stays_one(app, factory):
    cast = make_cast(factory)
    other = add_doctor(factory, cast.consultation_id)
    consultation = db.session.get(Consultation, cast.consultation_id)
    people = [principal_for_user(db.session.get(User, cast.doctor_id)), principal_for_user(other)]
    call, a = calls.join(consultation, people[0], None)
    call, b = calls.join(consultation, people[1], None)
    db.session.commit()
    ids, call_id, shared = [a.id, b.id], call.id, client_id()

    def draw(i):
        from plugins.video.models import VideoCall

        me = db.session.get(VideoParticipant, ids[i % 2])
        found = db.session.get(VideoCall, call_id)
        cid = shared if i < 4 else client_id()  # four sends of one operation race the others
        return board.append(found, me, people[i % 2], cid, "line",
                           {"color": "#2563eb", "width": 3, "x1": i, "y1": 0, "x2": 50, "y2": 60})[0]["seq"]

    results = _in_threads(app, 20, draw)
    assert all(isinstance(r, int) for r in results), [r for r in results if not isinstance(r, int)][:3]
    seqs = [seq for seq, _kind in rows(cast)]
    assert seqs == list(range(1, 18))  # 17 operations: one of the four, and sixteen others
    assert len(set(results)) == 17 and len(set(results[:4])) <= 4


BAD = [
    ("scribble", PATH),  # unknown kind
    ("rect", {**RECT, "x": 1601}),  # off the board
    ("rect", {**RECT, "w": 1550}),  # runs off the board
    ("rect", {**RECT, "y": -1}),
    ("rect", {**RECT, "x": "10"}),
    ("rect", {**RECT, "x": True}),
    ("rect", {**RECT, "color": "red"}),
    ("rect", {**RECT, "width": 0}),
    ("rect", {**RECT, "width": 41}),
    ("path", {**PATH, "path": [["M", 1, 1]]}),  # one point is no line
    ("path", {**PATH, "path": [["L", 1, 1], ["L", 2, 2]]}),  # must start with M
    ("path", {**PATH, "path": [["M", 1, 1], ["Z"]]}),
    ("path", {**PATH, "path": [["M", 1, 1], ["Q", 1, 2, 3]]}),  # wrong arity
    ("path", {**PATH, "path": [["M", 1, 1]] + [["L", 5, 5]] * 4000}),  # too many commands
    ("path", {**PATH, "path": "M 1 1 L 2 2"}),
    ("text", {"color": "#000000", "size": 20, "x": 5, "y": 5, "text": "   "}),
    ("text", {"color": "#000000", "size": 20, "x": 5, "y": 5, "text": "я" * 501}),
    ("text", {"color": "#000000", "size": 200, "x": 5, "y": 5, "text": "Да"}),
    ("text", {"color": "#000000", "size": 20, "x": 5, "y": 5, "text": "a\x07b"}),
    ("line", {"color": "#000000", "width": 2, "x1": 0, "y1": 0, "x2": 10}),  # y2 missing
    ("rect", "not an object"),
    ("rect", {**RECT, "note": "x" * 70000}),  # over the size limit
    ("undo", {"target": "1"}),
    ("erase", {"target": 0}),
]


def test_bad_payloads_answer_a_russian_4xx_and_write_nothing(room):
    cast, doctor, patient, base, op = room
    for kind, data in BAD:
        answer = op(doctor, kind, data)
        assert answer["ok"] is False and answer["status"] == 422 and russian(answer), (kind, str(data)[:80], answer)
    for cid in ("short", "x" * 65, "имя-операции", None, 12345678):
        answer = doctor.call("board_op", {**base, "client_id": cid, "kind": "rect", "data": RECT})
        assert answer["status"] == 422 and russian(answer), (cid, answer)
    # Numbers that are not finite never reach the plugin (the core refuses them).
    assert op(doctor, "rect", {**RECT, "x": float("nan")})["status"] == 400
    for after in (-1, "1", None, 2**40, True):
        answer = doctor.call("board_sync", {**base, "after": after})
        assert 400 <= answer["status"] < 500 and russian(answer), (after, answer)
    assert rows(cast) == []
    db.session.expire_all()
    assert db.session.get(Consultation, cast.consultation_id) is not None
    from plugins.video.models import VideoCall

    assert db.session.scalar(sa.select(VideoCall.board_seq)) == 0  # no number was taken either


def test_only_admitted_participants_draw_only_the_host_clears_only_own_undo(room, server, factory, sockets):
    cast, doctor, patient, base, op = room
    mine = op(doctor, "rect", RECT)["op"]["seq"]
    # The patient is no host: clearing is refused, nothing written.
    refused = op(patient, "clear", {})
    assert refused["ok"] is False and refused["status"] == 403 and russian(refused)
    # Undo only of one's own; an erased or missing stroke cannot be taken off again.
    assert op(patient, "undo", {"target": mine})["status"] == 422
    assert op(patient, "erase", {"target": 99})["status"] == 409
    assert rows(cast) == [(1, "rect")]
    # A colleague of the consultation who has not entered the room does not draw or read.
    other = add_doctor(factory, cast.consultation_id)
    colleague = VideoSocket(Browser(server.url, "staff", other.id))
    sockets.append(colleague)
    for event, data in (("board_op", {"client_id": client_id(), "kind": "rect", "data": RECT}), ("board_sync", {"after": 0})):
        answer = colleague.call(event, {**base, **data})
        assert answer["ok"] is False and answer["status"] == 409, answer
    # In the room, with the host rights handed over, the colleague clears and the doctor cannot.
    assert colleague.call("join", base)["ok"]
    colleague_id = db.session.scalar(sa.select(VideoParticipant.id).where(VideoParticipant.user_id == other.id))
    assert doctor.call("transfer", {**base, "to": colleague_id})["ok"]
    assert op(doctor, "clear", {})["status"] == 403
    assert op(colleague, "clear", {})["ok"]
    assert [kind for _seq, kind in rows(cast)] == ["rect", "clear"]
    # The rule itself: a participant's place is nobody else's.
    db.session.expire_all()
    doctor_place = db.session.scalar(sa.select(VideoParticipant).where(VideoParticipant.user_id == cast.doctor_id))
    assert can("video.board.draw", doctor_place, principal_for_user(db.session.get(User, cast.doctor_id)))
    assert not can("video.board.draw", doctor_place, principal_for_user(other))
    assert not can("video.board.clear", doctor_place, principal_for_user(db.session.get(User, cast.doctor_id)))
    # Out of the room: no more drawing.
    assert patient.call("leave", base)["ok"]
    assert op(patient, "rect", RECT)["status"] == 409


def test_export_makes_a_document_of_the_consultation_with_an_audit_event(room, server):
    cast, doctor, patient, base, op = room
    op(doctor, "rect", RECT)
    answer = patient.browser.post(f"/video/{cast.consultation_id}/board.png", files={"file": ("board.png", PNG)})
    assert answer.status_code == 201, answer.text
    db.session.expire_all()
    document = db.session.scalar(sa.select(Document).where(Document.kind == "video_board"))
    assert document.consultation_id == cast.consultation_id and document.folder == "video"
    assert document.filename.startswith("Доска ") and document.filename.endswith("№1.png")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "video.board_exported"))
    assert event is not None and event.consultation_id == cast.consultation_id
    wait_for(lambda: doctor.received("files_changed"), timeout=15)
    # Only a PNG, only from the room.
    pdf = doctor.browser.post(f"/video/{cast.consultation_id}/board.png", files={"file": ("b.png", b"%PDF-1.4 x")})
    assert pdf.status_code == 422 and "PNG" in str(pdf.json()), pdf.json()
    assert doctor.browser.post(f"/video/{cast.consultation_id}/board.png").status_code == 422
    assert patient.call("leave", base)["ok"]
    late = patient.browser.post(f"/video/{cast.consultation_id}/board.png", files={"file": ("board.png", PNG)})
    assert late.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.kind == "video_board")) == 1
