"""The console's dictionaries and tables (SPEC A1)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, current_app, flash, request, stream_with_context
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from flask_admin.form import Select2Widget
from flask_babel import lazy_gettext as _l
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from core import audit, params
from core.access import current_principal
from core.audit import AuditTitles
from core.db import db, utcnow
from core.models import (
    AuditEvent,
    CompletionReason,
    ConsentVersion,
    ConsultationType,
    FaqEntry,
    MedicalProfile,
    Organisation,
    Role,
    ScheduleTemplate,
    User,
)
from core.plugins import plugin_manager
from core.routing import route_registry

from admin.base import (
    ConsoleModelView,
    LocalDateTimeBetween,
    LocalDateTimeGreater,
    LocalDateTimeSmaller,
    local_zone,
    safe_cell,
    yes_no,
)

# One label per attribute name, the same on every view.
LABELS = {
    "name": _l("Название"),
    "code": _l("Код"),
    "route": _l("Маршрут"),
    "for_representative": _l("Для законного представителя"),
    "profiles": _l("Профили медицинской помощи"),
    "attention_text": _l("Текст «ВНИМАНИЕ!»"),
    "active": _l("Активен"),
    "sort_order": _l("Порядок"),
    "specialty": _l("Специальность"),
    "short_name": _l("Краткое название"),
    "oid": _l("OID (ФРМО)"),
    "address": _l("Адрес"),
    "created_at": _l("Создан"),
    "login": _l("Логин"),
    "last_name": _l("Фамилия"),
    "first_name": _l("Имя"),
    "middle_name": _l("Отчество"),
    "organisation": _l("Медицинская организация"),
    "organisation.short_name": _l("Медицинская организация"),
    "roles": _l("Роли"),
    "roles.name": _l("Роль"),
    "position": _l("Должность"),
    "email": _l("Электронная почта"),
    "phone": _l("Телефон"),
    "is_active": _l("Активна"),
    "failed_logins": _l("Неудачных попыток входа"),
    "locked_until": _l("Заблокирована до"),
    "last_login_at": _l("Последний вход"),
    "doctor": _l("Врач"),
    "doctor.last_name": _l("Врач"),
    "weekdays": _l("Дни недели"),
    "start_time": _l("Начало"),
    "end_time": _l("Окончание"),
    "slot_minutes": _l("Длительность слота, мин"),
    "breaks": _l("Перерывы"),
    "valid_from": _l("Действует с"),
    "valid_until": _l("Действует по"),
    "version": _l("Редакция"),
    "title": _l("Заголовок"),
    "text": _l("Текст"),
    "published_at": _l("Опубликована"),
    "audience": _l("Для кого"),
    "question": _l("Вопрос"),
    "answer": _l("Ответ"),
    "published": _l("Опубликован"),
    "at": _l("Время"),
    "actor_type": _l("Тип субъекта"),
    "actor_id": _l("ID пользователя"),
    "actor_name": _l("Пользователь"),
    "action": _l("Действие"),
    "object_type": _l("Объект"),
    "object_id": _l("ID объекта"),
    "consultation_id": _l("ID заявки"),
    "data": _l("Подробности"),
    "client_address": _l("IP-адрес"),
    "profiles.name": _l("Профиль"),
}


class DictionaryView(ConsoleModelView):
    column_labels = LABELS
    column_formatters = {
        "active": yes_no,
        "for_representative": yes_no,
        "published": yes_no,
        "is_active": yes_no,
    }


# --------------------------------------------------------------------------- routes


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


# --------------------------------------------------------------------------- people


class PasswordSetField(PasswordField):
    """Sets the password through ``User.set_password``; never written to the model as is."""

    def populate_obj(self, obj, name):
        pass


def _full_name(view, context, model, name):
    return model.full_name


class UserView(DictionaryView):
    column_list = (
        "login", "last_name", "organisation", "roles", "position", "is_active", "locked_until", "last_login_at",
    )
    column_labels = {**LABELS, "last_name": _l("ФИО")}
    column_formatters = {**DictionaryView.column_formatters, "last_name": _full_name}
    column_details_list = (
        "login", "last_name", "organisation", "roles", "position", "specialty",
        "email", "phone", "is_active", "locked_until", "failed_logins", "last_login_at", "created_at",
    )
    column_formatters_export = {"last_name": lambda view, context, model, name: model.full_name}
    column_export_list = column_details_list
    can_export = True
    form_columns = (
        "login", "last_name", "first_name", "middle_name", "organisation", "roles", "position",
        "specialty", "email", "phone", "new_password", "is_active", "locked_until", "failed_logins",
    )
    form_extra_fields = {
        "new_password": PasswordSetField(
            _l("Новый пароль"),
            validators=[Optional(), Length(min=8, max=200, message=_l("Пароль: от 8 до 200 символов"))],
            description=_l("Оставьте пустым, чтобы не менять пароль."),
        )
    }
    column_searchable_list = ("login", "last_name", "first_name", "email", "position")
    column_filters = ("is_active", "organisation.short_name", "roles.name", "locked_until", "last_login_at")
    column_default_sort = "last_name"

    def validate_model(self, form, model, is_created):
        if model.id is not None and model.id == current_principal().id:
            if not model.is_active or not model.has_role(Role.OPERATOR):
                raise ValidationError(
                    _l("Нельзя заблокировать свою учётную запись или снять с себя роль оператора")
                )
        password = form.new_password.data
        if is_created and not password:
            raise ValidationError(_l("Задайте пароль новому пользователю"))
        model.login = (model.login or "").strip()
        if password:
            model.set_password(password)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if form.new_password.data:
            audit.record("admin.users.password_set", model)

    @action("lock", _l("Заблокировать"), _l("Заблокировать выбранные учётные записи?"))
    def action_lock(self, ids):
        self._set_lock(ids, locked=True)

    @action("unlock", _l("Разблокировать"), _l("Разблокировать выбранные учётные записи?"))
    def action_unlock(self, ids):
        self._set_lock(ids, locked=False)

    def _set_lock(self, ids, locked: bool) -> None:
        users = db.session.scalars(sa.select(User).where(User.id.in_(params.ids(ids)))).all()
        if locked and any(user.id == current_principal().id for user in users):
            flash(_("Нельзя заблокировать свою учётную запись или снять с себя роль оператора"), "error")
            users = [user for user in users if user.id != current_principal().id]
        for user in users:
            user.is_active = not locked
            if not locked:
                user.locked_until = None
                user.failed_logins = 0
            audit.record("admin.users.locked" if locked else "admin.users.unlocked", user)
        db.session.commit()
        count = len(users)
        if locked:
            flash(ngettext("Заблокирована %(num)d учётная запись", "Заблокировано учётных записей: %(num)d", count))
        else:
            flash(ngettext("Разблокирована %(num)d учётная запись", "Разблокировано учётных записей: %(num)d", count))


class RoleView(DictionaryView):
    column_list = ("code", "name")
    form_columns = ("code", "name")

    def edit_form(self, obj=None):
        # The access policy knows roles by code: a code is fixed once created.
        form = super().edit_form(obj)
        del form.code
        return form
    column_searchable_list = ("code", "name")
    column_filters = ("code",)


# --------------------------------------------------------------------------- schedule

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


# --------------------------------------------------------------------------- texts


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


# --------------------------------------------------------------------------- audit

# The console's own actions besides the changes and exports of each view.
CONSOLE_TITLES = AuditTitles(
    actions={
        "admin.users.password_set": _l("Консоль: пользователю задан пароль"),
        "admin.users.locked": _l("Консоль: учётная запись заблокирована"),
        "admin.users.unlocked": _l("Консоль: учётная запись разблокирована"),
        "admin.consent.published": _l("Консоль: опубликована новая редакция согласия"),
        "admin.plugins.switched": _l("Консоль: переключатель плагина изменён"),
    }
)


def plugin_audit_titles(app: Flask) -> AuditTitles:
    """The titles of the core and of every loaded plugin, switched on or not (their
    past events stay readable); a later plugin's title replaces an earlier one."""
    cached = app.extensions.get("teleconsult.audit_titles")
    if cached is None:
        cached = AuditTitles()
        for contribution in reversed(plugin_manager(app).hook.teleconsult_register_audit_titles()):
            if contribution is not None:
                cached = cached.merged(contribution)
        app.extensions["teleconsult.audit_titles"] = cached
    return cached


def audit_titles() -> AuditTitles:
    """Every title the audit log knows: one per action of each console view, the
    console's own, and those of the core and the plugins (``plugin_audit_titles``)."""
    app = current_app._get_current_object()
    cached = app.extensions.get("teleconsult.console_audit_titles")
    if cached is None:
        generated: dict[str, object] = {}
        for console in app.extensions.get("admin", []):
            for view in console._views:
                if isinstance(view, ConsoleModelView):
                    generated.update(view.audit_titles())
        cached = AuditTitles(actions=generated).merged(CONSOLE_TITLES).merged(plugin_audit_titles(app))
        app.extensions["teleconsult.console_audit_titles"] = cached
    return cached


def _titles_of(kind: str) -> dict:
    return getattr(audit_titles(), kind)


def title_of(kind: str, code: str | None) -> str:
    """The title of an action (``kind="actions"``) or object type (``"objects"``); a code
    nobody gave a title stays as it is."""
    if not code:
        return ""
    return str(_titles_of(kind).get(code, code))


class _TitleOptions:
    """The (code, title) choices of a filter, read when a page lists them: Flask-Admin
    takes a filter's options once, when the view is made, before the plugins' views
    whose titles belong in the list exist."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        choices = ((code, str(title)) for code, title in _titles_of(self.kind).items())
        return iter(sorted(choices, key=lambda choice: choice[1]))


class TitleEqual(FilterEqual):
    """«равно»: pick the title from a list; the code is what is compared."""

    def __init__(self, column, name, kind: str, **kwargs):
        super().__init__(column, name, options=_TitleOptions(kind), **kwargs)


class TitleContains(FilterLike):
    """«содержит»: a word of the title («вход», «заявка») or of the code."""

    def __init__(self, column, name, kind: str, **kwargs):
        self.kind = kind
        super().__init__(column, name, **kwargs)

    def apply(self, query, value, alias=None):
        needle = value.strip().casefold()
        codes = [
            code for code, title in _titles_of(self.kind).items()
            if needle in str(title).casefold() or needle in code.casefold()
        ]
        column = self.get_column(alias)
        return query.filter(sa.or_(column.in_(codes), column.ilike(f"%{value.strip()}%")))


def _titled(kind: str):
    def formatter(view, context, model, name):
        code = getattr(model, name)
        return Markup('<span title="{}">{}</span>').format(code, title_of(kind, code))

    return formatter


class AuditEventView(DictionaryView):
    """Read-only: nobody edits history. Actions and objects are shown, filtered and
    exported by their Russian titles."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_types = ["csv"]
    export_max_rows = 100_000
    audit_name = "audit"
    column_list = ("at", "actor_name", "actor_type", "action", "object_type", "object_id", "consultation_id", "client_address")
    column_details_list = (*column_list, "actor_id", "data")
    column_export_list = column_details_list
    column_searchable_list = ("actor_name", "action", "object_type")
    column_filters = (
        "actor_name",
        "actor_id",
        "actor_type",
        TitleEqual(AuditEvent.action, _l("Действие"), "actions"),
        TitleContains(AuditEvent.action, _l("Действие"), "actions"),
        TitleEqual(AuditEvent.object_type, _l("Объект"), "objects"),
        TitleContains(AuditEvent.object_type, _l("Объект"), "objects"),
        "object_id",
        "consultation_id",
        LocalDateTimeGreater(AuditEvent.at, _l("Время")),
        LocalDateTimeSmaller(AuditEvent.at, _l("Время")),
        LocalDateTimeBetween(AuditEvent.at, _l("Время")),
    )
    column_formatters = {
        **DictionaryView.column_formatters,
        "action": _titled("actions"),
        "object_type": _titled("objects"),
    }
    column_default_sort = ("at", True)
    column_choices = {
        "actor_type": [
            ("staff", _l("Сотрудник")),
            ("patient", _l("Пациент")),
            ("api", _l("Внешняя система")),
            ("system", _l("Система")),
        ]
    }

    def get_export_name(self, export_type="csv"):
        return f"audit-{utcnow():%Y%m%d-%H%M%S}.{export_type}"

    def _export_csv(self, return_url):
        """The log can be long: rows are written straight from the columns, not through
        Flask-Admin's per-cell formatter chain (a hundred times slower), with the same
        search, filters and sort as the list."""
        _count, rows = self._export_data()
        zone = local_zone()
        actor_types = {code: str(label) for code, label in self.column_choices["actor_type"]}
        actions = {code: str(title) for code, title in _titles_of("actions").items()}
        objects = {code: str(title) for code, title in _titles_of("objects").items()}
        columns = [name for name, _title in self._export_columns]
        titles = [str(title) for _name, title in self._export_columns]

        def cell(row, name):
            value = getattr(row, name)
            if value is None:
                return ""
            if name == "data":
                return _json(value)
            if name == "actor_type":
                return actor_types.get(value, value)
            if name == "action":
                return safe_cell(actions.get(value, value))
            if name == "object_type":
                return safe_cell(objects.get(value, value))
            if isinstance(value, datetime):
                return value.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")
            return safe_cell(value)

        def generate():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(titles)
            for index, row in enumerate(rows, 1):
                writer.writerow([cell(row, name) for name in columns])
                if index % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        filename = self.get_export_name("csv")
        return Response(
            stream_with_context(generate()),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={filename}"},
        )


def _json(value) -> str:
    import json

    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)


def core_views():
    """The console's own views, in menu order."""
    routes = _l("Маршруты")
    people = _l("Пользователи")
    texts = _l("Тексты")
    return [
        ConsultationTypeView(ConsultationType, _l("Типы консультаций"), category=routes),
        MedicalProfileView(MedicalProfile, _l("Профили медицинской помощи"), category=routes),
        CompletionReasonView(CompletionReason, _l("Причины завершения"), category=routes),
        OrganisationView(Organisation, _l("Медицинские организации")),
        UserView(User, _l("Пользователи"), category=people),
        RoleView(Role, _l("Роли"), category=people),
        ScheduleTemplateView(ScheduleTemplate, _l("Шаблоны расписания"), category=people),
        ConsentVersionView(ConsentVersion, _l("Тексты согласия"), category=texts),
        FaqEntryView(FaqEntry, _l("Помощь (FAQ)"), category=texts),
        AuditEventView(AuditEvent, _l("Журнал аудита"), endpoint="audit", url="audit"),
    ]
