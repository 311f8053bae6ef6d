"""Portal accounts from ESIA persons, linked to the regional registry by SNILS (SPEC P1)."""

from __future__ import annotations

import sqlalchemy as sa

from core import audit
from core.access import ANONYMOUS, principal_for_account
from core.db import db, utcnow
from core.models import Guardianship, Patient, PortalAccount
from core.validators import ADULT_AGE, age_on
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
    then. The person's wards follow the children ESIA lists at every login.
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
    _sync_children(account, patient, person)
    return account


def _sync_children(account: PortalAccount, parent: Patient, person: EsiaPerson) -> None:
    """The representative acts for exactly the children ESIA lists now (and who are under 18).

    A listed child the registry knows by SNILS is linked (a link ended earlier is put back
    in force); a link to a child ESIA no longer lists, or who has come of age, is ended.
    Nothing changes when ESIA was not asked for the children.
    """
    if not person.children_known:
        return
    today = utcnow().date()
    listed: set[int] = set()
    for kid in person.children:
        child = _patient_by_snils(kid.snils)
        if child is not None and child.id != parent.id and age_on(child.birth_date, today) < ADULT_AGE:
            listed.add(child.id)
    principal = principal_for_account(account)
    links = {
        link.child_id: link
        for link in db.session.scalars(sa.select(Guardianship).where(Guardianship.representative_id == parent.id))
    }
    for child_id, link in links.items():
        if link.ended_at is None and child_id not in listed:
            link.ended_at = utcnow()
            audit.record("esia.child_unlinked", link, principal=principal, data={"child_id": child_id})
    for child_id in sorted(listed):
        link = links.get(child_id)
        if link is not None and link.ended_at is None:
            continue
        if link is None:
            link = Guardianship(representative_id=parent.id, child_id=child_id, kind="parent")
            db.session.add(link)
        link.ended_at = None
        db.session.flush()
        audit.record("esia.child_linked", link, principal=principal, data={"child_id": child_id})
