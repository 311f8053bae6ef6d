"""Server-side login sessions (SPEC D1; OWASP ASVS 5.0 §7: revocable, idle and absolute
timeouts).

Flask's session is a signed cookie: it cannot be taken back, and a copy made before a
logout would still be valid. So every login gets a ``LoginSession`` row and the cookie
carries only its random id (``session["login_session"]``). Flask-Login's user loader
(``core.auth``) asks ``account_for_request`` on every request and every Socket.IO event
that loads the user: a session that was ended, or whose idle (``SESSION_IDLE_TIMEOUT``)
or absolute (``SESSION_ABSOLUTE_TIMEOUT``) timeout has passed, is no login at all: the
client gets the login page.

Every session of an account ends (``end_account``) at logout, and, whoever makes the
change (the admin console, the CLI, a plugin), when a staff user's password, roles or
active flag change or an operator locks the account: a ``before_flush`` listener sees
the change of the ``User`` row. (The lockout after wrong passwords does not end
sessions: a stranger guessing would otherwise log the owner out.)

Sockets: ``core.realtime.Namespace`` registers every accepted connection with
``watch``; a background task of each web process re-reads the sessions of its sockets
every ``SESSION_RECHECK_SECONDS`` and disconnects (after a ``session_ended`` event) those
whose session is over, and every event of a socket whose session is known to be over
is refused (``socket_session_live``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

from core.db import db, utcnow
from core.models import LoginSession, User

log = logging.getLogger(__name__)

SESSION_KEY = "login_session"
table = LoginSession.__table__


# --------------------------------------------------------------------------- HTTP


def start(account) -> str:
    """Record a new login of ``account`` (a ``User`` or a ``PortalAccount``) and put its id
    into the (already cleared) Flask session. The caller commits."""
    kind, _, raw_id = account.get_id().partition(":")
    record = LoginSession(id=secrets.token_urlsafe(32), account_kind=kind, account_id=int(raw_id))
    now = utcnow()
    record.created_at = record.last_seen_at = now
    db.session.add(record)
    session[SESSION_KEY] = record.id
    new_csrf_token()
    return record.id


def new_csrf_token() -> None:
    """Put a new CSRF token into the (just cleared) session at once.

    Left to the first page that needs one, every request running beside that page (the
    previous page's favicon, a 404 page) would make a token of its own, and whichever
    cookie the browser got last would leave the page's forms with a token the session no
    longer holds: the next POST is refused with 400. A session that starts with its token
    gives every concurrent request the same one.
    """
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    g.pop(name, None)  # the token of the form that logged in, cached for this request
    session.pop(name, None)
    generate_csrf()


def current_id() -> str | None:
    """The id of this request's (or socket's) login session, as its cookie names it."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def _timeouts(app: Flask | None = None) -> tuple[timedelta, timedelta]:
    config = (app or current_app).config
    return config["SESSION_IDLE_TIMEOUT"], config["SESSION_ABSOLUTE_TIMEOUT"]


def is_live(record: Any, now: datetime | None = None, app: Flask | None = None) -> bool:
    """Not ended, used within the idle timeout, younger than the absolute timeout."""
    if record is None or record.ended_at is not None:
        return False
    now = now or utcnow()
    idle, absolute = _timeouts(app)
    return now - record.last_seen_at <= idle and now - record.created_at <= absolute


def account_for_request(kind: str, account_id: int) -> bool:
    """Whether this request's cookie names a live session of that account; renews the
    session's last use (at most every ``SESSION_TOUCH_SECONDS``)."""
    session_id = current_id()
    if session_id is None:
        return False
    record = db.session.get(LoginSession, session_id)
    if record is None or (record.account_kind, record.account_id) != (kind, account_id):
        return False
    now = utcnow()
    if not is_live(record, now):
        return False
    touch_after = timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"])
    # Only when nothing else is pending: this commit must not take a view's work with it.
    if now - record.last_seen_at > touch_after and not (db.session.new or db.session.dirty or db.session.deleted):
        db.session.execute(
            sa.update(table).where(table.c.id == session_id, table.c.ended_at.is_(None)).values(last_seen_at=now)
        )
        db.session.commit()
    return True


def end_account(kind: str, account_id: int, reason: str, connection: sa.Connection | None = None) -> int:
    """End every open session of an account (``kind`` ``staff`` or ``patient``); returns
    how many. Runs in the caller's transaction (``connection``: inside a flush)."""
    statement = (
        sa.update(table)
        .where(table.c.account_kind == kind, table.c.account_id == account_id, table.c.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    executor = connection if connection is not None else db.session
    return executor.execute(statement).rowcount


def _account_change(user: User) -> str | None:
    """Why a change of this ``User`` row ends its sessions, or None."""
    state = sa.inspect(user)
    if state.attrs.password_hash.history.deleted:
        return "password"
    if False in state.attrs.is_active.history.added:
        return "deactivated"
    if "roles" in state.dict and state.attrs.roles.history.has_changes():
        return "roles"
    locked = [value for value in state.attrs.locked_until.history.added if value is not None]
    if locked and max(locked) > utcnow():
        return "locked"
    return None


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _end_sessions_of_changed_accounts(orm_session, _flush_context, _instances) -> None:
    for obj in list(orm_session.dirty):
        if isinstance(obj, User) and obj.id is not None:
            reason = _account_change(obj)
            if reason:
                end_account("staff", obj.id, reason, connection=orm_session.connection())


# --------------------------------------------------------------------------- sockets


class SocketWatch:
    """This process's Socket.IO connections and the login session each belongs to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[tuple[str, str], str] = {}  # (namespace, sid) -> session id
        self.dead: set[str] = set()
        self._running = False

    def add(self, app: Flask, namespace: str, sid: str, session_id: str) -> None:
        with self._lock:
            self._sockets[(namespace, sid)] = session_id
            start = not self._running
            self._running = True
        if start:
            app.extensions["socketio"].start_background_task(_sweep_forever, app, self)

    def remove(self, namespace: str, sid: str) -> None:
        with self._lock:
            self._sockets.pop((namespace, sid), None)

    def snapshot(self) -> dict[tuple[str, str], str]:
        with self._lock:
            return dict(self._sockets)

    def stop_if_idle(self) -> bool:
        with self._lock:
            if not self._sockets:
                self._running = False
                return True
            return False


def socket_watch(app: Flask | None = None) -> SocketWatch:
    app = app or current_app
    return app.extensions.setdefault("teleconsult.socket_sessions", SocketWatch())


def watch(namespace: str, sid: str) -> bool:
    """Called when a socket connects: False when its handshake names no live session (an
    anonymous socket is not watched: it has nothing to lose)."""
    session_id = current_id()
    if session_id is None:
        return False
    socket_watch().add(current_app._get_current_object(), namespace, sid, session_id)
    return True


def socket_session_live() -> bool:
    """For every event: False once this socket's session is known to be over."""
    session_id = current_id()
    return session_id is None or session_id not in socket_watch().dead


def recheck(app: Flask, registry: SocketWatch) -> None:
    """One pass: disconnect this process's sockets whose session is over (also for tests)."""
    sockets = registry.snapshot()
    if not sockets:
        return
    wanted = sorted(set(sockets.values()))
    with app.app_context():
        try:
            records = {
                row.id: row for row in db.session.execute(sa.select(table).where(table.c.id.in_(wanted)))
            }
        finally:
            db.session.remove()
    now = utcnow()
    dead = {session_id for session_id in wanted if not is_live(records.get(session_id), now, app)}
    registry.dead = dead
    socketio = app.extensions["socketio"]
    for (namespace, sid), session_id in sockets.items():
        if session_id in dead:
            try:
                socketio.emit("session_ended", {}, to=sid, namespace=namespace)
                socketio.server.disconnect(sid, namespace=namespace)
            except Exception:  # already gone
                log.debug("socket %s already disconnected", sid)
            registry.remove(namespace, sid)


def _sweep_forever(app: Flask, registry: SocketWatch) -> None:
    socketio = app.extensions["socketio"]
    while True:
        socketio.sleep(app.config["SESSION_RECHECK_SECONDS"])
        if registry.stop_if_idle():
            return
        try:
            recheck(app, registry)
        except Exception:
            log.exception("socket session re-check failed")
