"""What every console view shares: the access policy, audit of changes and exports,
local time, CSV cells that stay text in a spreadsheet.

Access goes through ``core.access`` (rule ``admin.use``, operators only). The console's
forms carry exactly one CSRF token, the one Flask-WTF's global ``CSRFProtect`` checks on
every POST: the views use Flask-Admin's plain ``BaseForm`` (whose templates then render
``csrf_token()``), never ``SecureForm``, which would add a second token under the same
name and make saves fail.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, request
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla import ModelView, filters
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField
from flask_admin.model import typefmt
from flask_admin.model.form import converts
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from core import access, audit, params
from core.db import db
from core.models import AuditEvent
from core.template_tools import local_datetime

log = logging.getLogger(__name__)

# Attributes whose values never go into an audit event or a page.
SECRET_ATTRIBUTES = {"password_hash", "token_hash"}


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_local_naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(local_zone()).replace(tzinfo=None)


def to_aware(value: datetime | None) -> datetime | None:
    """A time the operator typed is local time (the deployment's timezone)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=local_zone())


# --------------------------------------------------------------------------- access


class SecureViewMixin:
    """Operators only (``admin.use``): others get 403, nobody logged in goes to login."""

    def is_accessible(self) -> bool:
        return access.can("admin.use")

    def inaccessible_callback(self, name, **kwargs):
        # ``require`` raises 401 (the error handler redirects to login) or 403.
        access.require("admin.use")

    def render(self, template, **kwargs):
        kwargs.setdefault("console_locale", str(get_locale()))
        return super().render(template, **kwargs)


class SecureBaseView(SecureViewMixin, BaseView):
    pass


# --------------------------------------------------------------------------- time


class LocalDateTimeField(DateTimeField):
    """Shown and typed in local time, stored as aware UTC (``core.db.UTCDateTime``)."""

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        super().__init__(label, validators, format or "%Y-%m-%d %H:%M:%S", **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        local = to_local_naive(self.data)
        return local.strftime(self.format[0]) if local else ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not _in_range(self.data):
            self.data = None
            raise ValueError(_l("Дата вне допустимого диапазона"))
        self.data = to_aware(self.data)


def _in_range(value: datetime) -> bool:
    # Past these, the shift to UTC leaves what ``datetime`` can hold.
    return params.EARLIEST_DATE <= value.date() <= params.LATEST_DATE


class ConsoleModelConverter(AdminModelConverter):
    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args, **extra):
        return LocalDateTimeField(**field_args)


# A filter whose ``clean`` raises ValueError is ignored by Flask-Admin (``validate``).


class _LocalDateTime(filters.filters.BaseDateTimeFilter):
    def clean(self, value: str) -> datetime:
        cleaned = super().clean(value)
        if not _in_range(cleaned):
            raise ValueError(value)
        return to_aware(cleaned)


class _LocalDateTimeBetween(filters.filters.BaseDateTimeBetweenFilter):
    def clean(self, value: str) -> list[datetime]:
        cleaned = super().clean(value)
        if not all(_in_range(v) for v in cleaned):
            raise ValueError(value)
        return [to_aware(v) for v in cleaned]


class _IntegerRangeOnly:
    """Flask-Admin's integer filters take any ``int()``; the databases refuse numbers
    past their INTEGER columns."""

    def clean(self, value: str):
        cleaned = super().clean(value)
        if any(params.to_int(n, params.INTEGER_MIN) is None for n in (cleaned if isinstance(cleaned, list) else [cleaned])):
            raise ValueError(value)
        return cleaned


class LocalDateTimeGreater(_LocalDateTime, filters.DateTimeGreaterFilter):
    pass


class LocalDateTimeSmaller(_LocalDateTime, filters.DateTimeSmallerFilter):
    pass


class LocalDateTimeBetween(_LocalDateTimeBetween, filters.DateTimeBetweenFilter):
    pass


def bounded(filter_class: type) -> type:
    """An integer filter of Flask-Admin that ignores values past the INTEGER range."""
    return type(filter_class.__name__, (_IntegerRangeOnly, filter_class), {})


class ConsoleFilterConverter(filters.FilterConverter):
    int_filters = tuple(
        bounded(f) if issubclass(f, filters.filters.BaseIntFilter | filters.filters.BaseIntListFilter) else f
        for f in filters.FilterConverter.int_filters
    )

    @filters.filters.convert("UTCDateTime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return [
            f(column, name, **kwargs)
            for f in (LocalDateTimeGreater, LocalDateTimeSmaller, LocalDateTimeBetween, filters.FilterEmpty)
        ]


def safe_cell(value: Any) -> Any:
    """A cell starting with = + - @ is a formula to a spreadsheet: names and texts typed
    by people must stay text when the operator opens an export."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _format_datetime(view, value, name=None) -> str:
    return local_datetime(value, "dd.MM.yyyy HH:mm:ss")


def _format_list(view, value, name=None) -> str:
    return ", ".join(str(item) for item in value)


def _format_bool_export(view, value, name=None) -> str:
    return str(_l("Да") if value else _l("Нет"))


TYPE_FORMATTERS = dict(typefmt.BASE_FORMATTERS)
TYPE_FORMATTERS.update({datetime: _format_datetime, list: _format_list})
EXPORT_FORMATTERS = dict(typefmt.EXPORT_FORMATTERS)
EXPORT_FORMATTERS.update(
    {datetime: _format_datetime, list: _format_list, bool: _format_bool_export, type(None): lambda v, x, n=None: ""}
)


# --------------------------------------------------------------------------- model views


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, db.Model):
        return getattr(value, "id", str(value))
    return value


def changes_of(model: Any) -> dict[str, list[Any]]:
    """``{attribute: [old, new]}`` of a model about to be flushed (secrets left out)."""
    state = sa.inspect(model)
    changed: dict[str, list[Any]] = {}
    for attr in state.mapper.attrs:
        if attr.key in SECRET_ATTRIBUTES:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if isinstance(attr, sa.orm.RelationshipProperty) and attr.uselist:
            old = [_plain(v) for v in history.unchanged + history.deleted]
            new = [_plain(v) for v in history.unchanged + history.added]
        changed[attr.key] = [_plain(old), _plain(new)]
    return changed


# The titles of what a console view records, by the last part of the action.
AUDIT_VERBS = {
    "created": lambda view: _l("Консоль: запись создана («%(view)s»)", view=view),
    "updated": lambda view: _l("Консоль: запись изменена («%(view)s»)", view=view),
    "deleted": lambda view: _l("Консоль: запись удалена («%(view)s»)", view=view),
    "exported": lambda view: _l("Консоль: выгрузка в CSV («%(view)s»)", view=view),
}


class ConsoleModelView(SecureViewMixin, ModelView):
    """A dictionary or table of the console: audited, searchable, filterable, in Russian.

    Every change and every export is an audit event; export cells that a spreadsheet
    would take for a formula are kept as text.
    """

    model_form_converter = ConsoleModelConverter
    filter_converter = ConsoleFilterConverter()
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_FORMATTERS
    can_view_details = True
    can_set_page_size = True
    page_size = 50
    # Dictionaries are switched off («Активен»), not deleted: consultations refer to them.
    can_delete = False
    # The audit action prefix: ``admin.<audit_name>.created|updated|deleted``.
    audit_name: str = ""

    def __init__(self, model, name=None, **kwargs):
        # Blueprint names carry a prefix so that they never meet a plugin's; URLs do not.
        kwargs.setdefault("url", model.__tablename__)
        kwargs["endpoint"] = f"admin_{kwargs.get('endpoint') or model.__tablename__}"
        super().__init__(model, db, name=name, **kwargs)

    # Audit: one event per change, in the same transaction as the change.
    def on_model_change(self, form, model, is_created: bool) -> None:
        self.validate_model(form, model, is_created)
        action = "created" if is_created else "updated"
        self._audit(action, model, {"changes": changes_of(model)})

    def validate_model(self, form, model, is_created: bool) -> None:
        """Raise ``wtforms.ValidationError`` with a Russian message to refuse a save."""

    def on_model_delete(self, model) -> None:
        self._audit("deleted", model, {"was": str(model)})

    def _get_list_extra_args(self):
        # Flask-Admin reads ``?page=`` with ``int()``: a huge page makes an offset that
        # overflows the database. Past ``MAX_PAGE`` the list shows its first page.
        view_args = super()._get_list_extra_args()
        view_args.page = params.to_int(request.args.get("page"), 0, params.MAX_PAGE) or 0
        return view_args

    def get_export_value(self, model, name):
        return safe_cell(super().get_export_value(model, name))

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        self._audit_export(export_type)
        return super().export(export_type)

    def _audit_export(self, export_type: str) -> None:
        """Who took which rows away: the view, its search and filters, the row count.
        Committed before the file is written, so a download cut short is on record too."""
        args = self._get_list_extra_args()
        data = {
            "view": self.endpoint,
            "title": str(self.name),
            "format": export_type,
            "search": args.search or None,
            "filters": self._describe_filters(args.filters or []),
        }
        event_id = audit.record(f"admin.{self._audit_prefix()}.exported", object_type=self.model.__tablename__, data=data)
        # Counted after the event is written: the audit log's own export lists it too.
        count, _query = self.get_list(0, None, None, args.search, args.filters, execute=False)
        if count is not None and self.export_max_rows:
            count = min(count, self.export_max_rows)
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(data={**data, "rows": count}))
        db.session.commit()

    def _describe_filters(self, active) -> list[str]:
        described = []
        for index, _name, value in active:
            flt = self._filters[index]
            options = dict((str(k), str(v)) for k, v in (flt.get_options(self) or ()))
            described.append(f"{flt.name} {flt.operation()}: {options.get(str(value), value)}")
        return described

    def _audit_prefix(self) -> str:
        return self.audit_name or self.model.__tablename__

    def audit_titles(self) -> dict[str, Any]:
        """Titles of the actions this view records, for the audit log."""
        prefix = self._audit_prefix()
        return {f"admin.{prefix}.{verb}": title(self.name) for verb, title in AUDIT_VERBS.items()}

    def _audit(self, action: str, model, data: dict[str, Any]) -> None:
        audit.record(f"admin.{self._audit_prefix()}.{action}", model, data=data)

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, IntegrityError):
            db.session.rollback()
            flash(
                _l(
                    "Запись не сохранена: такое значение уже есть в справочнике "
                    "или на запись ссылаются другие данные."
                ),
                "error",
            )
            return True
        if isinstance(exc, ValidationError):
            return super().handle_view_exception(exc)
        db.session.rollback()
        log.exception("console save failed")
        flash(_l("Запись не сохранена из-за внутренней ошибки. Попробуйте ещё раз."), "error")
        return True


def yes_no(view, context, model, name) -> Markup:
    value = getattr(model, name)
    return Markup('<span class="badge badge-{}">{}</span>').format(
        "success" if value else "secondary", _l("Да") if value else _l("Нет")
    )
