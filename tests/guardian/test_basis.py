"""A link between a legal representative and a child grants access only with a basis the
access policy checks (SPEC D5; issue 12, the High finding): ESIA lists the child, or an
operator attached a document. A registry import is a claim at most; an adult is never a
ward; a token pushes links only for children of its own organisation."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from core.access import principal_for_account
from core.db import db
from core.models import AuditEvent, Document
from plugins.guardian.models import Guardianship
from core.storage import store_document
from core.testing import PASSWORD
from tests.api.conftest import error_of, is_russian
from tests.chat.conftest import make_account

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
IMPORT = "/api/v1/registry/import"


def link_of(representative, child) -> dict:
    return {"representative": {"snils": representative.snils}, "child": {"snils": child.snils}}


@pytest.fixture
def victim_world(app, factory):
    """A portal user of one organisation and a person of another with a consultation, its
    chat and a file in it."""
    from core.testing import enable_test_login

    enable_test_login(app)
    home, elsewhere = factory.organisation("Поликлиника № 1"), factory.organisation("Поликлиника № 2")
    attacker = factory.patient(organisation=home, last_name="Злоумышленников")
    account = make_account(factory, attacker)
    doctor = factory.doctor(organisation=elsewhere)
    victim = factory.patient(organisation=elsewhere, last_name="Жертвова", first_name="Вера", birth_date=date(1979, 2, 3))
    consultation = factory.consultation(author=doctor, patient=victim)
    document = store_document("анализы.pdf", PDF, consultation_id=consultation.id, owner_user_id=doctor.id)
    db.session.commit()
    return dict(
        home=home, elsewhere=elsewhere, attacker=attacker, account=account, doctor=doctor,
        victim=victim, consultation=consultation, document=document,
    )


def what_the_account_reaches(app, account_id: int, consultation_id: int, document_id: int, name: str) -> list[str]:
    """Every way a portal session would show a person's data; the ones that did."""
    client = app.test_client()
    assert client.get(f"/_test/login/patient/{account_id}").status_code == 200
    reached = []
    if f'data-consultation="{consultation_id}"' in client.get("/portal/chats").get_data(as_text=True):
        reached.append("portal list")
    if f'data-consultation="{consultation_id}"' in client.get("/chat/").get_data(as_text=True):
        reached.append("chat list")
    for path in (
        f"/portal/chats/{consultation_id}",
        f"/chat/{consultation_id}",
        f"/chat/{consultation_id}/messages",
        f"/chat/{consultation_id}/files/{document_id}",
    ):
        if client.get(path).status_code == 200:
            reached.append(path)
    if name in client.get("/portal/requests/new").get_data(as_text=True):
        reached.append("prefill")
    return reached


def test_the_attack_of_issue_12_links_nothing_and_reaches_nothing(app, factory, api_for, victim_world):
    w = victim_world
    stranger_token = api_for(factory.organisation("МИС чужой организации"), "registry:write")
    refused = stranger_token.post(IMPORT, {"guardianships": [link_of(w["attacker"], w["victim"])]})
    assert refused.status_code == 422
    message = error_of(refused)["fields"]["guardianships"]["0"]["child"][0]
    assert is_russian(message)
    assert db.session.scalar(sa.select(sa.func.count(Guardianship.id))) == 0
    reached = what_the_account_reaches(
        app, w["account"].id, w["consultation"].id, w["document"].id, w["victim"].last_name
    )
    assert reached == []


def test_an_adult_is_never_a_ward_even_for_the_own_organisation(factory, api_for, victim_world):
    w = victim_world
    own_token = api_for(w["elsewhere"], "registry:write")
    refused = own_token.post(IMPORT, {"guardianships": [link_of(w["attacker"], w["victim"])]})
    assert refused.status_code == 422
    assert "Совершеннолетний" in error_of(refused)["fields"]["guardianships"]["0"]["child"][0]
    assert db.session.scalar(sa.select(sa.func.count(Guardianship.id))) == 0


def test_a_token_of_another_organisation_cannot_link_a_minor(factory, api_for, victim_world):
    w = victim_world
    child = factory.patient(organisation=w["elsewhere"], first_name="Лиза", birth_date=date(2017, 4, 5))
    token = api_for(w["home"], "registry:write")  # the representative's organisation, not the child's
    refused = token.post(IMPORT, {"guardianships": [link_of(w["attacker"], child)]})
    assert refused.status_code == 422
    assert "другой медицинской организации" in error_of(refused)["fields"]["guardianships"]["0"]["child"][0]
    assert db.session.scalar(sa.select(sa.func.count(Guardianship.id))) == 0


def test_an_imported_link_is_a_claim_that_grants_nothing(app, factory, api_for, victim_world):
    w = victim_world
    child = factory.patient(organisation=w["elsewhere"], last_name="Детская", first_name="Лиза", birth_date=date(2017, 4, 5))
    consultation = factory.consultation(author=w["doctor"], patient=child)
    document = store_document("снимок.pdf", PDF, consultation_id=consultation.id, owner_user_id=w["doctor"].id)
    db.session.commit()
    token = api_for(w["elsewhere"], "registry:write")
    created = token.post(IMPORT, {"guardianships": [link_of(w["attacker"], child)]})
    assert created.status_code == 200, created.get_data(as_text=True)
    link = db.session.scalar(sa.select(Guardianship))
    assert (link.basis, link.source, link.ended_at) == (None, "import", None)
    assert child.id not in principal_for_account(w["account"]).patient_ids
    assert what_the_account_reaches(app, w["account"].id, consultation.id, document.id, child.last_name) == []


def test_an_operator_attaches_a_document_and_only_then_the_representative_acts(app, factory, victim_world):
    """The portal principal's wards come from the guardian plugin (``teleconsult_register_wards``):
    a claim gives none, the operator's document gives the child."""
    w = victim_world
    child = factory.patient(organisation=w["elsewhere"], last_name="Детская", first_name="Лиза", birth_date=date(2017, 4, 5))
    consultation = factory.consultation(author=w["doctor"], patient=child)
    document = store_document("снимок.pdf", PDF, consultation_id=consultation.id, owner_user_id=w["doctor"].id)
    link = Guardianship(representative_id=w["attacker"].id, child_id=child.id, source="wizard")
    db.session.add(link)
    db.session.commit()
    reach = lambda: what_the_account_reaches(app, w["account"].id, consultation.id, document.id, child.last_name)  # noqa: E731
    assert reach() == []

    # An operator of another organisation does not see the link and may not confirm it.
    outsider = factory.user(roles=("operator",), organisation=w["home"], login="operator-home")
    other = app.test_client()
    other.login("operator-home", PASSWORD)
    assert f'guardianship-{link.id}"' not in other.get("/admin/guardianships/").get_data(as_text=True)
    answer = other.post_form(f"/admin/guardianships/{link.id}/document", {"document": (io.BytesIO(PDF), "a.pdf")})
    assert answer.status_code == 404

    operator = factory.user(roles=("operator",), organisation=w["elsewhere"], login="operator-elsewhere")
    console = app.test_client()
    console.login("operator-elsewhere", PASSWORD)
    page = console.get("/admin/guardianships/").get_data(as_text=True)
    assert f'guardianship-{link.id}"' in page and "Не подтверждена" in page
    # No file, or a file that is not a document: a Russian refusal, nothing changes.
    assert console.post_form(f"/admin/guardianships/{link.id}/document", {}).status_code == 422
    text = console.post_form(f"/admin/guardianships/{link.id}/document", {"document": (io.BytesIO(b"hello"), "a.pdf")})
    assert text.status_code == 422 and "не принят" in text.get_data(as_text=True)
    db.session.refresh(link)
    assert link.basis is None and reach() == []

    done = console.post_form(
        f"/admin/guardianships/{link.id}/document", {"document": (io.BytesIO(PDF), "свидетельство.pdf")}
    )
    assert done.status_code == 302
    db.session.refresh(link)
    assert (link.basis, link.verified_by_id) == (Guardianship.DOCUMENT, operator.id)
    assert db.session.get(Document, link.document_id).kind == "guardianship_basis"
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "guardianship.verified"))
    reached = reach()
    assert "portal list" in reached and f"/portal/chats/{consultation.id}" in reached
    assert console.get(f"/admin/guardianships/{link.id}/document/{link.document_id}").status_code == 200

    # Ending it ends access at once.
    assert console.post_form(f"/admin/guardianships/{link.id}/end", {}).status_code == 302
    db.session.refresh(link)
    assert link.ended_at is not None and reach() == []
    assert outsider.id != operator.id


def test_a_child_who_came_of_age_is_no_ward_whatever_the_basis(app, factory, victim_world):
    w = victim_world
    today = date.today()
    grown = factory.patient(organisation=w["elsewhere"], birth_date=today.replace(year=today.year - 18))
    db.session.add(Guardianship(representative_id=w["attacker"].id, child_id=grown.id, basis=Guardianship.ESIA))
    db.session.commit()
    assert grown.id not in principal_for_account(w["account"]).patient_ids
    console_user = factory.user(roles=("operator",), organisation=w["elsewhere"], login="op2")
    console = app.test_client()
    console.login("op2", PASSWORD)
    link = db.session.scalar(sa.select(Guardianship).where(Guardianship.child_id == grown.id))
    refused = console.post_form(f"/admin/guardianships/{link.id}/document", {"document": (io.BytesIO(PDF), "a.pdf")})
    assert refused.status_code == 409 and console_user.id
