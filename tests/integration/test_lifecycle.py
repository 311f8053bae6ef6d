"""The consultation state machine (issue: foundation; SPEC D3, D9)."""

import pytest
import sqlalchemy as sa

from core import lifecycle
from core.access import principal_for_user
from core.db import db
from core.errors import Conflict, InvalidInput, TransitionError
from core.models import AuditEvent, CompletionReason, ConsultationStatus, Outcome, Participant


def _reason(code="no_show"):
    return db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == code))


def _actions(consultation_id):
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.consultation_id == consultation_id)
            .order_by(AuditEvent.id)
        )
    )


@pytest.mark.parametrize("plugins", [[], None], ids=["bare-core", "all-plugins"])
def test_create_schedule_close_without_conclusion(make_app, plugins):
    app = make_app(plugins=plugins)
    with app.app_context():
        from core.testing import Factory

        factory = Factory(app)
        doctor = factory.doctor()
        consultant = factory.doctor(organisation=doctor.organisation)
        consultation = factory.consultation(author=doctor, consultant=consultant)
        assert consultation.status == ConsultationStatus.SCHEDULED
        assert consultation.scheduled_at is not None
        roles = sorted(p.role for p in consultation.participants)
        assert roles == ["author", "consultant", "patient"]

        lifecycle.complete(
            consultation, Outcome.NO_CONCLUSION, principal_for_user(consultant), reason=_reason()
        )
        db.session.commit()
        assert consultation.status == ConsultationStatus.CLOSED
        assert consultation.outcome == Outcome.NO_CONCLUSION
        assert consultation.outcome_reason.name == "Пациент не вышел на связь"
        assert _actions(consultation.id) == [
            "consultation.created",
            "participant.added",
            "participant.added",
            "participant.added",
            "consultation.scheduled",
            "consultation.completed",
        ]


def test_illegal_transitions_are_refused_with_russian_message(factory):
    consultation = factory.consultation(slot=False)
    actor = principal_for_user(consultation.author)
    assert consultation.status == ConsultationStatus.CREATED
    with pytest.raises(TransitionError, match="ещё не поставлена в расписание"):
        lifecycle.start(consultation, actor)
    with pytest.raises(TransitionError, match="ещё не поставлена в расписание"):
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=_reason())
    db.session.rollback()

    lifecycle.schedule(consultation, factory.slot(consultation.consultant), actor)
    lifecycle.start(consultation, actor)
    with pytest.raises(TransitionError, match="уже идёт"):
        lifecycle.start(consultation, actor)
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=_reason())
    db.session.commit()
    for step in (
        lambda: lifecycle.start(consultation, actor),
        lambda: lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=_reason()),
        lambda: lifecycle.schedule(consultation, factory.slot(consultation.consultant), actor),
    ):
        with pytest.raises(TransitionError, match="Заявка уже закрыта"):
            step()
    assert _actions(consultation.id)[-3:] == [
        "consultation.scheduled",
        "consultation.started",
        "consultation.completed",
    ]


def test_every_transition_fires_its_hook(make_app):
    from core import hookimpl

    seen = []

    class Recorder:
        @hookimpl
        def teleconsult_consultation_created(self, consultation, actor):
            seen.append(("created", consultation.status))

        @hookimpl
        def teleconsult_consultation_scheduled(self, consultation, slot, actor):
            seen.append(("scheduled", slot.id == consultation.slot_id))

        @hookimpl
        def teleconsult_consultation_started(self, consultation, actor):
            seen.append(("started", consultation.status))

        @hookimpl
        def teleconsult_consultation_completed(self, consultation, outcome, actor):
            seen.append(("completed", outcome))

        @hookimpl
        def teleconsult_participant_added(self, consultation, participant):
            seen.append(("participant", participant.role))

    app = make_app(plugins=[], extra_plugins=[("recorder", Recorder())])
    with app.app_context():
        from core.testing import Factory

        consultation = Factory(app).consultation()
        actor = principal_for_user(consultation.consultant)
        lifecycle.start(consultation, actor)
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=_reason())
        db.session.commit()
    assert seen == [
        ("participant", "author"),
        ("participant", "consultant"),
        ("participant", "patient"),
        ("created", "created"),
        ("scheduled", True),
        ("started", "in_progress"),
        ("completed", "no_conclusion"),
    ]


def test_no_conclusion_needs_an_active_reason(factory):
    consultation = factory.consultation()
    actor = principal_for_user(consultation.consultant)
    with pytest.raises(InvalidInput, match="причину"):
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=None)
    reason = _reason()
    reason.active = False
    with pytest.raises(InvalidInput):
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, actor, reason=reason)


def test_a_slot_is_booked_once(factory):
    first = factory.consultation()
    slot = first.slot
    actor = principal_for_user(first.author)
    with pytest.raises(Conflict, match="Это время только что занял другой врач: выберите другое время"):
        factory.consultation(author=first.author, slot=slot)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Participant.id))) == 3
    second = factory.consultation(author=first.author, slot=False)
    with pytest.raises(Conflict, match="Это время только что занял другой врач: выберите другое время"):
        lifecycle.schedule(second, slot, actor)


def test_refused_draft_leaves_nothing(factory):
    from core.consultations import ConsultationDraft, create_consultation
    from core.models import Consultation

    doctor = factory.doctor()
    other_org_doctor = factory.doctor()
    patient = factory.patient()
    ctype = factory.consultation_type()
    draft = ConsultationDraft(
        type_id=ctype.id,
        profile_id=ctype.profiles[0].id,
        patient_id=patient.id,
        consultant_id=other_org_doctor.id,
        email="patient@example.ru",
    )
    with pytest.raises(InvalidInput, match="врачом вашей медицинской организации"):
        create_consultation(draft, principal_for_user(doctor))
    draft.consultant_id = doctor.id
    draft.email = "не адрес"
    with pytest.raises(InvalidInput, match="адрес электронной почты"):
        create_consultation(draft, principal_for_user(doctor))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
