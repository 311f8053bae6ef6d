"""Portal accounts from ESIA persons, linked to the regional registry by SNILS (SPEC P1)."""

from __future__ import annotations

import sqlalchemy as sa

from core import audit
from core.access import ANONYMOUS, principal_for_account
from core.db import db, utcnow
from core.models import Patient, PortalAccount
from core.plugins import hooks
from core.validators import adult_cutoff
from plugins.esia.client import EsiaChild, EsiaPerson

#: The accounts' ``identity_provider``: linked by this plugin, ``external_id`` is the ESIA oid.
PROVIDER = "esia"


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
    account = db.session.scalar(
        sa.select(PortalAccount).where(PortalAccount.identity_provider == PROVIDER, PortalAccount.external_id == person.oid)
    )
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
        account = PortalAccount(identity_provider=PROVIDER, external_id=person.oid)
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


def _registry_child(kid: EsiaChild, parent: Patient, cutoff) -> Patient | None:
    """The registry person ESIA's child is: by SNILS, else by OMS policy, the birth date
    agreeing either way; None for no match, the parent, or someone of full age."""
    found = None
    if kid.snils:
        found = db.session.scalar(sa.select(Patient).where(Patient.snils == kid.snils))
    if found is None and kid.oms_policy:
        found = db.session.scalar(sa.select(Patient).where(Patient.oms_policy == kid.oms_policy))
    if found is None or found.id == parent.id or kid.birth_date is None:
        return None
    if found.birth_date != kid.birth_date or found.birth_date <= cutoff:
        return None
    return found


def _sync_children(account: PortalAccount, parent: Patient, person: EsiaPerson) -> None:
    """Hand the children ESIA lists now to whoever keeps legal representatives (hook
    ``teleconsult_person_children_listed``; the guardian plugin re-checks every link of
    the representative at each login, SPEC D5, issue 12). Each is matched to the registry
    by SNILS, or by OMS policy, with the birth date; None when ESIA was not asked."""
    listed: list[Patient] | None = None
    if person.children_known:
        cutoff = adult_cutoff(utcnow().date())
        matched = (_registry_child(kid, parent, cutoff) for kid in person.children)
        listed = list({child.id: child for child in matched if child is not None}.values())
    hooks(organisation_id=None).teleconsult_person_children_listed(
        parent=parent, children=listed, actor=principal_for_account(account)
    )
    db.session.flush()
