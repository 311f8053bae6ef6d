"""The patient portal «Здоровье петербуржца» (SPEC P1-P3, P7, P8): blueprint ``portal``.

Patients log in through an identity provider's plugin (the one that
``teleconsult_register_login_options`` names first; built in: ESIA); the chat window and unread counters come
from the chat plugin through ``teleconsult_register_consultation_link`` and
``teleconsult_register_consultation_badges``.
"""

from core.portal.views import blueprint

__all__ = ["blueprint"]
