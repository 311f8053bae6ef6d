"""Hooks of the video plugin, added through ``teleconsult_register_hookspecs``.

A plugin that implements them marks its implementation ``@hookimpl(optionalhook=True)``,
so that it still loads while the video plugin is disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.markers import hookspec

if TYPE_CHECKING:
    from plugins.video.media import MediaBackend


# --------------------------------------------------------------------------- video


@hookspec
def teleconsult_register_media_backend() -> MediaBackend | list[MediaBackend]:
    """Media backends of the call window (SPEC D8): what carries the audio and video.

    Returns a ``plugins.video.media.MediaBackend`` (or a list of them) with a ``name``
    and the methods the call's changes call: ``client_config(call, participant)`` (what
    the browser's transport of that name needs), ``admit``, ``set_muted`` (the host's
    mute, the owner's unmute), ``remove`` and ``close(call_id)`` (after the commit of
    the call's end). The video plugin brings ``p2p`` and ``janus``; the deployment's
    ``VIDEO_MEDIA_BACKEND`` (``p2p`` / ``janus`` / ``auto``) chooses among them. The
    browser side registers a transport of the same name in
    ``TeleconsultMedia.backends`` (plugins/video/static/video/mesh.js). The first
    backend of a name wins.
    """
