"""Work that must happen only once the request's transaction has committed.

E-mail, Socket.IO emits and Celery dispatch must not leave the process for a change that
is then rolled back; they are queued with ``after_commit`` and dropped on rollback.
Files written before a rollback are removed with ``on_rollback``.

The callbacks run once the session has handed its connection back to the pool
(``after_transaction_end``), not in ``after_commit``, when it still holds it: a callback
that reads (the chat's unread counters take a connection of their own) would otherwise
hold two, and as many concurrent commits as the pool has connections would each wait
for a second one for ever (seen with many green threads and a pool of 15).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_AFTER_COMMIT = "teleconsult_after_commit"
_ON_ROLLBACK = "teleconsult_on_rollback"
_COMMITTED = "teleconsult_committed"  # callbacks of a committed transaction, to run at its end


def _session() -> Session:
    from core.db import db

    return db.session()


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    (session or _session()).info.setdefault(_AFTER_COMMIT, []).append(callback)


def on_rollback(callback: Callable[[], None], session: Session | None = None) -> None:
    (session or _session()).info.setdefault(_ON_ROLLBACK, []).append(callback)


@sa.event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_AFTER_COMMIT, []))
    session.info.pop(_ON_ROLLBACK, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _run_after_commit(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: its work commits with the transaction
        return
    for callback in session.info.pop(_COMMITTED, []):
        try:
            callback()
        except Exception:  # one failing side effect must not hide the others
            log.exception("after-commit callback failed")


@sa.event.listens_for(Session, "after_soft_rollback")
def _run_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint, not the whole transaction
        return
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_COMMITTED, None)  # a savepoint's, committed, then rolled back with it
    for callback in session.info.pop(_ON_ROLLBACK, []):
        try:
            callback()
        except Exception:
            log.exception("rollback cleanup failed")
