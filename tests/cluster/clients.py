"""Chat clients of the region test, run in child processes of their own (``run_side``).

Each client is what a chat window does, in Python: a logged-in HTTP session (its
cookies, the CSRF token, the page's User-Agent) and a Socket.IO connection on ``/chat``
through the proxy, half of them starting with long polling and upgrading (the sticky
``SRV`` cookie must bring every poll back to the same process), half on a websocket
from the start. A client sends a message, waits for its acknowledgement, sends the
next one; when the connection breaks it reconnects (through the proxy, to whichever
process is there), asks for everything after the last message it holds and resends
with the same client id. On ``resync`` (the process's queue listener missed events)
it asks for what it missed. One client in five uploads a file with a client id, again
until it is acknowledged.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import traceback

import requests
import socketio

PACE_SECONDS = 0.6


class Peer:
    def __init__(self, base: str, ca_file: str, spec: dict, stop, resynced=None) -> None:
        self.base = base
        self.spec = spec
        self.name = spec["name"]
        self.chat = spec["chat"]
        self.stop = stop
        self.resynced = resynced  # set by the first ``resync`` a client of the test gets
        self.random = random.Random(spec["seed"])
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would win over ``verify``
        self.http.verify = ca_file
        self.http.headers["User-Agent"] = spec["user_agent"]
        self.http.cookies.set(spec["cookie_name"], spec["cookie_value"], domain="127.0.0.1", path="/", secure=True)
        self.lock = threading.Lock()
        self.seen: set[int] = set()
        self.live = 0
        self.sent = 0
        self.drops = 0
        self.resyncs = 0
        self.need_sync = False
        self.last_seq = 0
        self.uploads: dict[str, dict] = {}
        self.sio: socketio.Client | None = None
        self.error: str | None = None

    # ------------------------------------------------------------------ receiving
    def contiguous(self) -> int:
        with self.lock:
            n = 0
            while n + 1 in self.seen:
                n += 1
            return n

    def note(self, messages, live: bool = False) -> None:
        with self.lock:
            for message in messages:
                if message.get("chat") == self.chat:
                    if live and message["seq"] not in self.seen:
                        self.live += 1
                    self.seen.add(message["seq"])

    def _on_message(self, message) -> None:
        self.note([message], live=True)

    def _on_resync(self, _data=None) -> None:
        self.resyncs += 1
        self.need_sync = True  # asked from the client's own thread, not the reader's
        if self.resynced is not None:
            self.resynced.set()

    # ------------------------------------------------------------------ connection
    def open_page(self, deadline: float = 60) -> None:
        """Load the chat window, as a browser does before its socket connects: the page's
        response gives the session its chat login token, the page its CSRF token."""
        import re

        until = time.monotonic() + deadline
        while True:
            try:
                page = self.http.get(f"{self.base}/chat/{self.chat}", timeout=30)
                if page.status_code == 200:
                    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
                    if found:
                        self.spec["csrf"] = found.group(1)
                    return
                error = f"chat page answered {page.status_code}"
            except requests.RequestException as exc:
                error = repr(exc)
            if time.monotonic() > until:
                raise AssertionError(error)
            time.sleep(0.5)

    def _connect_once(self) -> None:
        sio = socketio.Client(reconnection=False, http_session=self.http)
        sio.on("message", self._on_message, namespace="/chat")
        sio.on("resync", self._on_resync, namespace="/chat")
        transports = ["websocket"] if self.spec["transport"] == "websocket" else ["polling", "websocket"]
        try:
            sio.connect(self.base, namespaces=["/chat"], transports=transports, wait_timeout=20,
                        headers={"User-Agent": self.spec["user_agent"]})
        except Exception:
            self._close(sio)
            raise
        self.sio = sio

    def connect(self, deadline: float = 60) -> None:
        """Connect (retrying while the proxy has no process for us) and catch up."""
        until = time.monotonic() + deadline
        while True:
            try:
                self._connect_once()
                self.sync()
                return
            except Exception:
                self._close(self.sio)
                self.sio = None
                if time.monotonic() > until:
                    raise
                time.sleep(0.5)

    def reconnect(self) -> None:
        self._close(self.sio)
        self.sio = None
        self.drops += 1
        self.connect()

    @staticmethod
    def _close(sio) -> None:
        if sio is None:
            return
        ws = getattr(sio.eio, "ws", None)
        if ws is not None:
            import functools

            ws.close = functools.partial(type(ws).close, ws, timeout=0.2)
        try:
            sio.disconnect()
        except Exception:
            pass

    def call(self, event: str, data: dict, timeout: float = 20):
        if self.sio is None or not self.sio.connected:
            raise ConnectionError("not connected")
        return self.sio.call(event, data, namespace="/chat", timeout=timeout)

    def sync(self) -> None:
        reply = self.call("join", {"chat": self.chat, "after": self.contiguous()})
        if not reply.get("ok"):
            raise ConnectionError(f"join refused: {reply}")
        self.last_seq = max(self.last_seq, reply["last_seq"])
        self.note(reply["messages"])
        while reply.get("more"):
            reply = self.call("history", {"chat": self.chat, "after": self.contiguous()})
            if not reply.get("ok"):
                raise ConnectionError(f"history refused: {reply}")
            self.note(reply["messages"])

    # ------------------------------------------------------------------ sending
    def deliver(self, data: dict) -> None:
        """Send until acknowledged, reconnecting in between; the same client id each time."""
        while True:
            try:
                if self.need_sync:
                    self.need_sync = False
                    self.sync()
                reply = self.call("send", data)
            except Exception:
                self.reconnect()
                continue
            if reply.get("ok"):
                self.note([reply["message"]])
                return
            if reply.get("status", 0) >= 500:  # the server asks for a retry
                time.sleep(0.5)
                continue
            raise AssertionError(f"send refused: {reply}")

    def upload(self) -> None:
        data = self.spec["upload"]
        client_id = f"{self.name}-file"
        headers = {"X-CSRFToken": self.spec["csrf"], "Accept": "application/json",
                   "Referer": f"{self.base}/chat/{self.chat}"}
        deadline = time.monotonic() + 120
        while True:
            try:
                response = self.http.post(
                    f"{self.base}/chat/{self.chat}/files", headers=headers, timeout=60,
                    files={"files": (f"{self.name}.png", data, "image/png")}, data={"client_id": client_id},
                )
                if response.status_code == 201:
                    break
                if response.status_code < 500:
                    raise AssertionError(f"upload refused: {response.status_code} {response.text[:300]}")
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("upload not accepted in time")
            time.sleep(0.5)
        [message] = response.json()["messages"]
        self.note([message])
        self.uploads[client_id] = {"document": message["file"]["id"], "url": message["file"]["url"], "seq": message["seq"],
                                   "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def run(self) -> None:
        if self.error is not None:
            return
        try:
            n = 0
            while not self.stop.is_set():
                self.deliver({"chat": self.chat, "client_id": f"{self.name}-{n}", "text": f"{self.name} №{n}"})
                n += 1
                self.sent = n
                if self.spec["upload"] is not None and n == self.spec["upload_after"]:
                    self.upload()
                time.sleep(PACE_SECONDS * (0.5 + self.random.random()))
            if self.spec["upload"] is not None and not self.uploads:
                self.upload()
        except BaseException:
            self.error = traceback.format_exc()

    def finish(self) -> None:
        """Once every sender stopped: catch up to the chat's last message."""
        deadline = time.monotonic() + 90
        while True:
            try:
                self.sync()
                if self.contiguous() >= self.last_seq:
                    return
            except Exception:
                self._close(self.sio)
                self.sio = None
                try:
                    self.connect(deadline=max(1.0, deadline - time.monotonic()))
                except Exception:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: caught up to {self.contiguous()} of {self.last_seq}")
            time.sleep(0.3)

    def report(self) -> dict:
        return {"seen": sorted(self.seen), "live": self.live, "sent": self.sent, "drops": self.drops,
                "resyncs": self.resyncs, "uploads": self.uploads, "error": self.error, "chat": self.chat}


def run_side(base: str, ca_file: str, specs: list[dict], stop, ready, senders_done, results, resynced=None) -> None:
    """A child process: connect every client, report ready, send until ``stop``, wait for
    the other side to stop too (``senders_done``, a barrier), catch up, report.
    ``resynced``: an event shared with the test, set when a client is told to resync."""
    peers = [Peer(base, ca_file, spec, stop, resynced) for spec in specs]
    try:
        def start(peer):
            try:
                peer.open_page()
                peer.connect()
            except BaseException:
                peer.error = traceback.format_exc()

        starters = [threading.Thread(target=start, args=(peer,)) for peer in peers]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        ready.put({p.name: (p.error or "")[-1500:] for p in peers if p.sio is None})
        threads = [threading.Thread(target=peer.run) for peer in peers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        senders_done.wait(timeout=180)
        finishers = []
        for peer in peers:
            def finish(peer=peer):
                if peer.error is None:
                    try:
                        peer.finish()
                    except BaseException:
                        peer.error = traceback.format_exc()
            finishers.append(threading.Thread(target=finish))
        for thread in finishers:
            thread.start()
        for thread in finishers:
            thread.join()
        results.put({peer.name: peer.report() for peer in peers})
    except BaseException:
        results.put({"__side__": {"error": traceback.format_exc()}})
    finally:
        for peer in peers:
            peer._close(peer.sio)
