"""What the plugin shows on others' pages: «Подписать файл» in «Документы», the signed
conclusion (PDF, archive, verdict) on the application card."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from markupsafe import Markup

from core.access import can
from core.db import db
from core.models import Outcome
from plugins.esignature.models import Conclusion, Signature

SIGNABLE_KINDS = {"attachment", "conclusion_scan"}


def block(slot: str, context: dict):
    """One piece of HTML for ``slot`` (``core.template_tools.template_blocks`` joins the
    plugins' answers), or None."""
    if slot == "workplace.documents.actions":
        document = context.get("document")
        if document is not None and document.kind in SIGNABLE_KINDS and can("esignature.sign_document", document):
            return Markup(render_template("esignature/_document_action.html", document=document))
        return None
    if slot == "workplace.card.panel":
        consultation = context.get("consultation")
        if consultation is None or consultation.outcome != Outcome.SIGNED_CONCLUSION:
            return None
        row = db.session.execute(
            sa.select(Conclusion, Signature).join(Signature, Signature.conclusion_id == Conclusion.id)
            .where(Conclusion.consultation_id == consultation.id, Conclusion.status == "signed")
            .order_by(Conclusion.version.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return Markup(render_template("esignature/_card_panel.html", conclusion=row[0], signature=row[1]))
    return None
