"""The core domain model. Plugins keep their own tables (prefixed with their name)."""

from core.models.audit import AuditEvent
from core.models.consent import ConsentAcceptance, ConsentVersion
from core.models.consultations import (
    CompletionReason,
    Consultation,
    ConsultationStatus,
    Outcome,
    Participant,
    ParticipantRole,
)
from core.models.documents import Document
from core.models.drafts import WizardDraft
from core.models.organisations import Organisation
from core.models.plugins import PluginState
from core.models.registry import Patient, PortalAccount, RecordRequest
from core.models.routes import ConsultationType, MedicalProfile
from core.models.sessions import LoginSession
from core.models.schedule import ScheduleTemplate, Slot
from core.models.users import ApiToken, FaqEntry, Role, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "CompletionReason",
    "ConsentAcceptance",
    "ConsentVersion",
    "Consultation",
    "ConsultationStatus",
    "ConsultationType",
    "Document",
    "FaqEntry",
    "LoginSession",
    "MedicalProfile",
    "Organisation",
    "Outcome",
    "Participant",
    "ParticipantRole",
    "Patient",
    "PluginState",
    "PortalAccount",
    "RecordRequest",
    "Role",
    "ScheduleTemplate",
    "Slot",
    "User",
    "WizardDraft",
]
