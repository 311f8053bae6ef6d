"""Chat: a real-time chat per consultation for the doctor and the patient (SPEC D7, P3, P4, P6)."""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.access import can, takes_part
from core.menus import MenuItem

# What the console's «Плагины» shows (Russian, translated through Flask-Babel).
DESCRIPTION = _l("Чат врача и пациента по консультации: сообщения в реальном времени, файлы, отметки о прочтении")

MIGRATIONS = str(Path(__file__).parent / "migrations" / "versions")
REPO_ROOT = Path(__file__).resolve().parents[2]


@hookimpl
def teleconsult_register_hookspecs():
    from plugins.chat import hookspecs

    return [hookspecs]


@hookimpl
def teleconsult_register_config_defaults():
    return {
        # Each web process re-checks its sockets' logins and access this often (seconds).
        "CHAT_RECHECK_SECONDS": 2.0,
        # Events re-read the list of ended logins at most this often (seconds).
        "CHAT_REVOKED_REFRESH_SECONDS": 1.0,
        # Where `npm ci` put socket.io-client.
        "CHAT_NODE_MODULES": str(REPO_ROOT / "node_modules"),
    }


@hookimpl
def teleconsult_register_blueprints(app):
    from plugins.chat.views import blueprint

    return [blueprint]


@hookimpl
def teleconsult_register_socketio_namespaces():
    from plugins.chat.events import namespace

    return [namespace()]


@hookimpl
def teleconsult_register_migrations():
    return [MIGRATIONS]


@hookimpl
def teleconsult_register_menu_items(area):
    if area != "workplace":
        return []
    return [MenuItem(_l("Сообщения"), "chat.index", order=20, icon="chat")]


def _may_use_chat(principal, obj=None) -> bool:
    # A patient only after accepting the current informed consent (SPEC P2): the core's
    # rule decides, the same for pages, the API and every Socket.IO event.
    return principal.is_staff or can("portal.chat", None, principal)


def _may_view(principal, consultation) -> bool:
    return _may_use_chat(principal) and takes_part(principal, consultation)


def _may_write(principal, consultation) -> bool:
    return _may_view(principal, consultation) and not consultation.is_closed


@hookimpl
def teleconsult_register_access_rules():
    return {"chat.connect": _may_use_chat, "chat.view": _may_view, "chat.write": _may_write}


@hookimpl
def teleconsult_consultation_created(consultation, actor):
    from plugins.chat.chats import create_chat

    create_chat(consultation)


@hookimpl
def teleconsult_participant_added(consultation, participant):
    from plugins.chat.chats import add_member

    add_member(consultation, participant)


@hookimpl
def teleconsult_consultation_completed(consultation, outcome, actor):
    from plugins.chat.messages import close

    close(consultation, outcome, actor)


@hookimpl
def teleconsult_register_consultation_badges(consultations, principal):
    from plugins.chat.unread import unread_counts

    return unread_counts([c.id for c in consultations], principal)


@hookimpl
def teleconsult_register_list_scripts(area, principal):
    from flask import url_for

    # The lists' circles and grey items follow the chat live (SPEC P3, D7).
    if not _may_use_chat(principal):
        return []
    return [
        url_for("chat.vendor", filename="socket.io.min.js"),
        url_for("chat.static", filename="chat/badges.js"),
    ]


@hookimpl
def teleconsult_register_consultation_link(consultation, principal):
    from flask import url_for

    from core.access import can

    # Patients open the chat from «Чат с врачом»; staff lists keep opening the card.
    if not principal.is_patient or not can("chat.view", consultation, principal):
        return None
    return url_for("chat.window", consultation_id=consultation.id)


@hookimpl
def teleconsult_register_consultation_actions(consultation, principal):
    if not principal.is_staff:
        return []
    return [MenuItem(_l("Чат с пациентом"), "chat.window", order=10, icon="chat",
                     url_values={"consultation_id": consultation.id})]


@hookimpl
def teleconsult_consultation_notified(consultation, event, text):
    from plugins.chat.messages import post_notice

    post_notice(consultation, event, text)
