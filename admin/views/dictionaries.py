"""The console's dictionaries: consultation types, medical profiles, organisations and
completion reasons (SPEC A1)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_admin.form import Select2Widget
from flask_babel import gettext as _
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from core.db import db
from core.models import MedicalProfile
from core.routing import route_registry

from admin.views.labels import DictionaryView

def _route_choices():
    return [
        SelectChoice(code, f"{spec.title} ({code})") for code, (_plugin, spec) in sorted(route_registry().items())
    ]


def _profiles_short(view, context, model, name):
    names = [p.name for p in model.profiles]
    if len(names) <= 3:
        return ", ".join(names)
    return _("%(names)s и ещё %(num)d", names=", ".join(names[:3]), num=len(names) - 3)


class ConsultationTypeView(DictionaryView):
    column_list = ("name", "code", "route", "for_representative", "profiles", "active", "sort_order")
    column_details_list = (*column_list, "attention_text")
    form_columns = (
        "name", "code", "route", "for_representative", "profiles", "attention_text", "active", "sort_order"
    )
    column_searchable_list = ("name", "code", "route")
    column_filters = ("route", "for_representative", "active", "profiles.name")
    column_formatters = {**DictionaryView.column_formatters, "profiles": _profiles_short}
    column_formatters_detail = {**DictionaryView.column_formatters}
    column_default_sort = ("sort_order", False)
    form_overrides = {"route": SelectField}
    form_args = {
        "route": {"choices": _route_choices, "widget": Select2Widget()},
        "profiles": {"query_factory": lambda: db.session.scalars(
            sa.select(MedicalProfile).order_by(MedicalProfile.name)
        ).all()},
    }
    form_widget_args = {"attention_text": {"rows": 4}}


class MedicalProfileView(DictionaryView):
    column_list = ("code", "name", "specialty", "active")
    form_columns = column_list
    column_searchable_list = ("code", "name", "specialty")
    column_filters = ("active", "specialty")
    column_default_sort = "name"


class OrganisationView(DictionaryView):
    column_list = ("short_name", "name", "oid", "address", "active", "created_at")
    form_columns = ("name", "short_name", "oid", "address", "active")
    column_searchable_list = ("name", "short_name", "oid", "address")
    column_filters = ("active", "oid", "created_at")
    column_default_sort = "short_name"
    form_args = {"oid": {"filters": [lambda v: v.strip() or None if isinstance(v, str) else v]}}


class CompletionReasonView(DictionaryView):
    column_list = ("name", "code", "active", "sort_order")
    form_columns = column_list
    column_searchable_list = ("name", "code")
    column_filters = ("active",)
    column_default_sort = ("sort_order", False)
