"""The console's schedule templates (SPEC A1)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_admin.form import Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from core.db import db
from core.models import Role, User

from admin.views.labels import DictionaryView

WEEKDAYS = [
    (1, _l("Понедельник")),
    (2, _l("Вторник")),
    (3, _l("Среда")),
    (4, _l("Четверг")),
    (5, _l("Пятница")),
    (6, _l("Суббота")),
    (7, _l("Воскресенье")),
]
_BREAK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})\s*$")


class BreaksField(StringField):
    """Breaks typed as «13:00-14:00, 17:00-17:30», stored as ``[["13:00", "14:00"], ...]``."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(f"{start}-{end}" for start, end in (self.data or []))

    def process_formdata(self, valuelist):
        self.data = []
        text = (valuelist[0] if valuelist else "") or ""
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = _BREAK.match(part)
            if not match:
                raise ValueError(_("Перерывы указываются так: 13:00-14:00, 17:00-17:30"))
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
                raise ValueError(_("Перерыв «%(part)s»: начало должно быть раньше окончания", part=part))
            self.data.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])


def _weekday_names(view, context, model, name):
    names = dict(WEEKDAYS)
    return ", ".join(str(names[d])[:2] for d in (model.weekdays or []) if d in names)


def _doctors():
    return db.session.scalars(
        sa.select(User).join(User.roles).where(Role.code == Role.DOCTOR).order_by(User.last_name)
    ).all()


class ScheduleTemplateView(DictionaryView):
    column_list = ("doctor", "name", "weekdays", "start_time", "end_time", "slot_minutes", "valid_from", "valid_until", "active")
    column_details_list = (*column_list, "breaks", "created_at")
    form_columns = ("doctor", "name", "weekdays", "start_time", "end_time", "slot_minutes", "breaks", "valid_from", "valid_until", "active")
    column_searchable_list = ("name", "doctor.last_name")
    column_filters = ("active", "doctor.last_name", "valid_from", "valid_until", "slot_minutes")
    column_formatters = {**DictionaryView.column_formatters, "weekdays": _weekday_names}
    can_delete = True
    form_overrides = {"weekdays": SelectMultipleField, "breaks": BreaksField}
    form_args = {
        "doctor": {"query_factory": _doctors},
        "weekdays": {"choices": [SelectChoice(d, name) for d, name in WEEKDAYS], "coerce": int, "widget": Select2Widget(multiple=True)},
        "breaks": {"description": _l("Например: 13:00-14:00, 17:00-17:30")},
    }

    def validate_model(self, form, model, is_created):
        if not model.weekdays:
            raise ValidationError(_l("Выберите хотя бы один день недели"))
        if model.start_time >= model.end_time:
            raise ValidationError(_l("Начало приёма должно быть раньше окончания"))
        if not 5 <= (model.slot_minutes or 0) <= 240:
            raise ValidationError(_l("Длительность слота: от 5 до 240 минут"))
        if model.valid_until and model.valid_until < model.valid_from:
            raise ValidationError(_l("Дата окончания действия раньше даты начала"))
