"""«Журнал отложенной записи» (SPEC P7): the organisation's patient requests, turned into
applications through the wizard."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import audit
from core.access import can, require
from core.db import db, utcnow
from core.models import RecordRequest
from core.workplace import wizard
from core.workplace.views import PER_PAGE, blueprint, page_number

REJECTION_REASON_MAX_LENGTH = 500


@blueprint.route("/record-requests")
def record_requests():
    return _journal()


def _journal(status: int = 200, error: str | None = None, rejecting: int | None = None):
    principal = require("record_request.view")
    show = request.args.get("show", "new")
    query = sa.select(RecordRequest).where(RecordRequest.organisation_id == principal.organisation_id)
    if show != "all":
        show = "new"
        query = query.where(RecordRequest.status == RecordRequest.NEW)
    query = query.order_by(RecordRequest.created_at, RecordRequest.id)
    pagination = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "workplace/record_requests.html",
        pagination=pagination,
        show=show,
        can_register=can("record_request.register"),
        can_reject=can("record_request.reject"),
        error=error,
        rejecting=rejecting,
        reason_max_length=REJECTION_REASON_MAX_LENGTH,
        status_titles={
            RecordRequest.NEW: _("Новая"),
            RecordRequest.REGISTERED: _("Оформлена"),
            RecordRequest.REJECTED: _("Отклонена"),
        },
    ), status


@blueprint.route("/record-requests/<int:request_id>/reject", methods=["POST"])
def reject_record_request(request_id: int):
    """«Отклонить»: the request leaves the journal with a reason the patient sees (P7)."""
    row = db.session.get(RecordRequest, request_id)
    if row is None:
        abort(404)
    principal = require("record_request.reject", row)
    if row.status != RecordRequest.NEW:
        return _journal(409, _("Эта заявка из журнала уже обработана"))
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _journal(422, _("Укажите причину отказа: её увидит пациент"), rejecting=row.id)
    if len(reason) > REJECTION_REASON_MAX_LENGTH:
        return _journal(
            422, _("Причина отказа не длиннее %(n)s символов", n=REJECTION_REASON_MAX_LENGTH), rejecting=row.id
        )
    row.status = RecordRequest.REJECTED
    row.rejection_reason = reason
    row.handled_by_id = principal.id
    row.handled_at = utcnow()
    audit.record("record_request.rejected", row, principal=principal, data={"reason": reason})
    db.session.commit()
    flash(_("Заявка отклонена. Пациент увидит причину в личном кабинете."), "success")
    return redirect(url_for(".record_requests"))


@blueprint.route("/record-requests/<int:request_id>/register", methods=["POST"])
def register_record_request(request_id: int):
    """«Оформить заявку»: the wizard starts prefilled from the request."""
    row = db.session.get(RecordRequest, request_id)
    if row is None:
        abort(404)
    require("record_request.register", row)
    require("consultation.create")
    if row.status != RecordRequest.NEW:
        flash(_("Эта заявка из журнала уже обработана"), "error")
        return redirect(url_for(".record_requests"))
    wizard.start_from_record_request(row)
    db.session.commit()  # the wizard's draft
    if "request_person_id" not in wizard.state():
        flash(
            _("Пациент с полисом ОМС из заявки не найден в регистре: найдите его по другому документу."),
            "error",
        )
    return redirect(url_for(".new_application", step="type"))
