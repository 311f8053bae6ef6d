"""Portal accounts from ESIA persons, linked to the regional registry by SNILS (SPEC P1)."""

from __future__ import annotations

import sqlalchemy as sa

from core import audit
from core.access import ANONYMOUS, principal_for_account
from core.db import db
from core.models import Guardianship, Patient, PortalAccount
from plugins.esia.client import EsiaPerson


class NotInRegistry(Exception):
    """No registry record matches the person's SNILS (or it is taken by another account)."""


def _patient_by_snils(snils: str | None) -> Patient | None:
    if not snils:
        return None
    return db.session.scalar(sa.select(Patient).where(Patient.snils == snils))


def sign_in(person: EsiaPerson) -> PortalAccount:
    """The portal account of an admitted ESIA person, created and linked on first login.

    Raises ``NotInRegistry`` when the person has no registry record; nothing is written
    then. Children ESIA lists are linked as the person's wards when the registry knows
    them by SNILS and no guardianship is recorded yet.
    """
    account = db.session.scalar(sa.select(PortalAccount).where(PortalAccount.esia_oid == person.oid))
    patient = account.patient if account is not None else None
    if patient is None:
        patient = _patient_by_snils(person.snils)
        if patient is None or (
            patient.portal_account_id is not None and (account is None or patient.portal_account_id != account.id)
        ):
            audit.record(
                "esia.not_in_registry", principal=ANONYMOUS, object_type="portal_accounts", data={"oid": person.oid}
            )
            raise NotInRegistry()
    created = account is None
    if created:
        account = PortalAccount(esia_oid=person.oid)
        db.session.add(account)
    account.trust_level = person.trust_level
    account.last_name = person.last_name
    account.first_name = person.first_name
    account.middle_name = person.middle_name
    account.birth_date = person.birth_date
    account.email = person.email
    account.phone = person.phone
    db.session.flush()
    if patient.portal_account_id != account.id:
        patient.portal_account = account
        db.session.flush()
        audit.record(
            "esia.account_linked", account, principal=principal_for_account(account), data={"patient_id": patient.id}
        )
    _link_children(account, patient, person)
    return account


def _link_children(account: PortalAccount, parent: Patient, person: EsiaPerson) -> None:
    known = set(
        db.session.scalars(sa.select(Guardianship.child_id).where(Guardianship.representative_id == parent.id))
    )
    for kid in person.children:
        child = _patient_by_snils(kid.snils)
        if child is None or child.id in known or child.id == parent.id:
            continue
        guardianship = Guardianship(representative_id=parent.id, child_id=child.id, kind="parent")
        db.session.add(guardianship)
        db.session.flush()
        known.add(child.id)
        audit.record(
            "esia.child_linked", guardianship, principal=principal_for_account(account), data={"child_id": child.id}
        )
