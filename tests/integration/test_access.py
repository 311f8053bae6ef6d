"""The one access policy: who sees which consultation and document."""

from datetime import date

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from core.access import (
    ANONYMOUS,
    can,
    principal_for_account,
    principal_for_token,
    principal_for_user,
    require,
)
from core.db import db
from core.models import ApiToken, PortalAccount
from plugins.guardian.models import Guardianship


@pytest.fixture
def world(factory):
    org = factory.organisation()
    doctor = factory.doctor(organisation=org)
    colleague = factory.doctor(organisation=org)
    stranger = factory.doctor()
    parent = factory.patient(organisation=org)
    child = factory.patient(organisation=org, first_name="Маша", sex="female", birth_date=date(2016, 5, 1))
    db.session.add(Guardianship(representative=parent, child=child, basis=Guardianship.ESIA))
    account = PortalAccount(identity_provider="esia", external_id="42", trust_level="standard", last_name=parent.last_name, first_name="Пётр")
    parent.portal_account = account
    other_account = PortalAccount(identity_provider="esia", external_id="43", trust_level="standard", last_name="Другой", first_name="Олег")
    db.session.add_all([account, other_account])
    db.session.commit()
    consultation = factory.consultation(author=doctor, consultant=doctor, patient=child)
    return dict(
        org=org, doctor=doctor, colleague=colleague, stranger=stranger,
        account=account, other_account=other_account, consultation=consultation,
    )


def test_who_sees_a_consultation(app, world):
    consultation = world["consultation"]
    with app.test_request_context():
        assert can("consultation.view", consultation, principal_for_user(world["doctor"]))
        assert not can("consultation.view", consultation, principal_for_user(world["colleague"]))
        assert not can("consultation.view", consultation, principal_for_user(world["stranger"]))
        # A parent sees the consultation held for the child (SPEC P3); nobody else does.
        assert can("consultation.view", consultation, principal_for_account(world["account"]))
        assert not can("consultation.view", consultation, principal_for_account(world["other_account"]))
        with pytest.raises(NotFound):
            require("consultation.view", consultation, principal_for_user(world["stranger"]))
        with pytest.raises(Unauthorized):
            require("consultation.view", consultation, ANONYMOUS)


def test_only_the_consultant_completes(app, world):
    consultation = world["consultation"]
    with app.test_request_context():
        assert can("consultation.complete", consultation, principal_for_user(world["doctor"]))
        with pytest.raises(Forbidden):  # the parent sees it, so 403 rather than 404
            require("consultation.complete", consultation, principal_for_account(world["account"]))


def test_machine_clients_need_scope_and_organisation(app, world):
    consultation = world["consultation"]
    own = ApiToken(name="МИС", token_hash=ApiToken.hash("a"), organisation_id=world["org"].id, scopes="consultations:read")
    foreign = ApiToken(name="МИС-2", token_hash=ApiToken.hash("b"), organisation_id=world["stranger"].organisation_id, scopes="consultations:read registry:read")
    db.session.add_all([own, foreign])
    db.session.commit()
    with app.test_request_context():
        assert can("consultation.view", consultation, principal_for_token(own))
        assert not can("consultation.view", consultation, principal_for_token(foreign))
        assert not can("registry.search", None, principal_for_token(own))
        assert can("registry.search", None, principal_for_token(foreign))


def test_documents_follow_their_consultation(app, world):
    from core.storage import store_document

    with app.test_request_context():
        document = store_document("скан.pdf", b"%PDF-1.4\n%%EOF\n", consultation_id=world["consultation"].id, owner_user_id=world["doctor"].id)
        db.session.commit()
        assert can("document.view", document, principal_for_account(world["account"]))
        assert not can("document.view", document, principal_for_account(world["other_account"]))
        assert not can("document.view", document, principal_for_user(world["colleague"]))


def test_unknown_action_is_a_programming_error(app):
    with app.test_request_context(), pytest.raises(LookupError):
        can("no.such.action")
