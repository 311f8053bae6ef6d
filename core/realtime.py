"""Base for plugins' Socket.IO namespaces.

Every event (not only ``connect``) is refused while the owning plugin is switched off:
for the organisation of the consultation the event is about (``event_consultation_id``),
else for the viewer (``core.plugins.enabled_for_viewer``). The access policy is asked
for each event with what is true now. The principal is worked out afresh for each event
unless the namespace keeps it per connection (``event_principal``), as the chat does: it
re-validates its connections' logins every few seconds and checks logouts on every
event. Handlers still call ``core.access.require`` for their objects;
a refusal (or any ``UserError``) goes back as the event's acknowledgement
``{"ok": False, "status": ..., "error": "<Russian message>"}`` instead of a crash; so is
an event whose arguments hold a NUL byte or nest too deep (``core.params``).
Every accepted connection is watched for the end of its login session
(``core.sessions``): it is disconnected within ``SESSION_RECHECK_SECONDS`` of a logout,
a password, role or lock change, or a timeout, and its events are refused meanwhile.
"""

from __future__ import annotations

import functools

from flask import g, request
from flask_babel import gettext as _
from flask_socketio import Namespace as _Namespace
from flask_socketio import disconnect
from werkzeug.exceptions import HTTPException, Unauthorized

from core import params, sessions
from core.access import set_principal
from core.db import db
from core.errors import TITLES, UserError
from core.models import LoginSession
from core.plugins import enabled_for_object


class Namespace(_Namespace):
    #: set by the core to the name of the plugin that registered the namespace
    teleconsult_plugin: str = ""

    def trigger_event(self, event, *args):
        if not isinstance(event, str):
            return None  # a raw frame can name its event with a number, a list, null…
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            if event not in ("connect", "disconnect"):
                return None
            # A switched-off plugin refuses connections all the same; a socket that goes
            # is no longer watched for the end of its login.
            handler = _accept
        guarded = functools.partial(self._guarded, event, handler)
        # Flask-SocketIO calls the handler inside the request context of the connection.
        return self.socketio._handle_event(guarded, event, self.namespace, *args)

    def event_principal(self, event: str):
        """The principal of this event when the namespace keeps one per connection, or
        None to load it from the login session (Flask-Login) as pages do."""
        return None

    def event_consultation_id(self, event: str, *args):
        """The id of the consultation an event is about (``{"consultation_id": ...}`` by
        default), whose organisation's switch then decides; None: the viewer's."""
        data = args[0] if args else None
        return data.get("consultation_id") if isinstance(data, dict) else None

    def _guarded(self, event, handler, *args):
        for key in ("_login_user", "teleconsult_principal", "teleconsult_switched_off"):
            g.pop(key, None)
        if event == "disconnect":
            sessions.socket_watch().remove(self.namespace, request.sid)
        principal = self.event_principal(event)
        if principal is not None:
            set_principal(principal)
        if self.teleconsult_plugin and not enabled_for_object(
            self.teleconsult_plugin, self.event_consultation_id(event, *args)
        ):
            if event == "connect":
                return False
            disconnect()
            return {"ok": False, "status": 404, "error": "plugin switched off"}
        if event != "disconnect" and not sessions.socket_session_live():
            # The login is over (logout, password, roles, lock, timeouts): core.sessions.
            disconnect()
            return False if event == "connect" else refusal(Unauthorized())
        try:
            params.refuse_nul_in(args)
            answer = handler(*args)
            if event == "connect" and answer is not False:
                sessions.watch(self.namespace, request.sid)
            return answer
        except (HTTPException, UserError) as error:
            db.session.rollback()
            if event == "connect":
                return False
            return refusal(error)


def _accept(*args) -> None:
    return None


def refusal(error: Exception) -> dict:
    if isinstance(error, UserError):
        return {"ok": False, "status": error.status, "error": str(error.message)}
    status = getattr(error, "code", 400) or 400
    return {"ok": False, "status": status, "error": _(TITLES.get(status, "Ошибка"))}


def login_session_id() -> str | None:
    """The login session of this request or socket, for a namespace that keeps state per
    socket and must notice when that login ends (as the video rooms do)."""
    return sessions.current_id()


def login_session_over(session_id: str | None) -> bool:
    """Whether that login session has ended: a logout through any process, a password, role
    or lock change, a timeout. ``None`` (an anonymous socket) is never over. Reads the
    database afresh; needs an app context."""
    if session_id is None:
        return False
    return not sessions.is_live(db.session.get(LoginSession, session_id, populate_existing=True))
