"""Participant roles: the core's and those plugins add through the hook
``teleconsult_register_participant_roles``; an unregistered role is refused."""

import pytest
from flask_babel import lazy_gettext as _l

from core import hookimpl, participant_roles
from core.access import principal_for_user
from core.consultations import add_participant
from core.db import db
from core.errors import InvalidInput
from core.models import Participant, ParticipantRole


class Listeners:
    """A video plugin's way to let people watch a consultation without speaking."""

    @hookimpl
    def teleconsult_register_participant_roles(self):
        return {"listener": _l("Слушатель")}


class Usurper:
    @hookimpl
    def teleconsult_register_participant_roles(self):
        return {"consultant": "Другой консультант"}


def test_the_core_registers_its_roles_with_russian_titles(app_context):
    roles = participant_roles.registered()
    # The guardian plugin (loaded by default) adds the legal representative.
    assert set(roles) == {role.value for role in ParticipantRole} | {"representative"}
    assert str(roles["representative"]) == "Законный представитель пациента"
    assert participant_roles.title("consultant") == "Врач-консультант"


def test_without_the_guardian_plugin_there_is_no_representative_role(make_app):
    app = make_app(plugins=[])
    with app.app_context():
        assert set(participant_roles.registered()) == {role.value for role in ParticipantRole}


def test_a_plugin_adds_a_participant_role(make_app):
    from core.testing import Factory

    app = make_app(plugins=[], extra_plugins=[("listeners", Listeners())])
    with app.app_context():
        assert participant_roles.title("listener") == "Слушатель"
        factory = Factory(app)
        doctor = factory.doctor()
        consultation = factory.consultation(author=doctor)
        colleague = factory.doctor(organisation=doctor.organisation)
        participant = add_participant(consultation, "listener", principal_for_user(doctor), user=colleague)
        db.session.commit()
        assert participant.role == "listener"


def test_an_unregistered_role_is_refused_and_nothing_is_written(factory):
    doctor = factory.doctor()
    consultation = factory.consultation(author=doctor)
    before = db.session.query(Participant).count()
    with pytest.raises(InvalidInput) as error:
        add_participant(consultation, "listener", principal_for_user(doctor), user=factory.doctor())
    assert str(error.value.message) == "Неизвестная роль участника: listener"
    db.session.rollback()
    assert db.session.query(Participant).count() == before


def test_a_role_registered_twice_stops_the_start(make_app):
    with pytest.raises(RuntimeError, match="already registered by 'core'"):
        make_app(plugins=[], extra_plugins=[("usurper", Usurper())])
