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
"""

from __future__ import annotations

import functools

from flask import g
from flask_socketio import Namespace as _Namespace
from flask_socketio import disconnect
from werkzeug.exceptions import HTTPException

from core import params
from core.access import set_principal
from core.db import db
from core.errors import UserError
from core.plugins import enabled_for_object


class Namespace(_Namespace):
    #: set by the core to the name of the plugin that registered the namespace
    teleconsult_plugin: str = ""

    def trigger_event(self, event, *args):
        handler = getattr(self, "on_" + (event or ""), None)
        if handler is None:
            if event != "connect":
                return None
            handler = _accept  # a switched-off plugin refuses connections all the same
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
        try:
            params.refuse_nul_in(args)
            return handler(*args)
        except (HTTPException, UserError) as error:
            db.session.rollback()
            if event == "connect":
                return False
            return refusal(error)


def _accept(*args) -> None:
    return None


def refusal(error: Exception) -> dict:
    from flask_babel import gettext as _

    from core.errorpages import TITLES

    if isinstance(error, UserError):
        return {"ok": False, "status": error.status, "error": str(error.message)}
    status = getattr(error, "code", 400) or 400
    return {"ok": False, "status": status, "error": _(TITLES.get(status, "Ошибка"))}
