"""Stopping sockets when a login ends or access is lost.

Flask's cookie session cannot be revoked on the server, and a socket keeps the cookie of
its handshake for as long as it lives. So every login gets a random token in its session
(set on the first response after login). Logging out writes the token to
``chat_revoked_logins``; every event checks it, and each web process re-checks its own
connections every ``CHAT_RECHECK_SECONDS``: a revoked or expired login is disconnected,
and a chat the user may no longer see is left. The process that handled the logout also
disconnects its sockets of that login at once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, session

from core.access import Principal, can, principal_for_user, principals_for_accounts
from core.db import db, utcnow
from core.consent import remember_acceptances
from core.models import Consultation, PortalAccount, User
from plugins.chat.models import ChatRevokedLogin
from plugins.chat.rooms import NAMESPACE, chat_room, login_room, personal_rooms

log = logging.getLogger(__name__)

TOKEN_KEY = "chat_login"
ISSUED_KEY = "chat_login_at"


def ensure_token(response):
    """after_app_request: give an authenticated session its login token."""
    from flask_login import current_user

    if TOKEN_KEY not in session and current_user and current_user.is_authenticated:
        session[TOKEN_KEY] = secrets.token_urlsafe(24)
        session[ISSUED_KEY] = int(time.time())
    return response


def current_token() -> str | None:
    return session.get(TOKEN_KEY)


def login_expired() -> bool:
    issued = session.get(ISSUED_KEY) or 0
    lifetime = current_app.permanent_session_lifetime
    return time.time() - issued > lifetime.total_seconds()


@dataclass
class Connection:
    sid: str
    token: str
    kind: str
    principal_id: int
    issued_at: int
    chats: set[int] = field(default_factory=set)
    # Worked out at connect and renewed by every re-check (a deactivated user, a new
    # child of a representative); logouts are checked on every event all the same.
    principal: Principal | None = None
    # The personal rooms the socket is in (``rooms.personal_rooms``).
    rooms: set[str] = field(default_factory=set)


class Connections:
    """This process's /chat connections, for the periodic re-check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sid: dict[str, Connection] = {}
        self.revoked: set[str] = set()
        self._revoked_checked_at = 0.0
        self._sweeper_started = False
        self._refreshing = threading.Lock()

    def add(self, connection: Connection) -> None:
        with self._lock:
            self._by_sid[connection.sid] = connection

    def remove(self, sid: str) -> None:
        with self._lock:
            self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def snapshot(self) -> list[Connection]:
        with self._lock:
            return list(self._by_sid.values())

    def with_token(self, token: str) -> list[str]:
        with self._lock:
            return [c.sid for c in self._by_sid.values() if c.token == token]

    def start_sweeper(self, app: Flask) -> None:
        with self._lock:
            if self._sweeper_started:
                return
            self._sweeper_started = True
        app.extensions["socketio"].start_background_task(_sweep_forever, app, self)

    def is_revoked(self, token: str) -> bool:
        """Checked on every event; the list is re-read at most every second."""
        now = time.monotonic()
        if now - self._revoked_checked_at > current_app.config["CHAT_REVOKED_REFRESH_SECONDS"]:
            # One event re-reads the list; the others meanwhile go on with the last one.
            if self._refreshing.acquire(blocking=False):
                try:
                    self.refresh_revoked()
                finally:
                    self._refreshing.release()
        return token in self.revoked

    def refresh_revoked(self) -> None:
        since = utcnow() - current_app.permanent_session_lifetime - timedelta(minutes=5)
        tokens = set(db.session.scalars(sa.select(ChatRevokedLogin.token).where(ChatRevokedLogin.revoked_at >= since)))
        with self._lock:
            self.revoked = tokens
            self._revoked_checked_at = time.monotonic()


def connections(app: Flask | None = None) -> Connections:
    app = app or current_app
    return app.extensions.setdefault("chat.connections", Connections())


def revoke(app: Flask, token: str) -> None:
    """The login ended: refuse its events everywhere and drop its local sockets now."""
    if db.session.get(ChatRevokedLogin, token) is None:
        db.session.add(ChatRevokedLogin(token=token))
    db.session.commit()
    registry = connections(app)
    with registry._lock:
        registry.revoked.add(token)
    socketio = app.extensions["socketio"]

    # Other processes' clients hear it at once; their server re-check disconnects them.
    socketio.emit("session_ended", {}, to=login_room(token), namespace=NAMESPACE)
    for sid in registry.with_token(token):
        _disconnect(socketio, sid)


def on_logout(sender, user=None, **extra):
    """flask_login.user_logged_out receiver."""
    app = sender if isinstance(sender, Flask) else current_app._get_current_object()
    if "chat" not in app.extensions["teleconsult.pm"].info:
        return
    token = session.get(TOKEN_KEY)
    if token:
        revoke(app, token)
        session.pop(TOKEN_KEY, None)


def _disconnect(socketio, sid: str) -> None:
    try:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    except Exception:  # already gone
        log.debug("socket %s already disconnected", sid)


def principals_of(connections: list[Connection]) -> dict[tuple[str, int], Principal | None]:
    """The principals of ``connections`` as they are now (None: the user is gone or was
    deactivated): a few queries for all of them, whatever their number."""
    staff = {c.principal_id for c in connections if c.kind == "staff"}
    patients = {c.principal_id for c in connections if c.kind != "staff"}
    found: dict[tuple[str, int], Principal | None] = {("staff", i): None for i in staff}
    found.update({("patient", i): None for i in patients})
    if staff:
        for user in db.session.scalars(sa.select(User).where(User.id.in_(staff))):
            if user.is_active:
                found[("staff", user.id)] = principal_for_user(user)
    if patients:
        accounts = list(db.session.scalars(
            sa.select(PortalAccount).where(PortalAccount.id.in_(patients))
            .options(sa.orm.selectinload(PortalAccount.patient))
        ))
        for account_id, principal in principals_for_accounts(accounts).items():
            found[("patient", account_id)] = principal
    remember_acceptances([p for p in found.values() if p is not None])
    return found


def recheck(app: Flask, registry: Connections) -> None:
    """One pass over this process's connections (also called by tests)."""
    socketio = app.extensions["socketio"]
    with app.app_context():
        try:
            registry.refresh_revoked()
            lifetime = app.permanent_session_lifetime.total_seconds()
            connections_now = registry.snapshot()
            principals = principals_of(connections_now)
            wanted = {consultation_id for c in connections_now for consultation_id in c.chats}
            consultations = {
                c.id: c for c in db.session.scalars(
                    sa.select(Consultation).where(Consultation.id.in_(wanted))
                    .options(sa.orm.lazyload("*"), sa.orm.selectinload(Consultation.participants))
                )
            } if wanted else {}
            for connection in connections_now:
                principal = principals.get((connection.kind, connection.principal_id))
                before, connection.principal = connection.principal, principal
                if (
                    principal is None
                    or connection.token in registry.revoked
                    or time.time() - connection.issued_at > lifetime
                ):
                    socketio.emit("session_ended", {}, to=connection.sid, namespace=NAMESPACE)
                    _disconnect(socketio, connection.sid)
                    registry.remove(connection.sid)
                    continue
                _follow_rooms(socketio, connection, before, principal)
                for consultation_id in list(connection.chats):
                    consultation = consultations.get(consultation_id)
                    if consultation is None or not can("chat.view", consultation, principal):
                        connection.chats.discard(consultation_id)
                        socketio.server.leave_room(connection.sid, chat_room(consultation_id), namespace=NAMESPACE)
                        socketio.emit("access_lost", {"chat": consultation_id}, to=connection.sid, namespace=NAMESPACE)
        finally:
            db.session.remove()


def _follow_rooms(socketio, connection: Connection, before: Principal | None, now: Principal) -> None:
    """Personal rooms follow the access policy: the rooms of a person no longer in the
    patient's care are left, and each tab is told which consultations went with them; with
    a new consent version to accept, every room is left until it is accepted (the events
    are refused meanwhile by ``chat.connect``), then joined again."""
    allowed = can("chat.connect", None, now)
    wanted = set(personal_rooms(now)) if allowed else set()
    for room in sorted(connection.rooms - wanted):
        socketio.server.leave_room(connection.sid, room, namespace=NAMESPACE)
    for room in sorted(wanted - connection.rooms):
        socketio.server.enter_room(connection.sid, room, namespace=NAMESPACE)
    if connection.rooms and not wanted:
        socketio.emit("access_lost", {"all": True}, to=connection.sid, namespace=NAMESPACE)
    connection.rooms = wanted
    lost = before.patient_ids - now.patient_ids if before is not None else set()
    if lost:
        for consultation_id in db.session.scalars(
            sa.select(Consultation.id).where(Consultation.patient_id.in_(list(lost)))
        ):
            socketio.emit("access_lost", {"chat": consultation_id}, to=connection.sid, namespace=NAMESPACE)


def _sweep_forever(app: Flask, registry: Connections) -> None:
    interval = app.config["CHAT_RECHECK_SECONDS"]
    socketio = app.extensions["socketio"]
    while True:
        socketio.sleep(interval)
        with registry._lock:
            if not registry._by_sid:  # nothing to watch: stop until the next connection
                registry._sweeper_started = False
                return
        try:
            recheck(app, registry)
        except Exception:
            log.exception("chat connection re-check failed")
