"""ICE servers for the browsers: STUN/TURN from settings, short-lived TURN credentials.

TURN REST credentials (coturn's ``use-auth-secret``): the username is
``<expiry unix time>:<participant id>``, the password base64(HMAC-SHA1(secret, username)).
They are issued only to a participant in the room and expire after ``VIDEO_TURN_TTL``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from flask import current_app


def credentials(secret: str, name: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    username = f"{int((now or time.time()) + ttl)}:{name}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def ice_servers(name: str, ttl: int | None = None) -> list[dict]:
    """The deployment's STUN and TURN, with TURN credentials for ``name`` valid ``ttl``
    seconds (``VIDEO_TURN_TTL`` by default)."""
    config = current_app.config
    servers: list[dict] = []
    if config["VIDEO_STUN_URLS"]:
        servers.append({"urls": list(config["VIDEO_STUN_URLS"])})
    if config["VIDEO_TURN_URLS"] and config["VIDEO_TURN_SECRET"]:
        username, password = credentials(config["VIDEO_TURN_SECRET"], name, int(ttl or config["VIDEO_TURN_TTL"]))
        servers.append({"urls": list(config["VIDEO_TURN_URLS"]), "username": username, "credential": password})
    return servers


def client_config(participant_id: int) -> dict:
    """What the browser's media backend needs (``plugins/video/static/video/mesh.js``)."""
    config = current_app.config
    return {
        "backend": config["VIDEO_MEDIA_BACKEND"],
        "iceServers": ice_servers(f"p{participant_id}"),
        "iceTransportPolicy": config["VIDEO_ICE_TRANSPORT_POLICY"],
    }
