"""The ESIA basis of a legal representation, through the development IdP (SPEC D5, P1;
issue 12): ESIA's children (``kid_*`` scopes, ``/rs/prns/{oid}/kids`` and the child's
OMS policy from ``/kids/{id}/docs``) are matched to the registry by SNILS or by OMS policy
with the birth date, re-read at every login."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent
from plugins.guardian.models import Guardianship
from plugins.esia.client import DEFAULT_SCOPES
from tests.portal.conftest import PARENT, accept_consent, enter


def _claim(registry):
    """The demo parent's link as an import leaves it: a claim, no basis; the registry
    knows the child by OMS policy only (no SNILS)."""
    link = registry.parent_child
    link.basis, link.source = None, "import"
    child = registry.patients[PARENT + ":child"]
    child.snils = None
    db.session.commit()
    return link, child


def _child_consultation(factory, registry, child):
    doctor = factory.doctor(organisation=registry.organisation, specialty="педиатр")
    return factory.consultation(
        author=doctor, consultant=doctor, patient=child, representative_id=registry.patients[PARENT].id,
        type_code="remote_representative",
    )


def test_esia_lists_the_child_by_oms_policy_and_birth_date_and_the_claim_becomes_a_basis(app, registry, factory):
    """The ESIA plugin hands the children it matched to the guardian plugin at login
    (``teleconsult_person_children_listed``), which confirms the claim."""
    link, child = _claim(registry)
    consultation = _child_consultation(factory, registry, child)
    browser = app.test_client()
    enter(browser, PARENT)
    db.session.refresh(link)
    assert (link.basis, link.ended_at) == (Guardianship.ESIA, None)
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "esia.child_linked"))
    accept_consent(browser)
    assert browser.get(f"/portal/chats/{consultation.id}").status_code == 200


def test_a_birth_date_that_does_not_agree_confirms_nothing(app, registry, factory):
    link, child = _claim(registry)
    child.birth_date = child.birth_date - timedelta(days=3)
    db.session.commit()
    consultation = _child_consultation(factory, registry, child)
    browser = app.test_client()
    enter(browser, PARENT)
    db.session.refresh(link)
    assert link.basis is None
    accept_consent(browser)
    assert browser.get(f"/portal/chats/{consultation.id}").status_code == 404


def test_without_the_kid_scopes_an_esia_basis_cannot_be_rechecked_and_lapses(app, registry, factory):
    link = registry.parent_child
    assert link.basis == Guardianship.ESIA
    consultation = _child_consultation(factory, registry, registry.patients[PARENT + ":child"])
    app.config["ESIA_SCOPES"] = " ".join(s for s in DEFAULT_SCOPES.split() if not s.startswith("kid_"))
    browser = app.test_client()
    enter(browser, PARENT)
    db.session.refresh(link)
    assert link.basis is None and link.ended_at is None
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "esia.child_unverified"))
    accept_consent(browser)
    assert browser.get(f"/portal/chats/{consultation.id}").status_code == 404
