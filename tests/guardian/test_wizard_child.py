"""Seed 002 §5.4 (SPEC D5): for a representative's consultation the doctor types the
child's full name, birth date and OMS policy; the wizard matches the child in the registry
or adds them, the link is a claim (no access until ESIA or an operator confirms it), and
a child of 15 or more gets the 323-ФЗ art. 54 warning."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from core.db import db
from core.models import Consultation, ConsultationType, Patient
from plugins.guardian.models import Guardianship
from core.testing import PASSWORD
from core.validators import complete_oms


def _start(client, factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login="pediatr", specialty="педиатр")
    client.login("pediatr", PASSWORD)
    parent = factory.patient(organisation, last_name="Морозова", first_name="Елена")
    ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_representative"))
    client.post_form("/workplace/new/type", {"type_id": ctype.id})
    client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    found = client.post_form("/workplace/new/patient", {"kind": "oms", "identifier": parent.oms_policy})
    assert found.location.endswith("/workplace/new/confirm")
    # «Проверка ФИО» confirms the representative; the plugin's step «Ребёнок» follows.
    assert client.post_form("/workplace/new/confirm", {}).location.endswith("/workplace/new/child")
    return organisation, doctor, parent


def _child_form(**kw):
    form = {
        "enter_child": "1", "child_last_name": "Морозов", "child_first_name": "Тимофей",
        "child_middle_name": "Ильич", "child_birth_date": "2018-03-04",
        "child_oms_policy": complete_oms("780000000777001"), "child_sex": "male",
    }
    form.update(kw)
    return form


def _finish(client, doctor):
    client.post_form("/workplace/new/email", {"email": "morozova@example.ru", "comment": ""})
    client.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    page = client.get("/workplace/new/slot").get_data(as_text=True)
    slot_id = page.split('name="slot_id" value="')[1].split('"')[0]
    return client.post_form("/workplace/new/slot", {"slot_id": slot_id})


def test_a_child_typed_by_hand_is_added_to_the_registry_and_the_application_filed(client, factory):
    """The step «Ребёнок» claims the link; filing asks the plugin whether it holds
    (``teleconsult_representation_check``)."""
    organisation, doctor, parent = _start(client, factory)
    factory.slot(doctor)
    page = client.get("/workplace/new/child").get_data(as_text=True)
    assert "Сведения о пациенте (ребёнке)" in page
    response = client.post_form("/workplace/new/child", _child_form())
    assert response.status_code == 302 and response.location.endswith("/workplace/new/email")
    child = db.session.scalar(sa.select(Patient).where(Patient.first_name == "Тимофей"))
    assert (child.organisation_id, child.source, child.birth_date) == (organisation.id, "wizard", date(2018, 3, 4))
    link = db.session.scalar(sa.select(Guardianship))
    assert (link.representative_id, link.child_id, link.basis, link.source) == (parent.id, child.id, None, "wizard")
    assert "data-own-consent" not in client.get("/workplace/new/email").get_data(as_text=True)
    assert _finish(client, doctor).status_code == 302
    consultation = db.session.scalar(sa.select(Consultation))
    assert (consultation.patient_id, consultation.representative_id) == (child.id, parent.id)


def test_a_known_child_is_matched_by_policy_and_a_mismatch_is_refused(client, factory):
    organisation, doctor, parent = _start(client, factory)
    known = factory.patient(
        organisation, last_name="Морозов", first_name="Тимофей", birth_date=date(2018, 3, 4),
        oms_policy=complete_oms("780000000777002"),
    )
    wrong = client.post_form(
        "/workplace/new/child", _child_form(child_oms_policy=known.oms_policy, child_birth_date="2018-03-05")
    )
    assert wrong.status_code == 422 and "другому человеку" in wrong.get_data(as_text=True)
    assert 'value="2018-03-05"' in wrong.get_data(as_text=True), "what the doctor typed stays"
    bad = client.post_form("/workplace/new/child", _child_form(child_oms_policy="123"))
    assert bad.status_code == 422 and "полис" in bad.get_data(as_text=True).lower()
    adult = client.post_form("/workplace/new/child", _child_form(child_birth_date="2000-01-01"))
    assert adult.status_code == 422 and "18 лет" in adult.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Guardianship.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 2, "nothing half-written"
    matched = client.post_form("/workplace/new/child", _child_form(child_oms_policy=known.oms_policy))
    assert matched.status_code == 302
    assert db.session.scalar(sa.select(Guardianship.child_id)) == known.id


def test_a_child_of_fifteen_or_more_gets_the_own_consent_warning(client, factory):
    organisation, doctor, parent = _start(client, factory)
    today = date.today()
    born = today.replace(year=today.year - 15)
    response = client.post_form("/workplace/new/child", _child_form(child_birth_date=born.isoformat()))
    assert response.status_code == 302
    page = client.get("/workplace/new/email").get_data(as_text=True)
    assert "data-own-consent" in page and "ст. 54" in page and "Пациенту 15 лет" in page
