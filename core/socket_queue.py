"""The Socket.IO message queue between web processes, with a listener that is watched.

python-socketio's Redis listener can stop receiving without a word after Redis dropped
its pub/sub connection (python-socketio #1581): the process keeps serving its sockets,
but events published by the other processes no longer reach them. Here each process
publishes a probe on the channel every ``SOCKETIO_QUEUE_PROBE_SECONDS`` and listens for
its own probe coming back. A probe not heard within three periods while Redis answers
means the subscription is gone: a new listener is started; it connects and subscribes
afresh, and the old one, should it ever wake, ends without delivering anything.
When probes flow again after a gap, every socket of this process gets a local ``resync``
event: events published meanwhile were lost, and the clients ask the database for what
they missed (the chat's ``history`` after its last sequence number).

Redis away for a while (a restart, a failover) is such a gap too, even when the listener
reconnects by itself before three periods pass: whatever this process published
meanwhile (its probes included) did not go out, and what the others published did not
come in. A failed publish therefore marks the events as missed, and the ``resync`` follows
the first probe heard again. The outage is not held against the listener: its three
periods count from the last failed publish, so a Redis that every process lost does not
turn every process's ``/healthz`` to 503 at once while they reconnect.

Two more ways back are watched. A listener that lost its connection and subscribed again
by itself (python-socketio retries with sleeps of 1, 2, 4 … 60 s) missed whatever was
published while it was away, even when every publish of this process went through (only
the pub/sub connection was dropped, or Redis came back before the next probe): each
subscription after a listener's first marks the events as missed too. And once Redis
answers publishes again after an outage, a listener still asleep in that back-off is not
waited for: when no probe came back for one period after Redis returned, a new listener
is started, so the process is deaf to the others for seconds, not up to a minute.

Redis URLs (``redis://``, ``rediss://``) and Sentinel URLs
(``redis+sentinel://host:26379,host2:26379/service``) are both served by this manager.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import socketio

log = logging.getLogger(__name__)

PROBE_METHOD = "teleconsult_probe"
SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "unix://")


def _alive(task: Any) -> bool:
    if task is None:
        return False
    if isinstance(task, threading.Thread):
        return task.is_alive()
    return not getattr(task, "dead", False)  # a gevent or eventlet green thread


class WatchedRedisManager(socketio.RedisManager):
    def __init__(self, url: str, *, probe_seconds: float = 5.0, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.probe_seconds = probe_seconds
        self.probe_id = uuid.uuid4().hex
        self.started = False
        self.last_sent = 0.0
        self.last_heard = 0.0
        self.gap = False
        self.missed = False  # a publish failed: events were lost, resync when they flow again
        self.unreachable_at = 0.0  # the last failed publish (Redis away)
        self.back_at = 0.0  # the first publish that went through after a failed one
        self._listening = threading.local()  # set in a listener's own thread: its subscriptions
        self.restarts = 0
        self.generation = 0
        self.backoff = 3 * probe_seconds  # between two mends while probes stay away
        self.next_mend = 0.0
        self.watcher = None
        self.stopped = False

    # ------------------------------------------------------------------ listener side
    def initialize(self) -> None:
        super().initialize()
        self.started = True
        self.last_heard = time.monotonic()
        if self.watcher is None:
            self.watcher = self.server.start_background_task(self._watch)

    def _listen(self):
        generation = self.generation
        self._listening.subscriptions = 0
        self._listening.generation = generation
        for data in super()._listen():
            if generation != self.generation:
                return  # a newer listener took over: this one ends without delivering twice
            if isinstance(data, bytes) and PROBE_METHOD.encode() in data[:64]:
                self._heard(data)
                continue
            yield data

    def _heard(self, data: bytes) -> None:
        try:
            probe = json.loads(data)
        except ValueError:
            return
        if probe.get("probe_id") != self.probe_id:
            return
        self.last_heard = time.monotonic()
        self.backoff = 3 * self.probe_seconds
        if self.gap or self.missed:
            self.gap = self.missed = False
            self.back_at = 0.0
            log.warning("socket.io message queue: events flow again; telling local sockets to resync")
            self._tell_resync()

    def _tell_resync(self) -> None:
        for namespace in list(self.server.handlers) + list(self.server.namespace_handlers):
            try:
                socketio.PubSubManager.emit(self, "resync", {}, namespace=namespace, ignore_queue=True)
            except Exception:  # a namespace without sockets, a socket closing: nothing to tell
                log.debug("resync of %s failed", namespace, exc_info=True)

    # ------------------------------------------------------------------- the watcher
    def stop(self) -> None:
        """Stop probing (an app that is shut down in-process, as tests do)."""
        self.stopped = True

    def _watch(self) -> None:
        while not self.stopped:
            self.server.sleep(self.probe_seconds)
            if self.stopped:
                return
            try:
                self.check_once()
            except Exception:
                log.exception("socket.io message queue watcher")

    def _publish(self, data):
        """python-socketio's publish, which logs and gives up when Redis does not answer
        (None then; the number of receivers otherwise): the event is lost for everyone."""
        result = super()._publish(data)
        if result is None:
            self.missed = True
            self.unreachable_at = time.monotonic()
            self.back_at = 0.0
        elif self.missed and not self.back_at:
            self.back_at = time.monotonic()
        return result

    def _redis_connect(self):
        """Called by the publisher, ``ping`` and the listener; in the listener's own thread,
        every subscription after its first follows a break in which events were lost."""
        super()._redis_connect()
        subscriptions = getattr(self._listening, "subscriptions", None)
        if subscriptions is not None:
            if subscriptions and self._listening.generation == self.generation:  # not a replaced one
                log.warning("socket.io message queue: the listener subscribed again; telling local sockets "
                            "to resync once its probe comes back")
                self.missed = True
            self._listening.subscriptions = subscriptions + 1

    def check_once(self) -> None:
        """Send a probe; when none came back for three periods, mend the listener."""
        now = time.monotonic()
        if (self.missed and self.back_at and self.last_heard < self.back_at
                and now - self.back_at > self.probe_seconds and now >= self.next_mend):
            # Redis takes publishes again but no probe came back since: the listener is
            # still waiting out python-socketio's back-off. A new one does not wait.
            log.warning("socket.io message queue: Redis is back but the listener is not; starting a new one")
            self._mend()
            self.back_at = now  # once; after that the three periods of silence count
        silent = now - max(self.last_heard, self.unreachable_at)
        if silent > 3 * self.probe_seconds and self.last_sent:
            if not self.gap:
                log.error("socket.io message queue: no probe heard for %.0f s; reconnecting the listener", silent)
            self.gap = True
            if now >= self.next_mend and self.ping():  # Redis answers, the subscription does not
                self._mend()
                self.backoff = min(self.backoff * 2, 60.0)
                self.next_mend = now + self.backoff
        self.last_sent = now
        self._publish({"method": PROBE_METHOD, "probe_id": self.probe_id, "host_id": self.host_id})

    def _mend(self) -> None:
        """Start a new listener (it connects and subscribes afresh); the old one, dead or
        deaf, delivers nothing more (``generation``)."""
        self.restarts += 1
        self.generation += 1
        self.last_heard = time.monotonic()  # the new one gets its three periods
        self.thread = self.server.start_background_task(self._thread)

    # ---------------------------------------------------------------------- health
    def status(self) -> dict[str, Any]:
        """What /healthz and /metrics report about this process's subscription."""
        if not self.started:
            return {"listener": "idle", "restarts": self.restarts}  # no socket yet: nothing to deliver
        now = time.monotonic()
        heard_ago = now - self.last_heard
        silent = now - max(self.last_heard, self.unreachable_at)
        listening = _alive(getattr(self, "thread", None)) and not self.gap and silent <= 3 * self.probe_seconds
        return {"listener": "ok" if listening else "down", "heard_seconds_ago": round(heard_ago, 1),
                "restarts": self.restarts}

    def ping(self) -> bool:
        try:
            if not self.connected:
                self._redis_connect()
            return bool(self.redis.ping())
        except Exception:
            self.connected = False
            return False


def build_manager(url: str, probe_seconds: float) -> WatchedRedisManager | None:
    """The watched manager for a Redis or Sentinel URL; None for other queues (Kombu)."""
    if not url.startswith(SCHEMES):
        return None
    return WatchedRedisManager(url, channel="flask-socketio", probe_seconds=probe_seconds)
