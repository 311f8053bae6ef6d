"""Video «ВКС»: calls from the chat, a room with a host, mute, broadcast pause, in-call
chat and files, over WebRTC with TURN (SPEC D8, P5). See docs/video.md."""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.access import can, takes_part
from core.audit import AuditTitles

DESCRIPTION = _l("Видеоконсультации (ВКС) из чата: комната с ведущим, выключение микрофона и камеры, пауза трансляции")
MIGRATIONS = str(Path(__file__).parent / "migrations" / "versions")
REPO_ROOT = Path(__file__).resolve().parents[2]


@hookimpl
def teleconsult_register_config_defaults():
    return {
        # Ringing stops after this many seconds: the call is missed (SPEC P5).
        "VIDEO_RING_SECONDS": 45.0,
        # Sockets' logins and access are re-checked this often (seconds).
        "VIDEO_RECHECK_SECONDS": 2.0,
        # A dropped socket keeps its place in the room this long for a reconnect.
        "VIDEO_RECONNECT_SECONDS": 15.0,
        # ICE servers given to the browsers; TURN with TURN REST credentials (coturn's
        # use-auth-secret = VIDEO_TURN_SECRET) valid for VIDEO_TURN_TTL seconds.
        "VIDEO_STUN_URLS": [],
        "VIDEO_TURN_URLS": [],
        "VIDEO_TURN_SECRET": "",
        "VIDEO_TURN_TTL": 3600,
        # "all", or "relay" to force every call through TURN.
        "VIDEO_ICE_TRANSPORT_POLICY": "all",
        # The browsers' media path: "mesh" (peer to peer, 2-3 participants).
        "VIDEO_MEDIA_BACKEND": "mesh",
        # Where `npm ci` put webrtc-adapter and socket.io-client.
        "VIDEO_NODE_MODULES": str(REPO_ROOT / "node_modules"),
    }


@hookimpl
def teleconsult_config_check(settings):
    problems = []
    if settings.get("VIDEO_TURN_URLS") and not settings.get("VIDEO_TURN_SECRET"):
        problems.append("VIDEO_TURN_URLS is set but VIDEO_TURN_SECRET is empty")
    if settings.get("VIDEO_ICE_TRANSPORT_POLICY") not in ("all", "relay"):
        problems.append("VIDEO_ICE_TRANSPORT_POLICY must be 'all' or 'relay'")
    return problems


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.video.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_socketio_namespaces():
    from plugins.video.events import namespace

    return [namespace()]


@hookimpl
def teleconsult_register_migrations():
    return [MIGRATIONS]


def _may_connect(principal, obj=None) -> bool:
    # A patient only after accepting the current informed consent (SPEC P2).
    return principal.is_staff or can("portal.chat", None, principal)


def _may_view(principal, consultation) -> bool:
    return _may_connect(principal) and takes_part(principal, consultation)


def _may_join(principal, consultation) -> bool:
    return _may_view(principal, consultation) and not consultation.is_closed


def _may_start(principal, consultation) -> bool:
    return principal.is_staff and _may_join(principal, consultation)


@hookimpl
def teleconsult_register_access_rules():
    return {"video.connect": _may_connect, "video.view": _may_view, "video.join": _may_join,
            "video.start": _may_start}


@hookimpl
def teleconsult_register_audit_titles():
    return AuditTitles(
        actions={
            "video.started": _l("Видеозвонок начат"),
            "video.accepted": _l("Видеозвонок принят"),
            "video.declined": _l("Видеозвонок отклонён"),
            "video.missed": _l("Видеозвонок пропущен"),
            "video.joined": _l("Вход в видеоконсультацию"),
            "video.left": _l("Выход из видеоконсультации"),
            "video.host_transferred": _l("Права ведущего переданы"),
            "video.muted": _l("Микрофон участника отключён ведущим"),
            "video.ended": _l("Видеоконсультация завершена"),
        },
        objects={"video_calls": _l("Видеозвонок")},
    )


@hookimpl
def teleconsult_consultation_completed(consultation, outcome, actor):
    """Closing the consultation ends its call and takes everyone out of the room."""
    from plugins.video import calls

    call = calls.live_call(consultation)
    if call is not None:
        calls.end(call, actor)


@hookimpl(optionalhook=True)
def teleconsult_register_chat_header_actions(consultation, principal):
    from flask import url_for

    if consultation.is_closed or not can("video.join", consultation, principal):
        return []
    room = url_for("video.room", consultation_id=consultation.id)
    if principal.is_staff:
        return [
            {"title": _l("Видеозвонок"), "url": room + "?ring=1", "icon": "phone", "order": 10},
            {"title": _l("Войти в ВКС"), "url": room, "icon": "camera", "order": 20},
        ]
    from plugins.video import calls

    call = calls.live_call(consultation)
    if call is not None and any(p.in_room and p.side == "staff" for p in call.participants):
        return [{"title": _l("Врач ожидает в ВКС — присоединиться"), "url": room, "icon": "join", "order": 10}]
    return []


@hookimpl
def teleconsult_register_page_scripts(area, principal):
    from flask import url_for

    if area != "portal" or not principal.is_patient or not _may_connect(principal):
        return []
    return [url_for("video.vendor", filename="socket.io.min.js"), url_for("video.static", filename="video/popup.js")]
