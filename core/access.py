"""The one access policy: who may see or do what with which object.

Every view, API endpoint and Socket.IO event asks ``require(action, obj)`` (or ``can``).
Rules are plain functions ``rule(principal, obj) -> bool`` keyed by action; the core
defines its own below and plugins add theirs through ``teleconsult_register_access_rules``.
An object the principal may not see answers 404, so its existence does not leak; a role
that is not allowed answers 403; nobody logged in answers 401.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, has_request_context
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from core.db import db
from core.models import Consultation, Document, RecordRequest, Role

Rule = Callable[["Principal", Any], bool]


@dataclass(frozen=True)
class Principal:
    """Whoever makes the request: a staff user, a portal patient, a machine client or nobody."""

    kind: str  # "staff" | "patient" | "api" | "anonymous"
    id: int | None = None
    name: str = ""
    organisation_id: int | None = None
    roles: frozenset[str] = frozenset()
    # Registry persons a portal account acts for: the account's own and its children's.
    patient_ids: frozenset[int] = frozenset()
    scopes: frozenset[str] = frozenset()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_patient(self) -> bool:
        return self.kind == "patient"

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal(kind="anonymous")
SYSTEM = Principal(kind="system", name="system")


def principal_for_user(user) -> Principal:
    return Principal(
        kind="staff",
        id=user.id,
        name=user.full_name,
        organisation_id=user.organisation_id,
        roles=frozenset(role.code for role in user.roles),
    )


def principal_for_account(account) -> Principal:
    return principals_for_accounts([account])[account.id]


def wards_of(representative_ids) -> dict[int, set[int]]:
    """``{representative id: child ids}`` of the people each acts for now, as the plugin
    that knows legal representatives says (hook ``teleconsult_register_wards``; the guardian
    plugin: links with a checked basis, the child still a minor). Without one, nobody.

    Called through the app's plugin manager itself: the access policy sits below the
    plugin switches (``core.plugins`` asks it who the viewer is), so an implementation
    answers nothing while it is switched off."""
    representative_ids = list(representative_ids)
    if not representative_ids:
        return {}
    asked, children = set(representative_ids), {}
    manager = current_app.extensions["teleconsult.pm"]
    for answer in manager.hook.teleconsult_register_wards(person_ids=representative_ids):
        for representative_id, child_ids in (answer or {}).items():
            if representative_id in asked:
                children.setdefault(representative_id, set()).update(set(child_ids) - {representative_id})
    return children


def principals_for_accounts(accounts) -> dict[int, Principal]:
    """``{account id: principal}``; the children in the care of all of them in one query."""
    patients = {account.id: account.patient for account in accounts}
    children = wards_of(patient.id for patient in patients.values() if patient is not None)
    principals = {}
    for account in accounts:
        patient = patients[account.id]
        ids = {patient.id, *children.get(patient.id, ())} if patient is not None else set()
        principals[account.id] = Principal(
            kind="patient",
            id=account.id,
            name=account.full_name,
            organisation_id=patient.organisation_id if patient is not None else None,
            patient_ids=frozenset(ids),
        )
    return principals


def principal_for_token(token) -> Principal:
    return Principal(
        kind="api",
        id=token.id,
        name=token.name,
        organisation_id=token.organisation_id,
        scopes=frozenset(token.scopes.split()),
    )


def current_principal() -> Principal:
    """The principal of the current request (cached on ``g``)."""
    if not has_request_context():
        return SYSTEM
    if "teleconsult_principal" in g:
        return g.teleconsult_principal
    from flask_login import current_user

    from core.models import PortalAccount, User

    principal = ANONYMOUS
    user = current_user._get_current_object() if current_user else None
    if isinstance(user, User):
        principal = principal_for_user(user)
    elif isinstance(user, PortalAccount):
        principal = principal_for_account(user)
    g.teleconsult_principal = principal
    return principal


def set_principal(principal: Principal) -> None:
    """Used by token auth (API) and Socket.IO handlers, which do not go through Flask-Login."""
    g.teleconsult_principal = principal


# --------------------------------------------------------------------------- core rules


def _staff_with(*roles: str) -> Rule:
    def rule(principal: Principal, obj: Any = None) -> bool:
        return principal.is_staff and bool(principal.roles.intersection(roles))

    return rule


def takes_part(principal: Principal, consultation: Consultation) -> bool:
    """Staff author, consultant or added participant; the patient or their representative."""
    if principal.is_staff:
        if principal.id in (consultation.author_id, consultation.consultant_id):
            return True
        return any(p.user_id == principal.id for p in consultation.participants)
    if principal.is_patient:
        # A representative's ``patient_ids`` hold only the children whose link grants access
        # now (``wards_of``): once it ends, so does access to the child's consultations,
        # the ones held through the representative's own account included.
        return consultation.patient_id in principal.patient_ids
    return False


def _consultation_view(principal: Principal, consultation: Consultation) -> bool:
    if principal.kind == "api":
        return (
            principal.has_scope("consultations:read")
            and principal.organisation_id == consultation.organisation_id
        )
    return takes_part(principal, consultation)


def _consultation_complete(principal: Principal, consultation: Consultation) -> bool:
    if principal.kind == "api":
        return (
            principal.has_scope("consultations:write")
            and principal.organisation_id == consultation.organisation_id
        )
    return principal.is_staff and principal.id == consultation.consultant_id


def _consultation_create(principal: Principal, obj: Any = None) -> bool:
    if principal.kind == "api":
        return principal.has_scope("consultations:write")
    # A doctor, or the registry taking a patient's call (seed 000 §3: the first route).
    return principal.is_staff and bool(principal.roles & {Role.DOCTOR, Role.REGISTRAR})


def _registry_search(principal: Principal, obj: Any = None) -> bool:
    if principal.kind == "api":
        return principal.has_scope("registry:read")
    return principal.is_staff and bool(principal.roles & {Role.DOCTOR, Role.REGISTRAR})


def _registry_import(principal: Principal, obj: Any = None) -> bool:
    if principal.kind == "api":
        return principal.has_scope("registry:write")
    return principal.is_staff and principal.has_role(Role.OPERATOR)


def _document_view(principal: Principal, document: Document) -> bool:
    if principal.is_staff and document.owner_user_id == principal.id:
        return True
    if principal.is_patient and document.owner_account_id == principal.id:
        return True
    if document.consultation_id is None:
        return False
    from core.db import db

    consultation = db.session.get(Consultation, document.consultation_id)
    return consultation is not None and _consultation_view(principal, consultation)


def _record_request(principal: Principal, row: Any = None) -> bool:
    """The deferred-record journal (SPEC P7): staff of the organisation it was left with."""
    if not (principal.is_staff and principal.roles & {Role.DOCTOR, Role.REGISTRAR}):
        return False
    return row is None or row.organisation_id == principal.organisation_id


def _record_request_register(principal: Principal, row: Any = None) -> bool:
    """Turning a journal request into an application: whoever may file applications."""
    return _consultation_create(principal) and _record_request(principal, row)


def _registry_view_record(principal: Principal, patient: Any = None) -> bool:
    """One registry record with its SNILS, policy and passport in full: only for staff and
    machine clients of the organisation the patient is attached to. Everyone else who may
    search the registry sees the record with its identifiers masked, as in lists."""
    if not _registry_search(principal):
        return False
    organisation_id = getattr(patient, "organisation_id", None)
    return organisation_id is not None and organisation_id == principal.organisation_id


def _registry_update_record(principal: Principal, organisation_id: Any = None) -> bool:
    """Changing a registry person (an import that matches them): the same organisation rule
    as reading the record in full (``registry.view_record``), for those who may import.
    ``organisation_id`` is the person's organisation (or a row with ``organisation_id``)."""
    if not _registry_import(principal):
        return False
    if not isinstance(organisation_id, int | None):
        organisation_id = getattr(organisation_id, "organisation_id", None)
    return organisation_id is not None and organisation_id == principal.organisation_id


def _api_uses_consultations(principal: Principal) -> bool:
    return principal.has_scope("consultations:read") or principal.has_scope("consultations:write")


def _consultation_lookup(principal: Principal, obj: Any = None) -> bool:
    """Looking a consultation up by its id at all: a machine client needs a consultation
    scope first, so a token without one cannot tell which ids exist (403, never 404)."""
    if principal.kind == "api":
        return _api_uses_consultations(principal)
    return principal.is_authenticated


def _dictionary_view(principal: Principal, obj: Any = None) -> bool:
    """Consultation types, profiles and completion reasons (regional dictionaries)."""
    if principal.kind == "api":
        return _api_uses_consultations(principal)
    return principal.is_staff


def _consultation_list(principal: Principal, obj: Any = None) -> bool:
    if principal.kind == "api":
        return principal.has_scope("consultations:read")
    return principal.is_staff and bool(principal.roles & {Role.DOCTOR, Role.REGISTRAR})


def _same_organisation_staff(principal: Principal, user: Any) -> bool:
    return user is not None and principal.organisation_id is not None and (
        getattr(user, "organisation_id", None) == principal.organisation_id
    )


def _schedule_free_slots(principal: Principal, doctor: Any) -> bool:
    """Free slots of a consultant: for staff and machine clients of the doctor's organisation."""
    if principal.kind == "api":
        return _api_uses_consultations(principal) and _same_organisation_staff(principal, doctor)
    return principal.is_staff and _same_organisation_staff(principal, doctor)


def _schedule_manage_slots(principal: Principal, doctor: Any = None) -> bool:
    """Closing and reopening slots in a doctor's calendar: that doctor only."""
    return (
        principal.is_staff
        and principal.has_role(Role.DOCTOR)
        and doctor is not None
        and doctor.id == principal.id
    )


def _staff_directory(principal: Principal, obj: Any = None) -> bool:
    """The doctors of the principal's own organisation (consultant and author pickers)."""
    if principal.kind == "api":
        return _api_uses_consultations(principal) and principal.organisation_id is not None
    return principal.is_staff


def _admin_dashboard(principal: Principal, organisation_id: Any = None) -> bool:
    """The figures of the console's start page for ``organisation_id`` (None: every
    organisation): a regional operator (no organisation) sees any; an operator of an
    organisation only their own."""
    if not (principal.is_staff and principal.has_role(Role.OPERATOR)):
        return False
    return principal.organisation_id is None or organisation_id == principal.organisation_id


def _demo_patients(principal: Principal, obj: Any = None) -> bool:
    """/demo lists made-up patients: anyone, but only on a development deployment."""
    return current_app.config["ENV"] == "development" and bool(current_app.config["DEMO_DATA"])


CORE_RULES: dict[str, Rule] = {
    "workplace.use": _staff_with(Role.DOCTOR, Role.REGISTRAR),
    "admin.use": _staff_with(Role.OPERATOR),
    "admin.dashboard": _admin_dashboard,
    "portal.use": lambda principal, obj=None: principal.is_patient,
    "registry.search": _registry_search,
    "registry.import": _registry_import,
    "consultation.create": _consultation_create,
    "consultation.view": _consultation_view,
    "consultation.lookup": _consultation_lookup,
    "consultation.complete": _consultation_complete,
    "document.view": _document_view,
    "schedule.manage": _staff_with(Role.DOCTOR),
    "schedule.manage_slots": _schedule_manage_slots,
    "record_request.view": _record_request,
    "record_request.register": _record_request_register,
    # Turning a request down with a reason: whoever keeps the journal.
    "record_request.reject": _record_request,
    "registry.view_record": _registry_view_record,
    "registry.update_record": _registry_update_record,
    "dictionary.view": _dictionary_view,
    "consultation.list": _consultation_list,
    "schedule.free_slots": _schedule_free_slots,
    "staff.directory": _staff_directory,
    # The OpenAPI document describes the API; it holds no data and is public.
    "api.docs": lambda principal, obj=None: True,
    # /healthz answers the proxy's checks with states, never data: public.
    "ops.health": lambda principal, obj=None: True,
    # /metrics: only from the networks in METRICS_ALLOWED_NETWORKS (obj: the client address).
    "ops.metrics": lambda principal, obj=None: _metrics_client(obj),
    "demo.patients": _demo_patients,
}


def _metrics_client(address: Any) -> bool:
    try:
        client = ipaddress.ip_address(str(address))
    except ValueError:
        return False
    networks = current_app.config["METRICS_ALLOWED_NETWORKS"]
    return any(client in ipaddress.ip_network(network, strict=False) for network in networks)


def _rules() -> dict[str, Rule]:
    return current_app.extensions["teleconsult.access_rules"]


def can(action: str, obj: Any = None, principal: Principal | None = None) -> bool:
    principal = principal or current_principal()
    rule = _rules().get(action)
    if rule is None:
        raise LookupError(f"no access rule for action {action!r}")
    return bool(rule(principal, obj))


def require(action: str, obj: Any = None, principal: Principal | None = None) -> Principal:
    """Allow or abort: 401 for nobody, 404 for a hidden object, 403 otherwise."""
    principal = principal or current_principal()
    if can(action, obj, principal):
        return principal
    if not principal.is_authenticated:
        raise Unauthorized()
    if obj is not None and not _visible(principal, obj):
        raise NotFound()
    raise Forbidden()


def _visible(principal: Principal, obj: Any) -> bool:
    """Whether refusing an action on ``obj`` may admit that it exists (403 vs 404)."""
    if isinstance(obj, Consultation):
        return can("consultation.view", obj, principal)
    if isinstance(obj, Document):
        return can("document.view", obj, principal)
    if isinstance(obj, RecordRequest):
        return can("record_request.view", obj, principal)
    from core.models import User

    if isinstance(obj, User):
        # Staff of another organisation are not listed to a machine client or a doctor.
        return _same_organisation_staff(principal, obj)
    return False


def build_rules(plugin_rules: list[tuple[str, dict[str, Rule]]]) -> dict[str, Rule]:
    rules = dict(CORE_RULES)
    for plugin, contributed in plugin_rules:
        for action, rule in contributed.items():
            if action in rules:
                raise RuntimeError(f"plugin {plugin!r} redefines access rule {action!r}")
            rules[action] = rule
    return rules
