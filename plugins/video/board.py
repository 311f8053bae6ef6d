"""The call's shared whiteboard «Доска» (SPEC D8, guide 002 §6.3): an append-only log.

Every stroke, shape, text, erasure, undo and clearing is one operation row of
``video_board_ops`` with a server sequence number (1, 2, 3… per call). A number is taken
by one ``UPDATE video_calls SET board_seq = board_seq + 1``: the row stays locked until
the commit, so the operations of a call commit in the order of their numbers and a
client that has seen number N has seen everything before it. Replaying the log in that
order gives every participant the same board: a late joiner or a reconnecting client asks
for the operations after the last number it holds (``ops_after``).

Each operation carries the sender's ``client_id``; sending it again (the answer was lost
in a reconnect) stores nothing and answers the stored operation, so nothing is lost and
nothing is drawn twice. The payload is checked before anything is written: a known kind,
coordinates on the board, a known colour format, sizes within limits; a bad one answers
a Russian 422 and leaves the log as it was. Who may draw and who may clear is the access
policy's (``video.board.draw``, ``video.board.clear``: registered by the plugin).
"""

from __future__ import annotations

import json
import math
import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal, can
from core.db import db
from core.errors import Conflict, InvalidInput, UserError
from plugins.video.models import VideoBoardOp, VideoCall, VideoParticipant

# The board's own coordinates: every client scales them to its canvas.
WIDTH, HEIGHT = 1600, 900
DRAWN = ("path", "line", "arrow", "rect", "ellipse", "text")
REMOVING = ("erase", "undo")
KINDS = (*DRAWN, *REMOVING, "clear")
MAX_OP_BYTES = 64 * 1024  # one operation's data as JSON
MAX_PATH_COMMANDS = 4000
MAX_TEXT = 500
MAX_OPS = 20000  # a board holding more asks to be cleared first
PAGE = 1000  # operations in one answer of ``ops_after``
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# Arity of each SVG path command fabric's pencil produces (absolute coordinates only).
_PATH_ARITY = {"M": 2, "L": 2, "Q": 4, "C": 6}


class NotAllowed(UserError):
    status = 403


def require_draw(me: VideoParticipant, principal: Principal) -> None:
    if not can("video.board.draw", me, principal):
        raise NotAllowed(_l("Рисовать на доске могут только участники видеоконсультации"))


def require_clear(me: VideoParticipant, principal: Principal) -> None:
    if not can("video.board.clear", me, principal):
        raise NotAllowed(_l("Очистить доску может только ведущий"))


def _number(value, low: float, high: float, what) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(_l("Неверное значение «%(what)s» на доске", what=what))
    if not low <= value <= high:
        raise InvalidInput(_l("Значение «%(what)s» вне доски", what=what))
    return round(float(value), 2)


def _x(value) -> float:
    return _number(value, 0, WIDTH, "x")


def _y(value) -> float:
    return _number(value, 0, HEIGHT, "y")


def _colour(data: dict) -> str:
    colour = data.get("color")
    if not isinstance(colour, str) or not _COLOUR.match(colour.lower()):
        raise InvalidInput(_l("Неверный цвет"))
    return colour.lower()


def _width(data: dict) -> float:
    return _number(data.get("width"), 1, 40, _l("толщина"))


def _path(data: dict) -> list:
    commands = data.get("path")
    if not isinstance(commands, list) or not 2 <= len(commands) <= MAX_PATH_COMMANDS:
        raise InvalidInput(_l("Линия должна состоять из 2–%(n)s отрезков", n=MAX_PATH_COMMANDS))
    clean = []
    for index, command in enumerate(commands):
        if not isinstance(command, list) or not command or command[0] not in _PATH_ARITY \
                or len(command) != 1 + _PATH_ARITY[command[0]] or (index == 0) != (command[0] == "M"):
            raise InvalidInput(_l("Неверный отрезок линии"))
        numbers = command[1:]
        clean.append([command[0], *(_x(v) if i % 2 == 0 else _y(v) for i, v in enumerate(numbers))])
    return clean


def check(kind, data) -> tuple[dict, int | None]:
    """The stored form of an operation's data and its target, or a Russian 422."""
    if kind not in KINDS:
        raise InvalidInput(_l("Неизвестное действие на доске"))
    if not isinstance(data, dict):
        raise InvalidInput(_l("Нет данных действия на доске"))
    try:
        size = len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError):
        raise InvalidInput(_l("Неверные данные действия на доске")) from None
    if size > MAX_OP_BYTES:
        raise InvalidInput(_l("Слишком большое действие на доске (больше %(n)s КБ)", n=MAX_OP_BYTES // 1024))
    if kind in REMOVING:
        target = data.get("target")
        if isinstance(target, bool) or not isinstance(target, int) or not 1 <= target <= 2**31 - 1:
            raise InvalidInput(_l("Не указано, что убрать с доски"))
        return {"target": target}, target
    if kind == "clear":
        return {}, None
    colour = _colour(data)
    if kind == "path":
        return {"color": colour, "width": _width(data), "path": _path(data)}, None
    if kind in ("line", "arrow"):
        return {"color": colour, "width": _width(data), "x1": _x(data.get("x1")), "y1": _y(data.get("y1")),
                "x2": _x(data.get("x2")), "y2": _y(data.get("y2"))}, None
    if kind in ("rect", "ellipse"):
        x, y = _x(data.get("x")), _y(data.get("y"))
        w = _number(data.get("w"), 0, WIDTH - x, _l("ширина"))
        h = _number(data.get("h"), 0, HEIGHT - y, _l("высота"))
        return {"color": colour, "width": _width(data), "x": x, "y": y, "w": w, "h": h}, None
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(_l("Пустой текст"))
    text = text.strip()
    if len(text) > MAX_TEXT or any(ord(ch) < 32 and ch != "\n" for ch in text):
        raise InvalidInput(_l("Текст на доске — до %(n)s символов без управляющих знаков", n=MAX_TEXT))
    return {"color": colour, "size": _number(data.get("size"), 10, 96, _l("размер")), "text": text,
            "x": _x(data.get("x")), "y": _y(data.get("y"))}, None


def view(op: VideoBoardOp) -> dict:
    return {"seq": op.seq, "client_id": op.client_id, "kind": op.kind, "data": op.data, "by": op.participant_id}


def _stored(call: VideoCall, client_id: str) -> VideoBoardOp | None:
    return db.session.scalar(sa.select(VideoBoardOp).where(VideoBoardOp.call_id == call.id,
                                                          VideoBoardOp.client_id == client_id))


def _last_clear(call: VideoCall) -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(VideoBoardOp.seq), 0)).where(
        VideoBoardOp.call_id == call.id, VideoBoardOp.kind == "clear")) or 0


def _check_target(call: VideoCall, me: VideoParticipant, kind: str, target: int) -> None:
    """Only a drawing still on the board can be erased; only one's own can be undone."""
    drawn = db.session.scalar(sa.select(VideoBoardOp).where(
        VideoBoardOp.call_id == call.id, VideoBoardOp.seq == target, VideoBoardOp.kind.in_(DRAWN)))
    removed = drawn is None or drawn.seq < _last_clear(call) or db.session.scalar(
        sa.select(sa.func.count(VideoBoardOp.id)).where(VideoBoardOp.call_id == call.id,
                                                        VideoBoardOp.target_seq == target))
    if removed:
        raise Conflict(_l("Этого уже нет на доске"))
    if kind == "undo" and drawn.participant_id != me.id:
        raise InvalidInput(_l("Отменить можно только своё"))


def append(call: VideoCall, me: VideoParticipant, principal: Principal, client_id, kind, data) -> tuple[dict, bool]:
    """Store one operation (or find it, sent before): ``(its view, whether it is new)``."""
    require_draw(me, principal)
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise InvalidInput(_l("Неверный идентификатор действия на доске"))
    found = _stored(call, client_id)
    if found is not None:
        return view(found), False
    data, target = check(kind, data)
    if kind == "clear":
        require_clear(me, principal)
    # The number: this UPDATE holds the call's row until the commit (see the module).
    db.session.execute(sa.update(VideoCall).where(VideoCall.id == call.id)
                       .values(board_seq=VideoCall.board_seq + 1).execution_options(synchronize_session=False))
    seq = db.session.scalar(sa.select(VideoCall.board_seq).where(VideoCall.id == call.id))
    found = _stored(call, client_id)  # the same operation, committed while we waited
    if found is not None:
        answer = view(found)
        db.session.rollback()  # gives the number back: numbers have no gaps
        return answer, False
    if kind == "clear":
        db.session.refresh(call)
        require_clear(me, principal)  # still the host now that the row is ours
    if target is not None:
        _check_target(call, me, kind, target)
    elif kind != "clear" and seq - _last_clear(call) > MAX_OPS:
        raise Conflict(_l("На доске слишком много всего: очистите её"))
    op = VideoBoardOp(call_id=call.id, seq=seq, client_id=client_id, participant_id=me.id, kind=kind,
                      target_seq=target, data=data)
    db.session.add(op)
    db.session.flush()
    if kind == "clear":
        audit.record("video.board_cleared", call, consultation_id=call.consultation_id, principal=principal,
                     data={"seq": seq})
    return view(op), True


def ops_after(call: VideoCall, after) -> dict:
    """The operations numbered after ``after`` (a page at a time): the replay."""
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= 2**31 - 1:
        raise InvalidInput(_l("Неверный номер последнего действия на доске"))
    rows = list(db.session.scalars(sa.select(VideoBoardOp).where(
        VideoBoardOp.call_id == call.id, VideoBoardOp.seq > after).order_by(VideoBoardOp.seq).limit(PAGE + 1)))
    return {"ops": [view(op) for op in rows[:PAGE]], "more": len(rows) > PAGE,
            "last": db.session.scalar(sa.select(VideoCall.board_seq).where(VideoCall.id == call.id))}


def last_seq(call: VideoCall) -> int:
    return db.session.scalar(sa.select(VideoCall.board_seq).where(VideoCall.id == call.id)) or 0
