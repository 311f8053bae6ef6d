"""Hooks of the notifications plugin, added through ``teleconsult_register_hookspecs``.

A plugin that implements them marks its implementation ``@hookimpl(optionalhook=True)``,
so that it still loads while the notifications plugin is disabled.

Renamed hooks (the old names still work for one release, with a
``TeleconsultDeprecationWarning``):

- ``teleconsult_notification_channels`` → ``teleconsult_register_notification_channels``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.markers import hookspec

if TYPE_CHECKING:
    from flask import Flask

    from plugins.notifications.channels import NotificationChannel

#: old hook name -> new name (``core.plugins.TeleconsultPluginManager.add_hookspecs``).
RENAMED_HOOKS = {"teleconsult_notification_channels": "teleconsult_register_notification_channels"}

# --------------------------------------------------------------------------- notification


@hookspec
def teleconsult_register_notification_channels(app: Flask) -> list[NotificationChannel]:
    """Channels that deliver notifications to patients (SPEC F3): e-mail, SMS, ...
    Formerly ``teleconsult_notification_channels``.

    ``app`` is given for reading settings only. Returns objects with the interface of
    ``plugins.notifications.channels.NotificationChannel``: a ``code`` (``"email"``,
    ``"sms"``), ``address_for(consultation)`` (the recipient's address, or None when the
    channel cannot reach them) and ``deliver(message)``, which raises
    ``TemporaryFailure`` (retried with backoff) or ``PermanentFailure`` (shown to the
    operator at once). A later plugin's channel with the same code replaces an earlier
    one, so a real SMS provider replaces the built-in log channel. Called once per send
    by the notifications plugin; ``NOTIFICATIONS_CHANNELS`` lists the codes in use.

    :param app: the app, for reading settings only.
    :returns: the channels, as above.
    """
