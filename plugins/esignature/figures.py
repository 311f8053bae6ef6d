"""The e-signature plugin's figures on the operator's dashboard: signatures the server
refused, per day and by reason (hook ``teleconsult_register_dashboard_figures``).

A refused signature is stored nowhere but in its audit event
(``esignature.signature_refused``, ``plugins.esignature.service.accept_signature``);
its organisation is the consultation's, or the signing doctor's for a file of
«Документы» outside any consultation.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask_babel import gettext as _

from admin.figures import DashboardScope, Figure
from core.db import db
from core.models import AuditEvent, Consultation, User
from plugins.esignature.verify import REASONS

REFUSED = "esignature.signature_refused"


def _refusals(scope: DashboardScope):
    organisation = sa.func.coalesce(Consultation.organisation_id, User.organisation_id)
    return db.session.execute(
        sa.select(AuditEvent.at, AuditEvent.data)
        .outerjoin(Consultation, Consultation.id == AuditEvent.consultation_id)
        .outerjoin(User, sa.and_(AuditEvent.actor_type == "staff", User.id == AuditEvent.actor_id))
        .where(AuditEvent.action == REFUSED, scope.within(AuditEvent.at), scope.of_organisation(organisation))
    ).all()


def figures(scope: DashboardScope) -> list[Figure]:
    refusals = _refusals(scope)
    reasons = Counter((data or {}).get("code") or "" for _at, data in refusals)
    by_reason = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return [
        Figure(
            code="signatures_refused",
            title=_("Отклонённые подписи по дням"),
            columns=(_("День"), _("Отклонено подписей")),
            rows=tuple(scope.per_day([at for at, _data in refusals])),
            chart="bar",
            order=70,
        ),
        Figure(
            code="signatures_refused_reasons",
            title=_("Причины отклонения подписей"),
            columns=(_("Причина"), _("Отклонено подписей")),
            rows=tuple((str(REASONS.get(code, code or _("Причина не указана"))), count) for code, count in by_reason),
            chart="hbar",
            note="" if refusals else _("За период ни одна подпись не отклонена"),
            order=80,
        ),
    ]
