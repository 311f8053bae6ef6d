"""Legal representatives («законные представители», SPEC D5; seed 002 §5).

A representative (a parent, a guardian) takes part in a child's consultation for the
child: the participant role ``representative`` (without this plugin no type
``for_representative`` exists or is offered), the wizard's step «Ребёнок» after
«Проверка ФИО» (pick a linked child or type one: matched by OMS policy or added to the
registry; a child of 15 or more gets the 323-ФЗ art. 54 warning), the children in the
representative's portal account (``teleconsult_register_wards``: only links with a basis, an
ESIA listing re-checked at every login or a document an operator attached), the
console's «Законные представители» page where the operator attaches that document or
ends a link, and the ``guardianships`` section of the registry import API.

Ending a link ends access at once: every principal is built anew per request and per
Socket.IO event, and the chat re-checks its open sockets (``CHAT_RECHECK_SECONDS``).
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from core.markers import hookimpl
from core.audit import AuditTitles
from core.plugins import is_enabled
from core.routing import REPRESENTATIVE_ROLE
from plugins.guardian import links

# What the console's «Плагины» shows (Russian, translated through Flask-Babel).
DESCRIPTION = _l("Законные представители: консультации ребёнка через родителя или опекуна")

# No pages of its own outside the console: the blueprint carries the templates.
blueprint = Blueprint("guardian", __name__, template_folder="templates")


@hookimpl
def teleconsult_register_blueprints(app):
    return [blueprint]


@hookimpl
def teleconsult_register_participant_roles():
    return {REPRESENTATIVE_ROLE: _l("Законный представитель пациента")}


@hookimpl
def teleconsult_register_wizard_steps():
    from plugins.guardian.wizard import CHILD_STEP

    return [CHILD_STEP]


@hookimpl
def teleconsult_register_admin_views():
    from plugins.guardian.admin import GuardianshipsView

    return [GuardianshipsView()]


@hookimpl
def teleconsult_register_access_rules():
    from plugins.guardian.admin import may_verify

    return {"guardianship.verify": may_verify}


@hookimpl
def teleconsult_register_audit_titles():
    return AuditTitles(
        actions={
            "guardianship.verified": _l("Законное представительство подтверждено документом"),
            "guardianship.ended": _l("Законное представительство прекращено"),
            "guardianship.claimed": _l("Врач указал ребёнка законного представителя (связь не подтверждена)"),
        },
        objects={"guardianships": _l("Законное представительство")},
    )


@hookimpl
def teleconsult_register_wards(person_ids):
    # Called by the access policy for every loaded plugin: the switch is checked here.
    if not is_enabled("guardian", organisation_id=None):
        return {}
    return links.wards(person_ids)


@hookimpl
def teleconsult_representation_check(representative, patient):
    return links.in_force(representative, patient)


@hookimpl
def teleconsult_person_children_listed(parent, children, actor):
    links.sync_listed_children(parent, children, actor)


@hookimpl
def teleconsult_register_patient_record_fields(patient):
    return links.links_dump(patient)


@hookimpl
def teleconsult_registry_links_import(connection, rows, organisation_id):
    from plugins.guardian.schemas import load_links

    return load_links(connection, rows, organisation_id)


@hookimpl
def teleconsult_register_template_blocks(slot, context):
    # 323-ФЗ art. 54 part 2: from 15 a minor consents themselves; the wizard says so.
    if slot != "workplace.wizard.summary" or context.get("representative") is None:
        return []
    if context.get("step") in ("patient", "confirm"):
        return []
    from plugins.guardian.wizard import own_consent_age

    age = own_consent_age(context.get("patient"))
    return [render_template("guardian/own_consent.html", age=age)] if age else []
