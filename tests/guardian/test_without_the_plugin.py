"""Legal representatives are a plugin (issue 14, SPEC D5): an app built without
``guardian`` knows no representative type, no wizard step «Ребёнок», no ward, no console
page and no link import; switched off for an organisation, the types vanish there."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from core.access import principal_for_account
from core.db import db
from core.models import ConsultationType, PluginState, PortalAccount
from core.participant_roles import registered
from core.testing import PASSWORD
from plugins.guardian.models import Guardianship
from core.api.auth import create_token
from tests.api.conftest import ALL_SCOPES, error_of, is_russian

ALL_BUT_GUARDIAN = ["chat", "conclusion_upload", "esia", "esignature", "notifications", "routes_covid", "video"]
REPRESENTATIVE_TYPES = {"remote_representative", "covid_representative"}


def test_without_the_plugin_there_is_no_representative_anywhere(make_app):
    app = make_app(plugins=ALL_BUT_GUARDIAN)
    with app.app_context():
        from core.testing import Factory

        factory = Factory(app)
        assert "representative" not in registered(app)
        codes = set(db.session.scalars(sa.select(ConsultationType.code)))
        assert "remote_patient" in codes and "covid_patient" in codes
        assert not codes & REPRESENTATIVE_TYPES, "types for representatives are not even created"
        organisation = factory.organisation()
        doctor = factory.doctor(organisation, login="terapevt")
        parent = factory.patient(organisation, last_name="Морозова")
        child = factory.patient(organisation, last_name="Морозов", first_name="Тимофей", birth_date=date(2018, 3, 4))
        # A link with a basis left in the table from the time the plugin was on grants nothing now.
        db.session.add(Guardianship(representative_id=parent.id, child_id=child.id, basis=Guardianship.ESIA))
        account = PortalAccount(identity_provider="esia", external_id="77", trust_level="standard", last_name="Морозова", first_name="Елена")
        parent.portal_account = account
        db.session.add(account)
        db.session.commit()
        assert principal_for_account(account).patient_ids == frozenset({parent.id})

        client = app.test_client()
        client.login("terapevt", PASSWORD)
        page = client.get("/workplace/new/type").get_data(as_text=True)
        assert "законного представителя" not in page and "Ребёнок" not in page
        ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
        client.post_form("/workplace/new/type", {"type_id": ctype.id})
        client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
        client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": parent.snils})
        assert client.post_form("/workplace/new/confirm").location.endswith("/workplace/new/email")
        assert client.get("/workplace/new/child").status_code in (302, 404)

        _token, token = create_token("МИС «Тест»", organisation.id, ALL_SCOPES.split())
        db.session.commit()
        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        types = api.get("/api/v1/consultation-types", headers=headers)
        assert types.status_code == 200, types.get_data(as_text=True)
        assert not {t["code"] for t in types.get_json()} & REPRESENTATIVE_TYPES
        refused = api.post(
            "/api/v1/registry/import", headers=headers,
            json={"guardianships": [{"representative": {"snils": parent.snils}, "child": {"snils": child.snils}}]},
        )
        assert refused.status_code == 422 and is_russian(error_of(refused)["message"])
        record = api.get(f"/api/v1/registry/patients/{child.id}", headers=headers).get_json()
        assert "representatives" not in record and "children" not in record
        assert doctor.organisation_id == organisation.id


def test_switched_off_for_an_organisation_the_representative_types_vanish_there(app, factory, api_for):
    here, there = factory.organisation("Поликлиника № 1"), factory.organisation("Поликлиника № 2")
    factory.doctor(here, login="here")

    def api_codes(organisation) -> set[str]:
        answer = api_for(organisation).get("/api/v1/consultation-types")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return {t["code"] for t in answer.get_json()}

    def wizard_page() -> str:
        client = app.test_client()
        client.login("here", PASSWORD)
        return client.get("/workplace/new/type").get_data(as_text=True)

    assert REPRESENTATIVE_TYPES <= api_codes(here)
    assert "Дистанционная консультация законного представителя" in wizard_page()
    db.session.add(PluginState(plugin="guardian", organisation_id=here.id, enabled=False))
    db.session.commit()
    assert not api_codes(here) & REPRESENTATIVE_TYPES
    assert "законного представителя" not in wizard_page()
    assert REPRESENTATIVE_TYPES <= api_codes(there)


def test_without_the_plugin_the_portal_asks_for_no_child(make_app):
    from tests.chat.conftest import make_account

    app = make_app(plugins=ALL_BUT_GUARDIAN)
    with app.app_context():
        from core.testing import Factory, login_session

        factory = Factory(app)
        patient = factory.patient(factory.organisation(), last_name="Морозова")
        account = make_account(factory, patient)
        browser = app.test_client()
        login_session(browser, account)
        page = browser.get("/portal/requests/new").get_data(as_text=True)
        assert "Данные ребёнка" not in page and "Для ребёнка" not in page
        refused = browser.post_form("/portal/requests/new", {"who": "child", "last_name": "Морозова"})
        assert refused.status_code == 422
        assert "Выберите, для кого консультация" in refused.get_data(as_text=True)


def test_switched_off_for_the_deployment_a_representative_acts_for_nobody(app, factory):
    organisation = factory.organisation()
    parent = factory.patient(organisation, last_name="Морозова")
    child = factory.patient(organisation, last_name="Морозов", first_name="Тимофей", birth_date=date(2018, 3, 4))
    db.session.add(Guardianship(representative_id=parent.id, child_id=child.id, basis=Guardianship.ESIA))
    account = PortalAccount(identity_provider="esia", external_id="78", trust_level="standard", last_name="Морозова", first_name="Елена")
    parent.portal_account = account
    db.session.add(account)
    db.session.commit()
    assert principal_for_account(account).patient_ids == frozenset({parent.id, child.id})
    db.session.add(PluginState(plugin="guardian", organisation_id=None, enabled=False))
    db.session.commit()
    assert principal_for_account(account).patient_ids == frozenset({parent.id})
