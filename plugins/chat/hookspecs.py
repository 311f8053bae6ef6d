"""Hooks of the chat plugin, added through ``teleconsult_add_hookspecs``.

A plugin that implements them marks its implementation ``@hookimpl(optionalhook=True)``,
so that it still loads while the chat plugin is disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.markers import hookspec

if TYPE_CHECKING:
    from core.access import Principal
    from core.models import Consultation


# --------------------------------------------------------------------------- chat


@hookspec
def teleconsult_chat_header_actions(consultation: Consultation, principal: Principal) -> list[dict]:
    """Buttons for the header of a consultation's chat window (the video plugin's
    «Видеозвонок» and «Войти в ВКС», SPEC D8).

    Returns dicts: ``title`` (the accessible name, a Russian lazy string), ``url`` (where
    the button leads), ``icon`` (``"phone"``, ``"camera"``, ... : the class
    ``chat-action-<icon>``) and optionally ``order`` (smaller first), ``data`` (extra
    ``data-*`` attributes) and ``kind``: ``"note"`` shows the title as a line of text under
    the header (class ``chat-note-<icon>``; the video plugin's «У пациента заблокирована
    камера») instead of a round button. Fired while the chat window is rendered, with the plugins
    switched on for the consultation's organisation.
    """
