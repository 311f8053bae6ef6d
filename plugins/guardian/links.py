"""What a link of a legal representative grants, and how links are made and re-checked
(SPEC D5; seed 002 §5; issue 12).

A link grants access only with a basis that can be checked: an identity provider lists
the child at the representative's login (``basis = "esia"``, re-checked every login), or
an operator attached the document (``basis = "document"``). A link from a registry import
or the wizard is a claim and grants nothing. A child of full age is never a ward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from core import audit
from core.access import Principal
from core.db import db, utcnow
from core.models import Patient
from core.validators import adult_cutoff
from plugins.guardian.models import Guardianship

CREATED = "created"
UNCHANGED = "unchanged"


def wards(person_ids: list[int]) -> dict[int, set[int]]:
    """``{representative id: child ids}`` of the links that grant access now."""
    children: dict[int, set[int]] = {}
    for representative_id, child_id in db.session.execute(
        sa.select(Guardianship.representative_id, Guardianship.child_id)
        .join(Patient, Patient.id == Guardianship.child_id)
        .where(
            Guardianship.representative_id.in_(person_ids),
            Guardianship.grants_access(),
            Guardianship.child_id != Guardianship.representative_id,
            Patient.birth_date > adult_cutoff(utcnow().date()),
        )
    ):
        children.setdefault(representative_id, set()).add(child_id)
    return children


def in_force(representative: Patient, child: Patient) -> bool:
    """A link between them that has not ended, with or without a basis."""
    return (
        db.session.scalar(
            sa.select(Guardianship.id).where(
                Guardianship.representative_id == representative.id,
                Guardianship.child_id == child.id,
                Guardianship.in_force(),
            )
        )
        is not None
    )


def children_of(representative: Patient) -> list[Patient]:
    """The children linked to the representative (a claim included), youngest first."""
    return list(
        db.session.scalars(
            sa.select(Patient)
            .join(Guardianship, Guardianship.child_id == Patient.id)
            .where(Guardianship.representative_id == representative.id, Guardianship.in_force())
            .order_by(Patient.birth_date.desc(), Patient.id)
        )
    )


def claim(representative: Patient, child: Patient, principal: Principal, source: str = "wizard") -> Guardianship:
    """The link of a consultation: an existing one as it is, else a new claim."""
    link = db.session.scalar(
        sa.select(Guardianship).where(
            Guardianship.representative_id == representative.id, Guardianship.child_id == child.id
        )
    )
    if link is not None and link.ended_at is None:
        return link
    if link is None:
        link = Guardianship(representative_id=representative.id, child_id=child.id, kind="parent")
        db.session.add(link)
    link.ended_at, link.basis, link.source = None, None, source
    db.session.flush()
    audit.record("guardianship.claimed", link, principal=principal, data={"child_id": child.id})
    return link


def links_dump(patient: Patient) -> dict[str, list[dict[str, Any]]]:
    """A registry record's links for the API: as child and as representative."""
    links = db.session.scalars(
        sa.select(Guardianship)
        .where(sa.or_(Guardianship.representative_id == patient.id, Guardianship.child_id == patient.id))
        .order_by(Guardianship.id)
    ).all()

    def dump(link: Guardianship) -> dict[str, Any]:
        return {
            "representative_id": link.representative_id,
            "child_id": link.child_id,
            "kind": link.kind,
            "basis": link.basis,
            "in_force": link.ended_at is None,
        }

    return {
        "representatives": [dump(link) for link in links if link.child_id == patient.id],
        "children": [dump(link) for link in links if link.representative_id == patient.id],
    }


def sync_listed_children(parent: Patient, listed: list[Patient] | None, principal: Principal) -> None:
    """Re-check the basis of every link of the representative at login.

    A link whose basis is the identity provider's holds exactly while it lists the child
    now: a listed child gets a link with that basis (a claim from an import or the wizard
    is confirmed, an ended link is put back), an unlisted one's link is ended. When the
    provider was not asked for the children (``listed`` None), such a basis cannot be
    re-checked and lapses (the link stays as a claim). A link of a child who has come of
    age ends whatever its basis. A document basis is left as it is.
    """
    now = utcnow()
    cutoff = adult_cutoff(now.date())
    links = {
        link.child_id: link
        for link in db.session.scalars(sa.select(Guardianship).where(Guardianship.representative_id == parent.id))
    }
    for child_id, link in links.items():
        if link.ended_at is None and link.child.birth_date <= cutoff:
            link.ended_at = now
            audit.record("esia.child_unlinked", link, principal=principal, data={"child_id": child_id, "adult": True})
    if listed is None:
        for child_id, link in links.items():
            if link.basis == Guardianship.ESIA:
                link.basis = None
                audit.record("esia.child_unverified", link, principal=principal, data={"child_id": child_id})
        db.session.flush()
        return
    listed_ids = {child.id for child in listed if child.id != parent.id and child.birth_date > cutoff}
    for child_id, link in links.items():
        if link.ended_at is None and link.basis == Guardianship.ESIA and child_id not in listed_ids:
            link.ended_at = now
            audit.record("esia.child_unlinked", link, principal=principal, data={"child_id": child_id})
    for child_id in sorted(listed_ids):
        link = links.get(child_id)
        if link is not None and link.ended_at is None and link.verified:
            continue
        if link is None:
            link = Guardianship(representative_id=parent.id, child_id=child_id, kind="parent", source="esia")
            db.session.add(link)
        link.ended_at = None
        link.basis = Guardianship.ESIA
        link.verified_at = now
        link.verified_by_id = None
        db.session.flush()
        audit.record("esia.child_linked", link, principal=principal, data={"child_id": child_id})
    db.session.flush()


# --------------------------------------------------------------------------- registry import


@dataclass
class LinkPlan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)


def _find_person(connection: sa.Connection, reference: dict[str, str]) -> sa.Row | None:
    patients = Patient.__table__
    for name in ("snils", "oms_policy"):
        if reference.get(name):
            found = connection.execute(
                sa.select(patients.c.id, patients.c.organisation_id, patients.c.birth_date).where(
                    patients.c[name] == reference[name]
                )
            ).first()
            if found is not None:
                return found
    return None


def resolve_imported(connection: sa.Connection, links: list[dict[str, Any]], *, organisation_id: int | None) -> LinkPlan:
    """Links representative ↔ child by SNILS or OMS policy; both must be in the registry
    (or created earlier in the same batch).

    An imported link is a claim, never a basis for access: it is stored without one. Only
    the organisation the child is attached to may push it, and only for a minor.
    """
    table = Guardianship.__table__
    plan = LinkPlan()
    seen: set[tuple[int, int]] = set()
    cutoff = adult_cutoff(utcnow().date())
    for index, link in links:
        representative = _find_person(connection, link["representative"])
        child = _find_person(connection, link["child"])
        problems: dict[str, list[str]] = {}
        if representative is None:
            problems["representative"] = [_("Законный представитель не найден в регистре")]
        if child is None:
            problems["child"] = [_("Ребёнок не найден в регистре")]
        elif child.birth_date is None or child.birth_date <= cutoff:
            problems["child"] = [_("Совершеннолетний не может быть подопечным законного представителя")]
        elif organisation_id is None or child.organisation_id != organisation_id:
            problems["child"] = [_("Ребёнок прикреплён к другой медицинской организации: связь передаёт только она")]
        if not problems and representative.id == child.id:
            problems["child"] = [_("Законный представитель и ребёнок — один и тот же человек")]
        if problems:
            plan.errors[index] = problems
            continue
        pair = (representative.id, child.id)
        exists = connection.execute(
            sa.select(table.c.id).where(
                table.c.representative_id == representative.id, table.c.child_id == child.id
            )
        ).first()
        if exists is not None or pair in seen:
            plan.outcomes[index] = UNCHANGED
            continue
        seen.add(pair)
        plan.inserts.append(
            {
                "representative_id": representative.id,
                "child_id": child.id,
                "kind": link["kind"],
                "basis": None,
                "source": "import",
                "created_at": utcnow(),
            }
        )
        plan.outcomes[index] = CREATED
    return plan


def write_imported(connection: sa.Connection, plan: LinkPlan) -> None:
    if plan.inserts:
        connection.execute(sa.insert(Guardianship.__table__), plan.inserts)
