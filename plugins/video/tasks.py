"""This process's video background tasks (the re-check, the reconnect grace, the ring
timers): each waits on one stop event instead of sleeping, so ``stop`` ends them all at
once (a web process shutting down; a test, since apps are reused between tests)."""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)

KEY = "video.tasks"


class Tasks:
    def __init__(self, app: Flask) -> None:
        self.lock = threading.Lock()
        self.stopped = app.extensions["socketio"].server.eio.create_event()
        self.running: list = []

    def spawn(self, app: Flask, target, *args) -> None:
        """Start ``target(*args)`` in the background unless the tasks were stopped."""
        if self.stopped.is_set():
            return
        task = app.extensions["socketio"].start_background_task(target, *args)
        with self.lock:
            self.running = [t for t in self.running if _alive(t)] + [task]

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when stopped meanwhile (the task then ends)."""
        return self.stopped.wait(seconds)


def _alive(task) -> bool:
    is_alive = getattr(task, "is_alive", None)
    return is_alive() if is_alive is not None else not getattr(task, "dead", False)


def of(app: Flask) -> Tasks:
    found = app.extensions.get(KEY)
    if found is None:
        found = app.extensions[KEY] = Tasks(app)
    return found


def stop(app: Flask, timeout: float = 10.0) -> None:
    """Stop every task of the app and wait for them (``timeout`` each); later ones start afresh."""
    found = app.extensions.pop(KEY, None)
    if found is None:
        return
    found.stopped.set()
    with found.lock:
        running = list(found.running)
    for task in running:
        join = getattr(task, "join", None) or getattr(task, "wait", None)
        if join is not None and _alive(task):
            try:
                join(timeout)
            except Exception:
                log.debug("video task did not stop cleanly", exc_info=True)
