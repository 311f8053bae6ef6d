"""``/healthz`` for the proxy's checks and ``/metrics`` in Prometheus' text format.

``/healthz`` answers 503 only for what is wrong with *this* process: its database does
not answer, or its Socket.IO listener is not subscribed while Redis answers (the proxy
then sends new clients to another process until it has reconnected, core.socket_queue).
Redis down altogether is reported (``"message_queue": "down"``) with 200: every process
sees the same outage, chat messages are still stored, and taking every process out of
the proxy would stop the service for nobody's gain.

``/metrics`` is served to ``METRICS_ALLOWED_NETWORKS`` only (loopback by default; the
proxy configuration in ``deploy/`` also refuses it from outside). Each web process has
its own; Prometheus scrapes every process on its own port.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from werkzeug.exceptions import HTTPException

from core.access import require
from core.db import db

blueprint = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        return True
    except Exception:
        db.session.rollback()
        return False


def _queue_state() -> dict:
    manager = current_app.extensions["socketio"].server.manager
    if not hasattr(manager, "status"):
        return {"message_queue": "none"}  # one process, no queue
    state = {"message_queue": "ok" if manager.ping() else "down", **manager.status()}
    return state


def health_state() -> tuple[bool, dict]:
    state = {"database": "ok" if _database_ok() else "down", **_queue_state()}
    healthy = state["database"] == "ok" and not (state["message_queue"] == "ok" and state.get("listener") == "down")
    state["status"] = "ok" if healthy else "failing"
    return healthy, state


@blueprint.route("/healthz")
def healthz():
    require("ops.health")
    healthy, state = health_state()
    response = jsonify(state)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/metrics")
def metrics():
    if not current_app.config["METRICS_ALLOWED_NETWORKS"] or not _allowed():
        return "", 404
    registry: Metrics = current_app.extensions["teleconsult.metrics"]
    registry.refresh(current_app)
    return generate_latest(registry.registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _allowed() -> bool:
    try:
        require("ops.metrics", request.remote_addr)
    except HTTPException:
        return False
    return True


class Metrics:
    """The process's own registry (never the global one: several apps live in a test run)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("teleconsult_http_requests", "HTTP requests answered", ["status"], registry=self.registry)
        self.seconds = Histogram("teleconsult_http_request_seconds", "HTTP request duration", registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.sockets = Gauge("teleconsult_socketio_connections", "Engine.IO connections held by this process",
                             registry=self.registry)
        self.listener = Gauge("teleconsult_socketio_queue_listener_up",
                              "1 when this process hears its own probe on the message queue", registry=self.registry)
        self.restarts = Gauge("teleconsult_socketio_queue_listener_restarts",
                              "times the queue listener was reconnected", registry=self.registry)
        self.database = Gauge("teleconsult_database_up", "1 when the database answers", registry=self.registry)

    def refresh(self, app: Flask) -> None:
        server = app.extensions["socketio"].server
        self.sockets.set(len(getattr(server.eio, "sockets", {})))
        manager = server.manager
        if hasattr(manager, "status"):
            status = manager.status()
            self.listener.set(1 if status["listener"] in ("ok", "idle") else 0)
            self.restarts.set(status["restarts"])
        self.database.set(1 if _database_ok() else 0)


def init_app(app: Flask) -> None:
    app.extensions["teleconsult.metrics"] = Metrics()
    app.register_blueprint(blueprint)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(blueprint)

    @app.before_request
    def _start_clock():
        g.teleconsult_started = time.perf_counter()

    @app.after_request
    def _count(response):
        metrics_: Metrics = current_app.extensions["teleconsult.metrics"]
        started = g.pop("teleconsult_started", None)
        if started is not None:
            metrics_.seconds.observe(time.perf_counter() - started)
        metrics_.requests.labels(status=f"{response.status_code // 100}xx").inc()
        return response
