"""Creating consultations: the rules the wizard and the REST API share (SPEC D3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from core import audit, lifecycle, participant_roles, routeforms
from core.access import Principal
from core.db import db
from core.errors import InvalidInput
from core.models import (
    Consultation,
    ConsultationStatus,
    ConsultationType,
    MedicalProfile,
    Participant,
    ParticipantRole,
    Patient,
    Role,
    Slot,
    User,
)
from core.plugins import hooks, hooks_for
from core.routing import REPRESENTATIVE_ROLE, react, route_for, split_problems, type_offered

COMMENT_MAX_LENGTH = 2000


@dataclass
class ConsultationDraft:
    type_id: int
    profile_id: int
    patient_id: int
    consultant_id: int
    email: str
    comment: str | None = None
    representative_id: int | None = None
    slot_id: int | None = None
    route_data: dict = field(default_factory=dict)
    # Machine clients name the author; staff are the author themselves.
    author_id: int | None = None


def _fail(field_name: str, message) -> InvalidInput:
    return InvalidInput(message, field_errors={field_name: [message]})


def normalize_email(value: str) -> str:
    try:
        return validate_email(value or "", check_deliverability=False).normalized
    except EmailNotValidError:
        raise _fail("email", _l("Укажите корректный адрес электронной почты")) from None


def _author(draft: ConsultationDraft, actor: Principal) -> User:
    author_id = actor.id if actor.is_staff else draft.author_id
    author = db.session.get(User, author_id) if author_id else None
    if author is None or not author.is_active or not (author.has_role(Role.DOCTOR) or author.has_role(Role.REGISTRAR)):
        raise _fail("author_id", _l("Автор заявки должен быть врачом или регистратором"))
    if actor.kind == "api" and author.organisation_id != actor.organisation_id:
        raise _fail("author_id", _l("Автор заявки должен работать в вашей медицинской организации"))
    return author


def create_consultation(draft: ConsultationDraft, actor: Principal) -> Consultation:
    """Validate the draft and create the consultation, booking its slot when given.

    Raises ``InvalidInput`` or ``Conflict``; the caller rolls back on any error, so a
    refused draft leaves nothing behind.
    """
    author = _author(draft, actor)
    ctype = db.session.get(ConsultationType, draft.type_id)
    if not type_offered(ctype, author.organisation_id):
        raise _fail("type_id", _l("Тип консультации не найден или отключён"))
    profile = db.session.get(MedicalProfile, draft.profile_id)
    if profile is None or not profile.active or (ctype.profiles and profile not in ctype.profiles):
        raise _fail("profile_id", _l("Профиль не относится к выбранному типу консультации"))
    patient = db.session.get(Patient, draft.patient_id)
    if patient is None:
        raise _fail("patient_id", _l("Пациент не найден в регистре"))
    consultant = db.session.get(User, draft.consultant_id)
    if (
        consultant is None
        or not consultant.is_active
        or not consultant.has_role(Role.DOCTOR)
        or consultant.organisation_id != author.organisation_id
    ):
        raise _fail(
            "consultant_id",
            _l("Врач-консультант должен быть врачом вашей медицинской организации"),
        )
    representative = _representative(ctype, patient, draft.representative_id, author.organisation_id)
    email = normalize_email(draft.email)
    comment = (draft.comment or "").strip() or None
    if comment and len(comment) > COMMENT_MAX_LENGTH:
        raise _fail("comment", _l("Комментарий не длиннее %(n)s символов", n=COMMENT_MAX_LENGTH))

    route = route_for(ctype)
    route_data = routeforms.load_application(route, draft.route_data)

    consultation = Consultation(
        type=ctype,
        profile=profile,
        organisation_id=author.organisation_id,
        patient=patient,
        representative=representative,
        author=author,
        consultant=consultant,
        email=email,
        comment=comment,
        route_data=route_data,
        status=ConsultationStatus.CREATED,
    )
    general, by_field = split_problems(route.validate(consultation, route_data) if route.validate else [])
    for found in hooks_for(consultation).teleconsult_consultation_validate(consultation=consultation):
        general.extend(str(p) for p in found or [])
    if general or by_field:
        if consultation in db.session:
            db.session.expunge(consultation)
        errors: dict = {}
        if by_field:
            errors["route_data"] = by_field
        if general:
            errors["_schema"] = general
        first = general[0] if general else next(iter(by_field.values()))[0]
        raise InvalidInput(first, field_errors=errors)

    db.session.add(consultation)
    db.session.flush()
    audit.record(
        "consultation.created",
        consultation,
        principal=actor,
        data={"type": ctype.code, "profile": profile.code, "consultant_id": consultant.id},
    )
    _add_participants(consultation, author, consultant, patient, representative, actor)
    hooks_for(consultation).teleconsult_consultation_created(consultation=consultation, actor=actor)
    react(consultation, "created", actor=actor)
    if draft.slot_id is not None:
        lifecycle.schedule(consultation, db.session.get(Slot, draft.slot_id), actor)
    return consultation


def _representative(ctype: ConsultationType, patient: Patient, representative_id: int | None, organisation_id):
    if not ctype.for_representative:
        if representative_id is not None:
            raise _fail(
                "representative_id",
                _l("Этот тип консультации не проводится через законного представителя"),
            )
        return None
    if representative_id is None:
        raise _fail("representative_id", _l("Укажите законного представителя пациента"))
    representative = db.session.get(Patient, representative_id)
    # Whether a link holds is the business of the plugin that knows legal
    # representatives (hook ``teleconsult_representation_check``); no answer is a no.
    linked = representative is not None and representative.id != patient.id and hooks(
        organisation_id=organisation_id
    ).teleconsult_representation_check(representative=representative, patient=patient)
    if not linked:
        raise _fail(
            "representative_id",
            _l("Законный представитель не связан с пациентом в регистре"),
        )
    return representative


def add_participant(
    consultation: Consultation,
    role: str,
    actor: Principal,
    *,
    user: User | None = None,
    patient: Patient | None = None,
) -> Participant:
    """Add someone in ``role``, one of the registered roles (core.participant_roles)."""
    participant_roles.check(role)
    participant = Participant(consultation=consultation, role=role, user=user, patient=patient)
    db.session.add(participant)
    db.session.flush()
    audit.record(
        "participant.added",
        participant,
        principal=actor,
        consultation_id=consultation.id,
        data={"role": role, "user_id": user.id if user else None},
    )
    hooks_for(consultation).teleconsult_participant_added(consultation=consultation, participant=participant)
    return participant


def _add_participants(consultation, author, consultant, patient, representative, actor) -> None:
    add_participant(consultation, ParticipantRole.AUTHOR, actor, user=author)
    add_participant(consultation, ParticipantRole.CONSULTANT, actor, user=consultant)
    if representative is not None:
        add_participant(consultation, REPRESENTATIVE_ROLE, actor, patient=representative)
    else:
        add_participant(consultation, ParticipantRole.PATIENT, actor, patient=patient)
