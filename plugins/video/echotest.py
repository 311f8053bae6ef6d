"""The web app's side of the echo test of «Проверка связи» (SPEC P5): the browser's offer
is checked here and forwarded to the echo process (``plugins/video/echo.py``, its own
asyncio process with aiortc), whose answer goes back to the browser.

The caller may use the pre-call check of the consultation (``video.check``, asked by the
view); a user gets ``VIDEO_ECHO_PER_USER`` echo tests per ``VIDEO_ECHO_PER_SECONDS``
(counted from the audit events ``video.echo_tested``, so every web process counts the
same). The echo process gets the ICE servers of the deployment with TURN credentials of
its own (``echo-<u|a><id>``), valid for the session. Nothing of the media is stored: the
audit event has the outcome only.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal
from core.db import db, utcnow
from core.errors import InvalidInput, UserError
from core.models import AuditEvent, Consultation
from plugins.video import turn

log = logging.getLogger(__name__)

ACTION = "video.echo_tested"
MAX_SDP = 32 * 1024  # a browser's offer with its candidates is a few kilobytes

BAD_OFFER = _l("Некорректное описание соединения (SDP) для эхо-теста. Обновите страницу и попробуйте снова.")
DOWN = _l("Эхо-тест сейчас недоступен: сервер проверки связи не отвечает. Остальные проверки работают, "
          "попробуйте эхо-тест позже.")
BUSY = _l("Эхо-тест сейчас занят другими пользователями. Попробуйте через минуту.")
TOO_MANY = _l("Слишком много эхо-тестов подряд. Попробуйте через несколько минут.")
DISABLED = _l("Эхо-тест в этой системе выключен.")


class EchoUnavailable(UserError):
    status = 503


def enabled() -> bool:
    return bool(current_app.config["VIDEO_ECHO_ENABLED"])


def offer_of(body: dict) -> str:
    """The SDP of a browser's offer with audio or video, else a Russian 422."""
    sdp = body.get("sdp")
    if body.get("type") != "offer" or not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP:
        raise InvalidInput(BAD_OFFER)
    if not sdp.startswith("v=0") or "\x00" in sdp or ("\nm=audio " not in sdp and "\nm=video " not in sdp):
        raise InvalidInput(BAD_OFFER)
    return sdp


def _recent(principal: Principal) -> int:
    since = utcnow() - timedelta(seconds=float(current_app.config["VIDEO_ECHO_PER_SECONDS"]))
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == ACTION, AuditEvent.actor_type == principal.kind, AuditEvent.actor_id == principal.id,
            AuditEvent.at >= since)
    ) or 0


def ice_servers(principal: Principal) -> list[dict]:
    """The deployment's STUN and TURN for the server peer, credentials valid for the session."""
    name = f"echo-{'u' if principal.is_staff else 'a'}{principal.id}"
    return turn.ice_servers(name, int(current_app.config["VIDEO_ECHO_SECONDS"]) + 60)


def _forward(sdp: str, servers: list[dict]) -> tuple[str, dict | None]:
    """(outcome, the echo's answer): ``answered``, ``bad_offer``, ``busy`` or ``down``."""
    config = current_app.config
    try:
        reply = requests.post(config["VIDEO_ECHO_URL"].rstrip("/") + "/offer",
                              json={"sdp": sdp, "type": "offer", "ice_servers": servers},
                              timeout=(3, float(config["VIDEO_ECHO_TIMEOUT"])))
    except requests.RequestException as error:
        log.warning("video echo unreachable at %s: %s", config["VIDEO_ECHO_URL"], type(error).__name__)
        return "down", None
    try:
        data = reply.json()
    except ValueError:
        data = None
    if reply.status_code == 400:
        return "bad_offer", None
    if reply.status_code == 503 and isinstance(data, dict) and data.get("error") == "busy":
        return "busy", None
    if (reply.status_code != 200 or not isinstance(data, dict) or data.get("type") != "answer"
            or not isinstance(data.get("sdp"), str)):
        log.warning("video echo answered %s", reply.status_code)
        return "down", None
    return "answered", data


def broker(consultation: Consultation, principal: Principal, body: dict) -> dict:
    """The echo process's answer to the browser's offer (``{"sdp", "type", "seconds"}``)."""
    if not enabled():
        raise UserError(DISABLED, status=404)
    sdp = offer_of(body)
    if _recent(principal) >= int(current_app.config["VIDEO_ECHO_PER_USER"]):
        raise UserError(TOO_MANY, status=429)
    servers = ice_servers(principal)
    db.session.rollback()  # no transaction held while the echo gathers its candidates
    outcome, answer = _forward(sdp, servers)
    audit.record(ACTION, consultation, principal=principal,
                 data={"outcome": outcome, "turn": any("username" in server for server in servers)})
    db.session.commit()
    if outcome == "bad_offer":
        raise InvalidInput(BAD_OFFER)
    if outcome == "busy":
        raise EchoUnavailable(BUSY)
    if outcome == "down":
        raise EchoUnavailable(DOWN)
    return {"sdp": answer["sdp"], "type": "answer", "seconds": answer.get("seconds")}
