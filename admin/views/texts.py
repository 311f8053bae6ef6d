"""The console's texts: the consent's editions and the help pages (SPEC A1)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from core import audit
from core.db import db, utcnow
from core.models import ConsentVersion

from admin.views.labels import DictionaryView

class ConsentVersionView(DictionaryView):
    """Each publication is a new row with the next version number; published texts stay."""

    column_list = ("version", "title", "published_at", "created_at")
    column_details_list = ("version", "title", "text", "published_at")
    form_columns = ("title", "text")
    column_searchable_list = ("title", "text")
    column_filters = ("version", "published_at")
    column_default_sort = ("version", True)
    can_edit = False
    form_widget_args = {"text": {"rows": 18}}
    audit_name = "consent"

    def create_form(self, obj=None):
        form = super().create_form(obj)
        latest = db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.version.desc()).limit(1))
        if latest is not None and request.method == "GET":
            form.title.data = latest.title
            form.text.data = latest.text
        return form

    def validate_model(self, form, model, is_created):
        if not (model.title or "").strip() or not (model.text or "").strip():
            raise ValidationError(_l("Заголовок и текст согласия обязательны"))
        with db.session.no_autoflush:  # the new row has no version yet
            current = db.session.scalar(sa.select(sa.func.max(ConsentVersion.version))) or 0
        model.version = current + 1
        model.published_at = utcnow()

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        audit.record("admin.consent.published", model, data={"version": model.version})


class FaqEntryView(DictionaryView):
    column_list = ("question", "audience", "published", "sort_order")
    column_details_list = ("question", "answer", "audience", "published", "sort_order")
    form_columns = ("audience", "question", "answer", "sort_order", "published")
    column_searchable_list = ("question", "answer")
    column_filters = ("audience", "published")
    column_default_sort = ("sort_order", False)
    can_delete = True
    column_choices = {"audience": [("doctor", _l("Врачам")), ("patient", _l("Пациентам"))]}
    form_overrides = {"audience": SelectField}
    form_args = {"audience": {"choices": [SelectChoice(v, label) for v, label in column_choices["audience"]]}}
    form_widget_args = {"answer": {"rows": 8}}
