"""Workplace pages. Every view asks ``core.access`` first.

The blueprint lives here; the wizard, the schedule and the deferred-record journal add
their views to it from their own modules (imported by ``core.workplace``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit, lifecycle, params, worklists
from core.access import can, require
from core.db import db
from core.models import (
    CompletionReason,
    Consultation,
    Document,
    FaqEntry,
    Organisation,
    Outcome,
    Role,
    User,
)
from core.models.registry import normalize_name
from core.plugins import hooks_for
from core.documents import IMAGE_TYPES, send_document

blueprint = Blueprint("workplace", __name__, url_prefix="/workplace")

PER_PAGE = 20

LISTS = {
    "inbox": (worklists.INBOX, _l("Входящие")),
    "outbox": (worklists.OUTBOX, _l("Исходящие")),
    "applications": (worklists.ALL, _l("Заявки")),
}


@blueprint.before_request
def _staff_only():
    require("workplace.use")


def page_number() -> int:
    return params.page_number(request.args.get("page"))


def get_consultation(consultation_id: int, action: str = "consultation.view") -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        abort(404)
    require(action, consultation)
    return consultation


@blueprint.route("/")
def index():
    return render_template("workplace/index.html")


# --------------------------------------------------------------------------- lists (D4)


def _worklist(name: str):
    kind, title = LISTS[name]
    principal = require("workplace.use")
    search = request.args.get("q", "").strip()[:100]
    show_closed = request.args.get("closed") == "1"
    query = worklists.worklist_query(kind, principal.id, search, show_closed)
    pagination = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    items = list(pagination.items)
    badges = worklists.badges(items, principal) if items else {}
    links = {c.id: worklists.link(c, principal) or url_for(".application", consultation_id=c.id) for c in items}
    return render_template(
        "workplace/worklist.html",
        list_name=name,
        title=title,
        items=items,
        pagination=pagination,
        badges=badges,
        links=links,
        list_scripts=worklists.list_scripts(items, "workplace", principal),
        search=search,
        show_closed=show_closed,
        status_titles=lifecycle.STATUS_TITLES,
        outcome_titles=lifecycle.OUTCOME_TITLES,
    )


@blueprint.route("/inbox")
def inbox():
    return _worklist("inbox")


@blueprint.route("/outbox")
def outbox():
    return _worklist("outbox")


@blueprint.route("/applications")
def applications():
    return _worklist("applications")


# --------------------------------------------------------------------------- the card


@blueprint.route("/applications/<int:consultation_id>")
def application(consultation_id: int):
    consultation = get_consultation(consultation_id)
    principal = require("consultation.view", consultation)
    methods = (
        lifecycle.completion_methods(consultation, principal)
        if can("consultation.complete", consultation)
        else []
    )
    actions = [
        item
        for group in hooks_for(consultation).teleconsult_register_consultation_actions(consultation=consultation, principal=principal)
        for item in group or ()
    ]
    documents = list(
        db.session.scalars(
            sa.select(Document).where(Document.consultation_id == consultation.id).order_by(Document.id)
        )
    )
    return render_template(
        "workplace/application.html",
        c=consultation,
        methods=methods,
        actions=sorted(actions, key=lambda a: (a.order, str(a.title))),
        documents=documents,
        image_types=IMAGE_TYPES,
        status_titles=lifecycle.STATUS_TITLES,
        outcome_titles=lifecycle.OUTCOME_TITLES,
    )


@blueprint.route("/applications/<int:consultation_id>/complete-without-conclusion", methods=["GET", "POST"])
def complete_without_conclusion(consultation_id: int):
    """«Завершение без заключения»: a reason from the dictionary → «Далее» (SPEC D9, seed 002 §7.2)."""
    consultation = get_consultation(consultation_id, "consultation.complete")
    principal = require("consultation.complete", consultation)
    if consultation.is_closed:
        flash(_("Заявка уже закрыта"), "error")
        return redirect(url_for(".application", consultation_id=consultation.id))
    reasons = list(
        db.session.scalars(
            sa.select(CompletionReason)
            .where(CompletionReason.active.is_(True))
            .order_by(CompletionReason.sort_order, CompletionReason.name)
        )
    )
    error = None
    if request.method == "POST":
        raw = request.form.get("reason_id", "")
        reason = params.row(CompletionReason, raw)
        if reason is None or not reason.active:
            error = _("Выберите причину завершения без заключения")
        else:
            lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal, reason=reason)
            db.session.commit()
            flash(_("Консультация завершена без заключения: %(reason)s", reason=reason.name), "success")
            return redirect(url_for(".application", consultation_id=consultation.id))
    return (
        render_template("workplace/complete_without_conclusion.html", c=consultation, reasons=reasons, error=error),
        422 if error else 200,
    )


# --------------------------------------------------------------------------- users (D2)


@blueprint.route("/users")
def users():
    """«Пользователи»: everyone in the system, read-only, with a search by name."""
    search = request.args.get("q", "").strip()[:100]
    organisation_id = params.to_id(request.args.get("organisation"))
    query = sa.select(User).where(User.is_active.is_(True))
    words = normalize_name(search).split()
    if words:
        # Cyrillic case folding is not portable in SQL: match the usual capitalisation.
        word = words[0]
        # «е» typed for «ё»: try the word as typed, with «ё» first, and with «ё» everywhere.
        variants = {v.capitalize() for v in (word, "ё" + word[1:] if word[0] == "е" else word, word.replace("е", "ё"))}
        query = query.where(
            sa.or_(
                *(User.last_name.startswith(v, autoescape=True) for v in variants),
                User.specialty.startswith(word, autoescape=True),
            )
        )
    if organisation_id:
        query = query.where(User.organisation_id == organisation_id)
    query = query.order_by(User.last_name, User.first_name, User.id)
    pagination = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    organisations = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.short_name)))
    return render_template(
        "workplace/users.html",
        pagination=pagination,
        search=search,
        organisations=organisations,
        organisation_id=organisation_id,
    )


# --------------------------------------------------------------------------- documents (D2)


@blueprint.route("/documents")
def documents():
    """«Документы»: the files the doctor uploaded."""
    principal = require("workplace.use")
    query = (
        sa.select(Document)
        .where(Document.owner_user_id == principal.id)
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    pagination = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("workplace/documents.html", pagination=pagination)


@blueprint.route("/documents/<int:document_id>/download")
def download_document(document_id: int):
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    require("document.view", document)
    # ``?inline=1``: an image's thumbnail on the card, a PDF in a tab; same rule, same audit.
    return send_document(document, inline=request.args.get("inline") == "1")


# --------------------------------------------------------------------------- help (D2)


@blueprint.route("/help")
def help():
    entries = list(
        db.session.scalars(
            sa.select(FaqEntry)
            .where(FaqEntry.published.is_(True), FaqEntry.audience == "doctor")
            .order_by(FaqEntry.sort_order, FaqEntry.id)
        )
    )
    return render_template("workplace/help.html", entries=entries)


def doctors_of(organisation_id: int | None) -> list[User]:
    if organisation_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id == organisation_id,
                User.is_active.is_(True),
                User.roles.any(code=Role.DOCTOR),
            )
            .order_by(User.last_name, User.first_name, User.id)
        )
    )
