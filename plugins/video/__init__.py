"""Video «ВКС»: calls from the chat, a room with a host, mute, broadcast pause, in-call
chat and files, over WebRTC with TURN (SPEC D8, P5). See docs/video.md."""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.access import can, takes_part
from core.audit import AuditTitles
from core.db import db
from core.models import Consultation

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
        # The media path (plugins/video/media.py): "p2p" (a mesh between the browsers),
        # "janus" (the Janus SFU), or "auto": through Janus once a call has more than
        # VIDEO_SFU_THRESHOLD participants.
        "VIDEO_MEDIA_BACKEND": "p2p",
        "VIDEO_SFU_THRESHOLD": 3,
        # Janus (deploy/janus/): its HTTP API for the server, the address the browsers
        # reach (a path is on the page's own origin: ws(s)://<host><path>), the
        # token_auth_secret of janus.jcfg (also the key room secrets and PINs are derived
        # from), the videoroom admin_key, and the rooms' limits.
        "VIDEO_JANUS_URL": "http://127.0.0.1:8088/janus",
        "VIDEO_JANUS_CLIENT_URL": "/janus/ws",
        "VIDEO_JANUS_SECRET": "",
        "VIDEO_JANUS_ADMIN_KEY": "",
        "VIDEO_JANUS_TOKEN_TTL": 12 * 3600,
        "VIDEO_JANUS_PUBLISHERS": 16,
        "VIDEO_JANUS_BITRATE": 768_000,
        # The echo test of «Проверка связи»: a server peer (aiortc) in its own process
        # (plugins/video/echo.py) that the web app reaches at VIDEO_ECHO_URL (loopback);
        # `teleconsult run` starts it when enabled. Each session ends after
        # VIDEO_ECHO_SECONDS, at most VIDEO_ECHO_MAX_SESSIONS at once, a user gets
        # VIDEO_ECHO_PER_USER tests per VIDEO_ECHO_PER_SECONDS; the web app waits
        # VIDEO_ECHO_TIMEOUT seconds for an answer. VIDEO_ECHO_HOST_ADDRESSES: the
        # addresses the server peer offers (empty: every one of the machine but loopback).
        "VIDEO_ECHO_ENABLED": True,
        "VIDEO_ECHO_URL": "http://127.0.0.1:8790",
        "VIDEO_ECHO_SECONDS": 60,
        "VIDEO_ECHO_MAX_SESSIONS": 3,
        "VIDEO_ECHO_PER_USER": 10,
        "VIDEO_ECHO_PER_SECONDS": 600,
        "VIDEO_ECHO_TIMEOUT": 15.0,
        "VIDEO_ECHO_HOST_ADDRESSES": [],
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
    backend = settings.get("VIDEO_MEDIA_BACKEND")
    if backend not in ("p2p", "janus", "auto", "mesh"):
        problems.append("VIDEO_MEDIA_BACKEND must be 'p2p', 'janus' or 'auto'")
    elif backend != "p2p" and backend != "mesh" and not settings.get("VIDEO_JANUS_SECRET"):
        problems.append("VIDEO_MEDIA_BACKEND uses Janus but VIDEO_JANUS_SECRET is empty")
    if settings.get("VIDEO_ECHO_ENABLED") and not str(settings.get("VIDEO_ECHO_URL", "")).startswith(("http://", "https://")):
        problems.append("VIDEO_ECHO_URL must be an http:// address of the echo process")
    return problems


@hookimpl
def teleconsult_register_cli_commands():
    from plugins.video.echocommand import video_echo_command

    return [video_echo_command]


@hookimpl
def teleconsult_register_companion_processes(settings):
    """The echo test's server peer beside `teleconsult run`, when it is on."""
    if not settings.get("VIDEO_ECHO_ENABLED"):
        return []
    from plugins.video.echocommand import echo_argv

    return [echo_argv(settings)]


@hookimpl
def teleconsult_register_hookspecs():
    from plugins.video import hookspecs

    return [hookspecs]


@hookimpl
def teleconsult_register_media_backend():
    from plugins.video.media import JanusBackend, P2PBackend

    return [P2PBackend(), JanusBackend()]


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.video import checkviews
    from plugins.video.views import blueprint

    return [blueprint, checkviews.blueprint]


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


def _may_draw(principal, participant) -> bool:
    """On «Доска»: a participant admitted to the room of a live call, as themselves."""
    call = getattr(participant, "call", None)
    if call is None or not call.is_live or not participant.in_room:
        return False
    consultation = db.session.get(Consultation, call.consultation_id)
    if principal.is_staff:
        mine = participant.user_id == principal.id
    else:
        mine = participant.patient_id is not None and participant.patient_id == consultation.patient_id
    return mine and _may_join(principal, consultation)


def _may_clear(principal, participant) -> bool:
    """Clearing the whole board is the host's."""
    return _may_draw(principal, participant) and participant.call.host_participant_id == participant.id


@hookimpl
def teleconsult_register_access_rules():
    # «Проверка связи»: whoever may join the consultation's calls checks their devices.
    return {"video.connect": _may_connect, "video.view": _may_view, "video.join": _may_join,
            "video.start": _may_start, "video.check": _may_join, "video.board.draw": _may_draw,
            "video.board.clear": _may_clear}


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
            "video.checked": _l("Проверка связи перед видеозвонком"),
            "video.echo_tested": _l("Эхо-тест перед видеозвонком"),
            "video.board_cleared": _l("Доска очищена ведущим"),
            "video.board_exported": _l("Доска сохранена в файлы"),
        },
        objects={"video_calls": _l("Видеозвонок"), "video_checks": _l("Проверка связи")},
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
    check = {"title": _l("Проверка связи"), "url": url_for("video_check.page", consultation_id=consultation.id),
             "icon": "check", "order": 30}
    if principal.is_staff:
        from plugins.video import precheck

        actions = [
            {"title": _l("Видеозвонок"), "url": room + "?ring=1", "icon": "phone", "order": 10},
            {"title": _l("Войти в ВКС"), "url": room, "icon": "camera", "order": 20},
            check,
        ]
        # The patient's last «Проверка связи»: «У пациента заблокирована камера».
        found = precheck.latest_of_patient(consultation)
        if found is not None:
            actions.append({"title": precheck.for_doctor(found), "url": check["url"], "order": 5, "kind": "note",
                            "icon": "ok" if found.cause == precheck.OK else "warn", "data": {"check-cause": found.cause}})
        return actions
    from plugins.video import calls

    call = calls.live_call(consultation)
    if call is not None and any(p.in_room and p.side == "staff" for p in call.participants):
        return [{"title": _l("Врач ожидает в ВКС — присоединиться"), "url": room, "icon": "join", "order": 10}, check]
    return [check]


@hookimpl
def teleconsult_register_page_scripts(area, principal):
    from flask import url_for

    if area != "portal" or not principal.is_patient or not _may_connect(principal):
        return []
    return [url_for("video.vendor", filename="socket.io.min.js"), url_for("video.static", filename="video/popup.js")]


@hookimpl(optionalhook=True)
def teleconsult_register_dashboard_figures(scope):
    from plugins.video.figures import figures

    return figures(scope)
