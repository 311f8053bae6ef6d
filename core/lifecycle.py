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

from core import audit, outcomes, routeforms
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
from core.outcomes import OutcomeSpec
from core.plugins import hooks_for
from core.routing import react, route_for

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

CORE_OUTCOMES = (
    OutcomeSpec(Outcome.SIGNED_CONCLUSION.value, _l("Заключение подписано электронной подписью")),
    OutcomeSpec(Outcome.UPLOADED_CONCLUSION.value, _l("Загружено заключение")),
    OutcomeSpec(Outcome.NO_CONCLUSION.value, _l("Завершена без заключения"), conclusion=False, document=False),
)
# Titles of every registered outcome, the plugins' too: ``OUTCOME_TITLES.get(code, code)``.
OUTCOME_TITLES = outcomes.Titles()


@dataclass(frozen=True)
class CompletionMethod:
    """A way to close a consultation, offered on the application's right panel (SPEC D9)."""

    code: str
    title: str
    endpoint: str  # the view with the method's form; gets ``consultation_id``
    outcome: str  # a registered outcome (core.outcomes)
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
        raise Conflict(_l("Это время только что занял другой врач: выберите другое время"))
    previous = consultation.slot_id
    consultation.slot_id = slot.id
    consultation.scheduled_at = slot.starts_at
    consultation.status = target
    try:
        # The unique constraint on consultations.slot_id decides races between requests;
        # the caller's transaction is then rolled back whole.
        db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_l("Это время только что занял другой врач: выберите другое время")) from None
    audit.record(
        "consultation.scheduled",
        consultation,
        principal=actor,
        data={"slot_id": slot.id, "previous_slot_id": previous, "starts_at": slot.starts_at.isoformat()},
    )
    hooks_for(consultation).teleconsult_consultation_scheduled(consultation=consultation, slot=slot, actor=actor)
    react(consultation, "scheduled", slot=slot, actor=actor)


def start(consultation: Consultation, actor: Principal) -> None:
    consultation.status = check_transition(consultation, "start")
    consultation.started_at = utcnow()
    audit.record("consultation.started", consultation, principal=actor)
    hooks_for(consultation).teleconsult_consultation_started(consultation=consultation, actor=actor)
    react(consultation, "started", actor=actor)


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
    """Close the consultation with ``outcome`` (SPEC D9).

    ``outcome``: a registered outcome (``core.outcomes``). One that carries a conclusion
    needs its ``document`` and validates ``conclusion_data`` with the route's conclusion
    schema: bad fields raise ``InvalidInput`` with the messages under ``conclusion_data``
    and nothing is written (the caller rolls back).
    """
    lock(consultation)
    target = check_transition(consultation, "complete")
    chosen = outcomes.spec(str(outcome))
    if chosen is None:
        raise InvalidInput(_l("Неизвестный способ завершения консультации"))
    if chosen.code == Outcome.NO_CONCLUSION:
        if reason is None or not reason.active:
            raise InvalidInput(
                _l("Выберите причину завершения без заключения"),
                field_errors={"reason_id": [_l("Выберите причину из списка")]},
            )
        consultation.outcome_reason_id = reason.id
    else:
        if chosen.conclusion:
            consultation.conclusion_data = routeforms.load_conclusion(route_for(consultation.type), conclusion_data) or None
        if chosen.document and document is None:
            raise InvalidInput(_l("Не приложен документ заключения"))
        if document is not None:
            if document.id is None:
                db.session.flush()
            consultation.conclusion_document_id = document.id
    consultation.status = target
    consultation.outcome = chosen.code
    consultation.outcome_note = note
    consultation.closed_at = closed_at or utcnow()
    audit.record(
        "consultation.completed",
        consultation,
        principal=actor,
        data={
            "outcome": chosen.code,
            "reason": reason.code if reason else None,
            "document_id": consultation.conclusion_document_id,
        },
    )
    hooks_for(consultation).teleconsult_consultation_completed(
        consultation=consultation, outcome=chosen.code, actor=actor
    )
    react(consultation, "completed", outcome=chosen.code, actor=actor)


def completion_methods(consultation: Consultation, principal: Principal) -> list[CompletionMethod]:
    if consultation.is_closed:
        return []
    methods = [
        method
        for group in hooks_for(consultation).teleconsult_register_completion_methods(
            consultation=consultation, principal=principal
        )
        for method in group or ()
    ]
    return sorted(methods, key=lambda m: (m.order, m.code))
