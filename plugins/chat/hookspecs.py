"""Hooks of the chat plugin, added through ``teleconsult_register_hookspecs``.

A plugin that implements them marks its implementation ``@hookimpl(optionalhook=True)``,
so that it still loads while the chat plugin is disabled.

Renamed hooks (the old names still work for one release, with a
``TeleconsultDeprecationWarning``):

- ``teleconsult_chat_header_actions`` → ``teleconsult_register_chat_header_actions``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.markers import hookspec

if TYPE_CHECKING:
    from core.access import Principal
    from core.models import Consultation

#: old hook name -> new name (``core.plugins.TeleconsultPluginManager.add_hookspecs``).
RENAMED_HOOKS = {"teleconsult_chat_header_actions": "teleconsult_register_chat_header_actions"}

# --------------------------------------------------------------------------- chat


@hookspec
def teleconsult_register_chat_header_actions(consultation: Consultation, principal: Principal) -> list[dict]:
    """Buttons for the header of a consultation's chat window (the video plugin's
    «Видеозвонок» and «Войти в ВКС», SPEC D8). Formerly ``teleconsult_chat_header_actions``.

    Returns dicts: ``title`` (the accessible name, a Russian lazy string), ``url`` (where
    the button leads), ``icon`` (``"phone"``, ``"camera"``, ... : the class
    ``chat-action-<icon>``) and optionally ``order`` (smaller first), ``data`` (extra
    ``data-*`` attributes) and ``kind``: ``"note"`` shows the title as a line of text under
    the header (class ``chat-note-<icon>``; the video plugin's «У пациента заблокирована
    камера») instead of a round button. Fired while the chat window is rendered, with the plugins
    switched on for the consultation's organisation.

    :param consultation: the consultation whose chat is shown.
    :param principal: who looks at it.
    :returns: the buttons, as above.
    """
