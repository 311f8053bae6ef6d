"""Informed voluntary consent to remote consultations (SPEC P2).

The current consent is the newest published ``ConsentVersion``. «Чат с врачом» and
everything in it is served only to a patient who accepted exactly that version; a newer
version asks again. Access rule ``portal.chat`` (``portal_chat_rule``, registered by
core.builtin) says so for any view, including the chat plugin's.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal, current_principal
from core.db import db, utcnow
from core.errors import Conflict
from core.forms import Form
from core.models import ConsentAcceptance, ConsentVersion


def _current_query(*columns):
    return (
        sa.select(*columns)
        .where(ConsentVersion.published_at.is_not(None), ConsentVersion.published_at <= utcnow())
        .order_by(ConsentVersion.version.desc())
        .limit(1)
    )


def current_version() -> ConsentVersion | None:
    return db.session.scalar(_current_query(ConsentVersion))


def acceptance_of(account_id: int, version: ConsentVersion | None) -> ConsentAcceptance | None:
    if version is None:
        return None
    return db.session.scalar(
        sa.select(ConsentAcceptance).where(
            ConsentAcceptance.account_id == account_id, ConsentAcceptance.version_id == version.id
        )
    )


_ACCEPTED = "consent_accepted"


def has_accepted_current(principal: Principal) -> bool:
    """One query, once per principal: a page's principal lives for its request, a chat
    socket's until its connection is re-checked (``CHAT_RECHECK_SECONDS``), so a newly
    published version takes effect on sockets within seconds. Only a yes is remembered:
    a patient who accepts in one tab is let in at once in the others."""
    if not principal.is_patient:
        return False
    if not principal.extra.get(_ACCEPTED):
        remember_acceptances([principal])
    return bool(principal.extra.get(_ACCEPTED))


def remember_acceptances(principals) -> None:
    """``has_accepted_current`` for many patients' principals at once: one query, and
    each that accepted the current text remembers it."""
    patients = {p.id: p for p in principals if p.is_patient}
    if not patients:
        return
    accepted = db.session.scalars(
        sa.select(ConsentAcceptance.account_id).where(
            ConsentAcceptance.account_id.in_(list(patients)),
            ConsentAcceptance.version_id == _current_query(ConsentVersion.id).scalar_subquery(),
        )
    )
    for account_id in accepted:
        patients[account_id].extra[_ACCEPTED] = True


def acceptances(account_id: int) -> list[ConsentAcceptance]:
    """Everything the account accepted, newest first («Управление доступом»)."""
    return list(
        db.session.scalars(
            sa.select(ConsentAcceptance)
            .where(ConsentAcceptance.account_id == account_id)
            .order_by(ConsentAcceptance.accepted_at.desc(), ConsentAcceptance.id.desc())
        )
    )


def accept(principal: Principal, version_id: int) -> ConsentAcceptance:
    """Record that the patient accepted ``version_id``, which must be the current version."""
    version = current_version()
    if version is None or version.id != version_id:
        raise Conflict(_l("Текст согласия обновился. Прочитайте новую редакцию и примите её."))
    existing = acceptance_of(principal.id, version)
    if existing is not None:
        return existing
    accepted = ConsentAcceptance(
        account_id=principal.id,
        version_id=version.id,
        accepted_at=utcnow(),
        client_address=(request.remote_addr or "")[:64] or None,
        user_agent=(request.user_agent.string or "")[:300] or None,
    )
    db.session.add(accepted)
    db.session.flush()
    audit.record(
        "consent.accepted",
        accepted,
        principal=principal,
        data={"version": version.version, "client_address": accepted.client_address},
    )
    return accepted


def portal_chat_rule(principal: Principal, obj=None) -> bool:
    """Access rule ``portal.chat``: «Чат с врачом» and everything in it, for a patient who
    accepted the current consent (P2). The core's own plugin (core.builtin) registers it."""
    return principal.is_patient and has_accepted_current(principal)


class ConsentForm(Form):
    pass


def gate():
    """The consent modal in place of any page of «Чат с врачом» (the portal's list, the
    chat plugin's pages) until the current version is accepted (P2)."""
    version = current_version()
    accepted_before = bool(acceptances(current_principal().id))
    return render_template("portal/consent.html", version=version, form=ConsentForm(), renewed=accepted_before)
