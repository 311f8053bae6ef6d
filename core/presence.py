"""Who is online in a consultation's channels (chat, video): timestamps and hooks.

Presence is not a change to the consultation, so it is not audited; plugins learn of it
through ``teleconsult_participant_joined`` / ``teleconsult_participant_left``.
"""

from __future__ import annotations

from core.db import utcnow
from core.models import Consultation, Participant
from core.plugins import hooks_for


def joined(consultation: Consultation, participant: Participant, channel: str) -> None:
    participant.last_joined_at = utcnow()
    hooks_for(consultation).teleconsult_participant_joined(consultation=consultation, participant=participant, channel=channel)


def left(consultation: Consultation, participant: Participant, channel: str) -> None:
    participant.last_left_at = utcnow()
    hooks_for(consultation).teleconsult_participant_left(consultation=consultation, participant=participant, channel=channel)


def participant_for(consultation: Consultation, principal) -> Participant | None:
    """The participant row of ``principal`` in the consultation (staff or portal person)."""
    for participant in consultation.participants:
        if principal.is_staff and participant.user_id == principal.id:
            return participant
        if principal.is_patient and participant.patient_id in principal.patient_ids:
            return participant
    return None
