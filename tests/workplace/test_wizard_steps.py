"""A plugin adds a step to «Подать заявку» (hook teleconsult_register_wizard_steps; SPEC D3, D5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint, request

from core import hookimpl
from core.db import db
from core.errors import InvalidInput
from core.models import ConsultationType, PluginState, WizardDraft
from core.testing import PASSWORD, Factory
from core.wizard_steps import WizardStep
from core.workplace import wizard


def _submit(values):
    if request.form.get("agreed") != "on":
        raise InvalidInput("Отметьте согласие пациента")
    wizard.update_state(consent_given=True)
    return wizard.go_next("consent")


class ConsentPlugin:
    """A step after «Проверка ФИО» for the patients' own types only."""

    @hookimpl
    def teleconsult_register_blueprints(self, app):
        return [Blueprint("consent", __name__, template_folder="consent_templates")]

    @hookimpl
    def teleconsult_register_wizard_steps(self):
        return [
            WizardStep(
                code="consent",
                title="Согласие",
                after="confirm",
                template="consent/step.html",
                submit=_submit,
                applies=lambda values, ctype: ctype is not None and not ctype.for_representative,
                provides=("consent_given",),
            )
        ]


@pytest.fixture
def consent_app(make_app):
    # guardian: the types for legal representatives, for which the step does not apply.
    return make_app(plugins=["guardian"], extra_plugins=[("consent", ConsentPlugin())])


def test_a_plugin_step_sits_after_its_anchor_is_required_and_follows_the_switch(consent_app):
    with consent_app.app_context():
        factory = Factory(consent_app)
        organisation = factory.organisation()
        factory.doctor(organisation, login="doc")
        patient = factory.patient(organisation)
        ctype = factory.consultation_type("remote_patient")
        db.session.commit()
        ctype_id, profile_id, snils = ctype.id, ctype.profiles[0].id, patient.snils
        organisation_id = organisation.id
    client = consent_app.test_client()
    client.login("doc", PASSWORD)
    client.post_form("/workplace/new/type", {"type_id": ctype_id})
    client.post_form("/workplace/new/profile", {"profile_id": profile_id})
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": snils})
    confirmed = client.post_form("/workplace/new/confirm")
    assert confirmed.location.endswith("/workplace/new/consent")
    # The steps after it need what it provides.
    assert client.get("/workplace/new/email").location.endswith("/workplace/new/consent")
    page = client.get("/workplace/new/consent").get_data(as_text=True)
    assert "Согласие пациента" in page and ">Согласие</a>" not in page  # the current step is not a link
    assert page.index("Проверка ФИО") < page.index("Согласие") < page.index("Электронная почта")
    assert 'href="/workplace/new/confirm">Назад' in page
    refused = client.post_form("/workplace/new/consent", {})
    assert refused.status_code == 422 and "Отметьте согласие пациента" in refused.get_data(as_text=True)
    with consent_app.app_context():
        assert "consent_given" not in db.session.scalar(sa.select(WizardDraft)).data
    assert client.post_form("/workplace/new/consent", {"agreed": "on"}).location.endswith("/workplace/new/email")
    email = client.get("/workplace/new/email").get_data(as_text=True)
    assert 'href="/workplace/new/consent">Назад' in email
    assert client.get("/workplace/new/nonsense").status_code == 404

    # Switched off for the organisation: the step is gone, confirm leads to the e-mail.
    with consent_app.app_context():
        db.session.add(PluginState(plugin="consent", organisation_id=organisation_id, enabled=False))
        db.session.commit()
    assert client.post_form("/workplace/new/confirm").location.endswith("/workplace/new/email")
    assert client.get("/workplace/new/consent").status_code == 404  # as if the plugin were absent


def test_a_step_that_does_not_apply_is_skipped(consent_app):
    with consent_app.app_context():
        factory = Factory(consent_app)
        organisation = factory.organisation()
        factory.doctor(organisation, login="doc")
        db.session.commit()
        representative = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.for_representative.is_(True)))
        values = {"type_id": representative.id}
    client = consent_app.test_client()
    client.login("doc", PASSWORD)
    client.post_form("/workplace/new/type", {"type_id": values["type_id"]})
    page = client.get("/workplace/new/profile").get_data(as_text=True)
    assert "Согласие" not in page and "Проверка ФИО" in page
