"""The media path of a call: which backend carries the audio and video (SPEC D8, P5).

A backend is registered with ``teleconsult_register_media_backend`` (plugins/video/hookspecs.py);
the video plugin brings two: ``p2p`` (a peer-to-peer mesh between the browsers, the
server only relays their offers and candidates) and ``janus`` (a Janus SFU's videoroom,
plugins/video/janus.py). ``VIDEO_MEDIA_BACKEND`` chooses per deployment: ``p2p``,
``janus``, or ``auto``: a call goes through Janus when more than ``VIDEO_SFU_THRESHOLD``
people take part (a consilium with a second doctor, a guardian with the child, an
interpreter), counted when it starts and again whenever somebody enters; a call never
moves back from the SFU to the mesh while it lasts.

The backend of a call is kept in ``video_calls.media``; the room's ``state`` names it and
the browsers switch their transport when it changes.
"""

from __future__ import annotations

import logging

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from core.errors import UserError
from core.plugins import plugin_manager
from core.tx import after_commit
from plugins.video import janus, turn
from plugins.video.models import VideoCall, VideoParticipant

log = logging.getLogger(__name__)

CHOICES = ("p2p", "janus", "auto")


class MediaUnavailable(UserError):
    status = 503


class MediaBackend:
    """What the call's state changes ask of a media backend. Every method runs in the
    request's transaction (``close`` after its commit); the default does nothing."""

    name = ""

    def client_config(self, call: VideoCall, participant: VideoParticipant) -> dict:
        """What the browser's transport of this name needs besides the ICE servers."""
        return {}

    def admit(self, call: VideoCall, participant: VideoParticipant) -> None:
        """``participant`` entered the room (after ``video.join`` allowed them)."""

    def set_muted(self, call: VideoCall, participant: VideoParticipant, muted: bool) -> None:
        """The host muted ``participant``, or they unmuted themselves."""

    def remove(self, call: VideoCall, participant: VideoParticipant) -> None:
        """``participant`` left the room or lost access to it."""

    def close(self, call_id: int) -> None:
        """The call ended (hung up, emptied, the consultation closed); after the commit."""


class P2PBackend(MediaBackend):
    """The browsers connect to each other; signals go through ``/video`` ``signal``."""

    name = "p2p"


class JanusBackend(MediaBackend):
    """A videoroom of Janus per call: created on the first admission, with a secret and a
    PIN derived from ``VIDEO_JANUS_SECRET``; only the room tokens of admitted participants
    may join it."""

    name = "janus"

    def _secret(self) -> str:
        return current_app.config["VIDEO_JANUS_SECRET"]

    def room_secret(self, call_id: int) -> str:
        return janus.derived(self._secret(), "room-secret", call_id)

    def room_pin(self, call_id: int) -> str:
        return janus.derived(self._secret(), "room-pin", call_id)

    def room_token(self, participant_id: int) -> str:
        return janus.derived(self._secret(), "participant", participant_id)

    def observer_token(self, call_id: int) -> str:
        """The app's own room token: it joins as a passive attendee to read the streams."""
        return janus.derived(self._secret(), "observer", call_id)

    def client_config(self, call, participant) -> dict:
        config = current_app.config
        return {
            "server": config["VIDEO_JANUS_CLIENT_URL"],
            "token": janus.signed_token(self._secret(), int(config["VIDEO_JANUS_TOKEN_TTL"])),
            "room": call.id,
            "pin": self.room_pin(call.id),
            "roomToken": self.room_token(participant.id),
            "display": participant.name,
            "library": url_for("video.vendor", filename="janus.es.js"),
        }

    def admit(self, call, participant) -> None:
        config = current_app.config
        client = janus.client()
        try:
            client.create_room(call.id, self.room_secret(call.id), self.room_pin(call.id),
                               publishers=int(config["VIDEO_JANUS_PUBLISHERS"]),
                               bitrate=int(config["VIDEO_JANUS_BITRATE"]), description=f"call {call.id}")
            client.allow(call.id, self.room_secret(call.id),
                         [self.observer_token(call.id), self.room_token(participant.id)])
        except (janus.JanusError, OSError, ValueError) as error:
            log.warning("Janus room %s: admission failed: %s", call.id, error)
            raise MediaUnavailable(_l("Медиасервер видеосвязи недоступен, повторите попытку позже")) from None

    def set_muted(self, call, participant, muted) -> None:
        """Mute (or unmute) every audio stream the participant publishes, by the mid Janus
        lists for it: the browser decides the order of its m-lines, not the server."""
        client = janus.client()
        try:
            mids = client.audio_mids(call.id, self.room_pin(call.id), self.observer_token(call.id), participant.id)
            for mid in mids:  # none: not publishing yet, the browser mutes itself
                client.moderate(call.id, self.room_secret(call.id), participant.id, muted, mid)
        except janus.JanusError as error:
            if error.code != janus.NO_SUCH_FEED:  # left meanwhile
                log.warning("Janus room %s: moderate failed: %s", call.id, error)
        except (OSError, ValueError) as error:
            log.warning("Janus room %s: moderate failed: %s", call.id, error)

    def remove(self, call, participant) -> None:
        client, secret = janus.client(), self.room_secret(call.id)
        try:
            client.allow(call.id, secret, [self.room_token(participant.id)], add=False)
            client.kick(call.id, secret, participant.id)
        except janus.JanusError as error:
            if error.code not in (janus.NO_SUCH_FEED, janus.NO_SUCH_ROOM):
                log.warning("Janus room %s: removal failed: %s", call.id, error)
        except (OSError, ValueError) as error:
            log.warning("Janus room %s: removal failed: %s", call.id, error)

    def close(self, call_id) -> None:
        try:
            janus.client().destroy_room(call_id, self.room_secret(call_id))
        except (janus.JanusError, OSError, ValueError) as error:
            log.warning("Janus room %s: destroy failed: %s", call_id, error)


def backends() -> dict[str, MediaBackend]:
    found: dict[str, MediaBackend] = {}
    for answer in plugin_manager().hook.teleconsult_register_media_backend():
        for backend in answer if isinstance(answer, (list, tuple)) else [answer]:
            if backend is not None:
                found.setdefault(backend.name, backend)
    return found


def backend_of(call: VideoCall) -> MediaBackend:
    found = backends()
    return found.get(call.media or "p2p") or found.get("p2p") or P2PBackend()


def expected_people(consultation) -> int:
    """Who may take part in the consultation's call: its staff and the patient's side."""
    staff = {consultation.author_id, consultation.consultant_id}
    staff |= {p.user_id for p in consultation.participants if p.user_id is not None}
    return len(staff - {None}) + len({consultation.patient_id, consultation.representative_id} - {None})


def initial(consultation) -> str:
    """The backend a new call of ``consultation`` starts on."""
    config = current_app.config
    setting = config["VIDEO_MEDIA_BACKEND"]
    if setting == "auto":
        return "janus" if expected_people(consultation) > int(config["VIDEO_SFU_THRESHOLD"]) else "p2p"
    return "p2p" if setting == "mesh" else setting


def upgrade_if_crowded(call: VideoCall) -> bool:
    """With ``auto``: more people in the room than the threshold moves the call to Janus."""
    config = current_app.config
    if config["VIDEO_MEDIA_BACKEND"] != "auto" or call.media == "janus":
        return False
    if sum(1 for p in call.participants if p.in_room) <= int(config["VIDEO_SFU_THRESHOLD"]):
        return False
    call.media = "janus"
    for participant in call.participants:
        if participant.in_room:
            backend_of(call).admit(call, participant)
    return True


def client_config(call: VideoCall, participant: VideoParticipant) -> dict:
    """What the browser's media transport needs: ICE servers, the backend and its part."""
    return {**turn.client_config(participant.id), "backend": call.media or "p2p",
            **backend_of(call).client_config(call, participant)}


def admit(call: VideoCall, participant: VideoParticipant) -> None:
    backend_of(call).admit(call, participant)


def set_muted(call: VideoCall, participant: VideoParticipant, muted: bool) -> None:
    backend_of(call).set_muted(call, participant, muted)


def remove(call: VideoCall, participant: VideoParticipant) -> None:
    backend_of(call).remove(call, participant)


def close(call: VideoCall) -> None:
    backend, call_id = backend_of(call), call.id
    app = current_app._get_current_object()

    def closing():
        with app.app_context():
            backend.close(call_id)

    after_commit(closing)
