"""The one state machine of a consultation.

    created ──schedule──▶ scheduled ──start──▶ in_progress
                          │  ▲ (reschedule)        │
                          └──┴──────complete───────┴──▶ closed (outcome)

Every transition is checked here, fires its hook and writes an audit event, all in the
caller's transaction. Illegal transitions raise ``TransitionError`` with a Russian message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput, TransitionError
from core.models import (
    CompletionReason,
    Consultation,
    ConsultationStatus,
    Document,
    Outcome,
    Slot,
)
from core.plugins import hooks_for
from core.routing import route_for

S = ConsultationStatus

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "schedule": (frozenset({S.CREATED, S.SCHEDULED}), S.SCHEDULED),
    "start": (frozenset({S.SCHEDULED}), S.IN_PROGRESS),
    "complete": (frozenset({S.SCHEDULED, S.IN_PROGRESS}), S.CLOSED),
}

STATUS_TITLES = {
    S.CREATED: _l("Создана"),
    S.SCHEDULED: _l("В работе"),
    S.IN_PROGRESS: _l("Идёт консультация"),
    S.CLOSED: _l("Закрыта"),
}

OUTCOME_TITLES = {
    Outcome.SIGNED_CONCLUSION: _l("Заключение подписано электронной подписью"),
    Outcome.UPLOADED_CONCLUSION: _l("Загружено заключение"),
    Outcome.NO_CONCLUSION: _l("Завершена без заключения"),
}


@dataclass(frozen=True)
class CompletionMethod:
    """A way to close a consultation, offered on the application's right panel (SPEC D9)."""

    code: str
    title: str
    endpoint: str  # the view with the method's form; gets ``consultation_id``
    outcome: str
    order: int = 100


def check_transition(consultation: Consultation, transition: str) -> str:
    allowed_from, target = TRANSITIONS[transition]
    if consultation.status not in allowed_from:
        if consultation.status == S.CLOSED:
            raise TransitionError(_l("Заявка уже закрыта"))
        if transition == "start" and consultation.status == S.IN_PROGRESS:
            raise TransitionError(_l("Консультация уже идёт"))
        if consultation.status == S.CREATED:
            raise TransitionError(_l("Заявка ещё не поставлена в расписание"))
        raise TransitionError(_l("Это действие недоступно для заявки в текущем состоянии"))
    return target


def lock(consultation: Consultation) -> None:
    """Hold the consultation's row to the end of the transaction and read it afresh: of
    two requests closing it at once, the second waits and then finds it closed.

    PostgreSQL locks the row (``SELECT ... FOR UPDATE``). SQLite has no row locks; an
    UPDATE that changes nothing takes its write lock, which other writers wait for.
    Pending changes of the consultation are flushed first, so none is lost.
    """
    db.session.flush()
    table = Consultation.__table__
    this = table.c.id == consultation.id
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.update(table).where(this).values(version=table.c.version))
    else:
        db.session.execute(sa.select(table.c.id).where(this).with_for_update())
    db.session.refresh(consultation)


def slot_taken(slot_id: int, except_consultation_id: int | None = None) -> bool:
    query = sa.select(Consultation.id).where(Consultation.slot_id == slot_id)
    if except_consultation_id is not None:
        query = query.where(Consultation.id != except_consultation_id)
    return db.session.execute(query.limit(1)).first() is not None


def schedule(consultation: Consultation, slot: Slot | None, actor: Principal) -> None:
    """Book ``slot`` for the consultation (or move it there). Raises Conflict if taken."""
    target = check_transition(consultation, "schedule")
    if slot is None:
        raise InvalidInput(_l("Выбранный слот не найден"), field_errors={"slot_id": [_l("Выбранный слот не найден")]})
    if slot.doctor_id != consultation.consultant_id:
        raise InvalidInput(_l("Слот не относится к расписанию врача-консультанта"))
    if slot.blocked:
        raise Conflict(_l("Слот закрыт для записи"))
    if slot.starts_at <= utcnow():
        raise InvalidInput(_l("Нельзя записать на прошедшее время"))
    if slot_taken(slot.id, consultation.id):
        raise Conflict(_l("Слот уже занят"))
    previous = consultation.slot_id
    consultation.slot_id = slot.id
    consultation.scheduled_at = slot.starts_at
    consultation.status = target
    try:
        # The unique constraint on consultations.slot_id decides races between requests;
        # the caller's transaction is then rolled back whole.
        db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_l("Слот уже занят")) from None
    audit.record(
        "consultation.scheduled",
        consultation,
        principal=actor,
        data={"slot_id": slot.id, "previous_slot_id": previous, "starts_at": slot.starts_at.isoformat()},
    )
    hooks_for(consultation).teleconsult_consultation_scheduled(consultation=consultation, slot=slot, actor=actor)


def start(consultation: Consultation, actor: Principal) -> None:
    consultation.status = check_transition(consultation, "start")
    consultation.started_at = utcnow()
    audit.record("consultation.started", consultation, principal=actor)
    hooks_for(consultation).teleconsult_consultation_started(consultation=consultation, actor=actor)


def start_if_scheduled(consultation: Consultation, actor: Principal) -> bool:
    """Start on the first real activity (a chat message, a call); a no-op afterwards."""
    if consultation.status == S.SCHEDULED:
        start(consultation, actor)
        return True
    return False


def complete(
    consultation: Consultation,
    outcome: str,
    actor: Principal,
    *,
    reason: CompletionReason | None = None,
    document: Document | None = None,
    conclusion_data: dict | None = None,
    note: str | None = None,
    closed_at: datetime | None = None,
) -> None:
    """Close the consultation with ``outcome`` (SPEC D9)."""
    lock(consultation)
    target = check_transition(consultation, "complete")
    outcome = Outcome(outcome)
    if outcome is Outcome.NO_CONCLUSION:
        if reason is None or not reason.active:
            raise InvalidInput(
                _l("Выберите причину завершения без заключения"),
                field_errors={"reason_id": [_l("Выберите причину из списка")]},
            )
        consultation.outcome_reason_id = reason.id
    else:
        if document is None:
            raise InvalidInput(_l("Не приложен документ заключения"))
        if document.id is None:
            db.session.flush()
        consultation.conclusion_document_id = document.id
        if outcome is Outcome.SIGNED_CONCLUSION:
            consultation.conclusion_data = route_for(consultation.type).load_conclusion(
                conclusion_data
            )
        elif conclusion_data:
            consultation.conclusion_data = conclusion_data
    consultation.status = target
    consultation.outcome = outcome.value
    consultation.outcome_note = note
    consultation.closed_at = closed_at or utcnow()
    audit.record(
        "consultation.completed",
        consultation,
        principal=actor,
        data={
            "outcome": outcome.value,
            "reason": reason.code if reason else None,
            "document_id": consultation.conclusion_document_id,
        },
    )
    hooks_for(consultation).teleconsult_consultation_completed(
        consultation=consultation, outcome=outcome.value, actor=actor
    )


def completion_methods(consultation: Consultation, principal: Principal) -> list[CompletionMethod]:
    if consultation.is_closed:
        return []
    methods = [
        method
        for group in hooks_for(consultation).teleconsult_consultation_completion_methods(
            consultation=consultation, principal=principal
        )
        for method in group or ()
    ]
    return sorted(methods, key=lambda m: (m.order, m.code))
