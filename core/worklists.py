"""The doctor's lists (SPEC D4): «Входящие», «Исходящие», «Заявки», with text search.

Shared by the workplace pages, the REST API and the benchmark.
"""

from __future__ import annotations

import sqlalchemy as sa

from core import params
from core.models import Consultation, ConsultationStatus, Participant, Patient
from core.models.registry import normalize_name

INBOX, OUTBOX, ALL = "inbox", "outbox", "all"


def worklist_query(kind: str, user_id: int, search: str = "", show_closed: bool = False) -> sa.Select:
    """Consultations of a list, newest slot first (``inbox``: the soonest first).

    ``inbox``: where the user is the consultant and has work to do now; ``outbox``: created
    by the user; ``all``: where the user takes part in any role. Closed ones only with
    ``show_closed`` (the lock toggle). ``search`` matches the patient's surname (prefix,
    case- and «ё»-insensitive) or the application number.
    """
    query = sa.select(Consultation).join(Patient, Patient.id == Consultation.patient_id)
    if kind == INBOX:
        query = query.where(Consultation.consultant_id == user_id)
    elif kind == OUTBOX:
        query = query.where(Consultation.author_id == user_id)
    elif kind == ALL:
        takes_part = sa.select(Participant.consultation_id).where(Participant.user_id == user_id)
        query = query.where(
            sa.or_(
                Consultation.consultant_id == user_id,
                Consultation.author_id == user_id,
                Consultation.id.in_(takes_part),
            )
        )
    else:
        raise ValueError(f"unknown worklist {kind!r}")
    # «Входящие» is the consultant's day: the nearest appointment first (seed 002 §5).
    return _filtered(query, search, show_closed, soonest_first=kind == INBOX)


def organisation_query(organisation_id: int, search: str = "", show_closed: bool = False) -> sa.Select:
    """Every consultation of an organisation (a machine client's view), same search and order."""
    query = sa.select(Consultation).join(Patient, Patient.id == Consultation.patient_id)
    return _filtered(query.where(Consultation.organisation_id == organisation_id), search, show_closed)


def _filtered(query: sa.Select, search: str, show_closed: bool, soonest_first: bool = False) -> sa.Select:
    if not show_closed:
        # Inline, not a bound parameter: the planners then match the partial indexes
        # ix_consultations_open_by_* (their predicate is this very condition).
        query = query.where(
            Consultation.status != sa.literal(ConsultationStatus.CLOSED.value, literal_execute=True)
        )
    words = normalize_name(search).split()
    if words:
        first = words[0].removeprefix("тмк-")
        number = params.to_id(first)
        if number is not None:
            query = query.where(Consultation.id == number)
        else:
            query = query.where(Patient.last_name_norm.startswith(first, autoescape=True))
    if soonest_first:
        return query.order_by(Consultation.scheduled_at.asc().nulls_last(), Consultation.id.desc())
    return query.order_by(Consultation.scheduled_at.desc().nulls_last(), Consultation.id.desc())


def badges(consultations: list[Consultation], principal) -> dict[int, int]:
    """Add up what plugins show beside each consultation (unread messages, ...).

    The hook is asked once per organisation among the consultations, each time with the
    plugins switched on for that organisation.
    """
    from core.plugins import hooks

    by_organisation: dict[int, list[Consultation]] = {}
    for consultation in consultations:
        by_organisation.setdefault(consultation.organisation_id, []).append(consultation)
    totals: dict[int, int] = {}
    for organisation_id, group in by_organisation.items():
        answers = hooks(organisation_id=organisation_id).teleconsult_register_consultation_badges(
            consultations=group, principal=principal
        )
        for answer in answers:
            for consultation_id, count in (answer or {}).items():
                totals[consultation_id] = totals.get(consultation_id, 0) + count
    return totals


def list_scripts(consultations: list[Consultation], area: str, principal) -> list[str]:
    """Scripts plugins add to a page listing ``consultations`` (live badges, ...), each
    address once and in the order given. Asked once per organisation among them, with
    the plugins switched on for it, as the badges are."""
    from core.plugins import hooks

    scripts: dict[str, None] = {}
    for organisation_id in dict.fromkeys(c.organisation_id for c in consultations):
        answers = hooks(organisation_id=organisation_id).teleconsult_register_list_scripts(
            area=area, principal=principal
        )
        for answer in answers:
            scripts.update(dict.fromkeys(answer or ()))
    return list(scripts)


def link(consultation: Consultation, principal) -> str | None:
    """Where a click on the consultation leads, if a plugin says (e.g. its chat)."""
    from core.plugins import hooks_for

    return hooks_for(consultation).teleconsult_register_consultation_link(consultation=consultation, principal=principal)
