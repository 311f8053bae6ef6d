"""The Janus SFU media backend: rooms of the videoroom plugin for calls of many (SPEC D8, P5).

The server side talks to Janus's HTTP API (``VIDEO_JANUS_URL``): it creates the room of a
call with a secret (``secret``, known only to the app) and a PIN, admits participants by
adding their room token to the room's ``allowed`` list, mutes a participant's audio at
the SFU (``moderate`` of each audio stream the publisher sends, by the mid Janus lists for
it, read as a passive attendee of the room with the app's own room token), takes out who
left (``kick``) and destroys the room when the call ends. Browsers publish and subscribe
with Meetecho's ``janus-gateway`` client (``static/video/janus.js``) through
``VIDEO_JANUS_CLIENT_URL``.

Janus itself runs with ``token_auth_secret``: every Janus API request carries a signed
token ``<expiry>,janus,janus.plugin.videoroom:<base64 HMAC-SHA1>``; the app issues one to
each participant it admitted (after ``video.join`` allowed them) and signs its own.
Room ids are the call ids; secret, PIN and room tokens are derived from
``VIDEO_JANUS_SECRET`` so that nothing of them is stored.

``write_config`` writes a minimal Janus configuration (videoroom plugin, HTTP and
WebSocket transports on given ports); the tests and bench/janus_bench.py start Janus
with it, deploy/janus/ holds the production one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import subprocess
import time
from pathlib import Path

import requests
from flask import current_app

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.videoroom"
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428


class JanusError(RuntimeError):
    def __init__(self, code: int | None, reason: str):
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def signed_token(secret: str, ttl: int, now: float | None = None, plugins: tuple[str, ...] = (PLUGIN,)) -> str:
    """A Janus signed token (``token_auth_secret``) valid for ``ttl`` seconds."""
    data = ",".join([str(int((now or time.time()) + ttl)), "janus", *plugins])
    signature = base64.b64encode(hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()).decode()
    return f"{data}:{signature}"


def derived(secret: str, *parts) -> str:
    """A value derived from the deployment's Janus secret (room secret, PIN, room token)."""
    message = ":".join(str(p) for p in parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


class JanusClient:
    """Requests to the videoroom plugin over Janus's HTTP API: one short session each
    (create, attach, message, destroy), so no keep-alive is needed between requests."""

    def __init__(self, url: str, token_secret: str = "", admin_key: str = "", timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.token_secret = token_secret
        self.admin_key = admin_key
        self.timeout = timeout
        self.http = requests.Session()

    def _token(self) -> dict:
        return {"token": signed_token(self.token_secret, 60)} if self.token_secret else {}

    def _post(self, path: str, body: dict) -> dict:
        body = {"transaction": secrets.token_hex(8), **body, **self._token()}
        answer = self.http.post(self.url + path, json=body, timeout=self.timeout).json()
        if answer.get("janus") == "error":
            error = answer.get("error", {})
            raise JanusError(error.get("code"), error.get("reason", ""))
        return answer

    def info(self) -> dict:
        return self.http.get(self.url + "/info", timeout=self.timeout).json()

    def request(self, body: dict) -> dict:
        """One synchronous videoroom request; its ``plugindata.data`` (errors raised)."""
        session = self._post("", {"janus": "create"})["data"]["id"]
        try:
            handle = self._post(f"/{session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
            answer = self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
        finally:
            try:
                self._post(f"/{session}", {"janus": "destroy"})
            except (requests.RequestException, JanusError, ValueError):
                pass
        data = answer.get("plugindata", {}).get("data", {})
        if data.get("videoroom") == "event" and "error_code" in data:
            raise JanusError(data["error_code"], data.get("error", ""))
        return data

    # ------------------------------------------------------------------ videoroom

    def create_room(self, room: int, secret: str, pin: str, publishers: int, bitrate: int,
                    description: str = "") -> bool:
        """Create the room (only admitted tokens may join); False if it was there already."""
        body = {"request": "create", "room": room, "permanent": False, "secret": secret, "pin": pin,
                "is_private": True, "publishers": publishers, "bitrate": bitrate, "description": description,
                "allowed": [], "audiocodec": "opus", "videocodec": "vp8", "notify_joining": True}
        if self.admin_key:
            body["admin_key"] = self.admin_key
        try:
            self.request(body)
        except JanusError as error:
            if error.code == ROOM_EXISTS:
                return False
            raise
        # An empty ``allowed`` list at creation means «no check»: switch the check on.
        self.request({"request": "allowed", "room": room, "secret": secret, "action": "enable"})
        return True

    def exists(self, room: int) -> bool:
        return bool(self.request({"request": "exists", "room": room}).get("exists"))

    def allow(self, room: int, secret: str, tokens: list[str], add: bool = True) -> None:
        self.request({"request": "allowed", "room": room, "secret": secret, "action": "add" if add else "remove",
                      "allowed": tokens})

    def allowed(self, room: int, secret: str) -> list[str]:
        # An ``add`` of nothing answers the current list.
        return list(self.request({"request": "allowed", "room": room, "secret": secret, "action": "add",
                                  "allowed": []}).get("allowed", []))

    def participants(self, room: int) -> list[dict]:
        return list(self.request({"request": "listparticipants", "room": room}).get("participants", []))

    def publishers(self, room: int, pin: str, token: str) -> dict[int, list[dict]]:
        """Who publishes in the room and their streams as Janus holds them
        (``{feed: [{"type", "mid", "moderated", …}]}``): what a passive attendee's
        ``join`` answers (``listparticipants`` names no streams). ``token`` must be in
        the room's ``allowed`` list; the attendee leaves at once."""
        session = self._post("", {"janus": "create"})["data"]["id"]
        try:
            handle = self._post(f"/{session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
            self._post(f"/{session}/{handle}", {"janus": "message", "body": {
                "request": "join", "ptype": "publisher", "room": room, "pin": pin, "token": token}})
            data = self._event(session, handle)
        finally:
            try:
                self._post(f"/{session}", {"janus": "destroy"})
            except (requests.RequestException, JanusError, ValueError):
                pass
        if data.get("videoroom") != "joined":
            raise JanusError(data.get("error_code"), data.get("error", "no joined event"))
        return {int(p["id"]): list(p.get("streams", [])) for p in data.get("publishers", [])}

    def _event(self, session: int, handle: int) -> dict:
        """The plugin's next event for ``handle`` (long poll of the HTTP transport)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            answer = self.http.get(f"{self.url}/{session}", params={"maxev": 1, **self._token()},
                                   timeout=self.timeout + 35).json()
            if answer.get("janus") == "error":
                error = answer.get("error", {})
                raise JanusError(error.get("code"), error.get("reason", ""))
            if answer.get("janus") == "event" and answer.get("sender") == handle:
                return answer.get("plugindata", {}).get("data", {})
        raise JanusError(None, "no event in time")

    def audio_mids(self, room: int, pin: str, token: str, feed: int) -> list[str]:
        """The mids of the audio streams ``feed`` publishes (none: not publishing)."""
        streams = self.publishers(room, pin, token).get(feed, [])
        return [s["mid"] for s in streams if s.get("type") == "audio" and not s.get("disabled")]

    def moderate(self, room: int, secret: str, feed: int, mute: bool, mid: str) -> None:
        self.request({"request": "moderate", "room": room, "secret": secret, "id": feed, "mid": mid, "mute": mute})

    def kick(self, room: int, secret: str, feed: int) -> None:
        self.request({"request": "kick", "room": room, "secret": secret, "id": feed})

    def destroy_room(self, room: int, secret: str) -> bool:
        try:
            self.request({"request": "destroy", "room": room, "secret": secret, "permanent": False})
        except JanusError as error:
            if error.code == NO_SUCH_ROOM:
                return False
            raise
        return True


def client(app=None) -> JanusClient:
    app = app or current_app
    found = app.extensions.get("video.janus")
    config = app.config
    key = (config["VIDEO_JANUS_URL"], config["VIDEO_JANUS_SECRET"], config["VIDEO_JANUS_ADMIN_KEY"])
    if found is None or found[0] != key:
        found = (key, JanusClient(*key))
        app.extensions["video.janus"] = found
    return found[1]


# --------------------------------------------------------------------------- config

def write_config(folder: str | Path, http_port: int, ws_port: int, token_secret: str, admin_key: str,
                 ip: str = "127.0.0.1", rtp_ports: str = "", log_file: str | None = None) -> Path:
    """A minimal Janus configuration in ``folder``: the core with signed tokens, the
    videoroom plugin (rooms only through the API with ``admin_key``), HTTP and WebSocket
    transports bound to ``ip``; every other plugin and transport off."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    libs = Path("/usr/lib/x86_64-linux-gnu/janus")
    found = {kind: sorted(p.name for p in (libs / kind).glob("*.so")) for kind in ("plugins", "transports", "events", "loggers")}
    keep = {"plugins": {"libjanus_videoroom.so"}, "transports": {"libjanus_http.so", "libjanus_websockets.so"}}

    def disabled(kind: str) -> str:
        return ",".join(name for name in found[kind] if name not in keep.get(kind, set()))

    log_line = f'\tlog_to_file = "{log_file}"\n' if log_file else ""
    rtp_line = f'\trtp_port_range = "{rtp_ports}"\n' if rtp_ports else ""
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'\tconfigs_folder = "{folder}"\n'
        f'\tplugins_folder = "{libs / "plugins"}"\n'
        f'\ttransports_folder = "{libs / "transports"}"\n'
        f'\tevents_folder = "{libs / "events"}"\n'
        f'\tloggers_folder = "{libs / "loggers"}"\n'
        "\tdebug_level = 3\n"
        f"{log_line}"
        "\ttoken_auth = true\n"
        f'\ttoken_auth_secret = "{token_secret}"\n'
        "\tsession_timeout = 60\n"
        "}\n"
        "media: {\n"
        f"{rtp_line}"
        "}\n"
        "nat: {\n"
        "\tnice_debug = false\n"
        "\tignore_mdns = true\n"
        f'\tice_enforce_list = "{ip}"\n'
        "}\n"
        f'plugins: {{\n\tdisable = "{disabled("plugins")}"\n}}\n'
        f'transports: {{\n\tdisable = "{disabled("transports")}"\n}}\n'
        f'loggers: {{\n\tdisable = "{disabled("loggers")}"\n}}\n'
        "events: {\n\tbroadcast = false\n}\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f'general: {{\n\tadmin_key = "{admin_key}"\n\tlock_rtp_forward = true\n}}\n'
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f'general: {{\n\tjson = "compact"\n\tbase_path = "/janus"\n\thttp = true\n\tport = {http_port}\n'
        f'\tip = "{ip}"\n\thttps = false\n}}\n'
        "admin: {\n\tadmin_http = false\n}\n"
    )
    (folder / "janus.transport.websockets.jcfg").write_text(
        f'general: {{\n\tjson = "compact"\n\tws = true\n\tws_port = {ws_port}\n\tws_ip = "{ip}"\n\twss = false\n}}\n'
        "admin: {\n\tadmin_ws = false\n}\n"
    )
    return folder


class LocalJanus:
    """A Janus of its own on loopback (tests, bench/janus_bench.py): a generated minimal
    configuration in ``folder``, free ports, stopped with ``stop()``."""

    def __init__(self, folder: str | Path, http_port: int, ws_port: int, binary: str = "/usr/bin/janus"):
        self.folder = Path(folder)
        self.secret = secrets.token_hex(16)
        self.admin_key = secrets.token_hex(16)
        self.http_url = f"http://127.0.0.1:{http_port}/janus"
        self.ws_url = f"ws://127.0.0.1:{ws_port}"
        self.log = self.folder / "janus.log"
        write_config(self.folder, http_port, ws_port, self.secret, self.admin_key)
        self.binary = binary
        self.process = None

    def start(self, timeout: float = 60.0) -> LocalJanus:
        with open(self.log, "wb") as log_file:
            self.process = subprocess.Popen([self.binary, f"--configs-folder={self.folder}", "--disable-colors"],
                                            stdout=log_file, stderr=subprocess.STDOUT)
        api = self.client()
        deadline = time.monotonic() + timeout
        while True:
            try:
                api.info()
                return self
            except (requests.RequestException, ValueError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Janus did not start: {self.log.read_text(errors='replace')[-2000:]}") from None
                time.sleep(0.1)

    def client(self) -> JanusClient:
        return JanusClient(self.http_url, self.secret, self.admin_key)

    def settings(self) -> dict:
        """The app's settings that point at this Janus."""
        return {"VIDEO_JANUS_URL": self.http_url, "VIDEO_JANUS_CLIENT_URL": self.ws_url,
                "VIDEO_JANUS_SECRET": self.secret, "VIDEO_JANUS_ADMIN_KEY": self.admin_key,
                "CSP_CONNECT_SRC": [self.ws_url]}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
