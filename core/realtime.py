"""Base for plugins' Socket.IO namespaces.

Every event (not only ``connect``) is refused while the owning plugin is switched off,
and the principal is worked out afresh for each event, so the access policy is asked
with what is true now. Handlers still call ``core.access.require`` for their objects.
"""

from __future__ import annotations

from flask import g
from flask_socketio import Namespace as _Namespace
from flask_socketio import disconnect

from core.plugins import is_enabled


class Namespace(_Namespace):
    #: set by the core to the name of the plugin that registered the namespace
    teleconsult_plugin: str = ""

    def trigger_event(self, event, *args):
        g.pop("_login_user", None)
        g.pop("teleconsult_principal", None)
        g.pop("teleconsult_switched_off", None)
        if self.teleconsult_plugin and not is_enabled(self.teleconsult_plugin):
            if event == "connect":
                return False
            disconnect()
            return {"ok": False, "error": "plugin switched off"}
        return super().trigger_event(event, *args)
