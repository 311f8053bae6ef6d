"""The console's audit log: titles of actions and objects, filters by title, the CSV
export (SPEC A1)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, current_app, stream_with_context
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from core.audit import AuditTitles
from core.db import utcnow
from core.models import AuditEvent
from core.plugins import plugin_manager

from admin.base import (
    ConsoleModelView,
    LocalDateTimeBetween,
    LocalDateTimeGreater,
    LocalDateTimeSmaller,
    local_zone,
    safe_cell,
)
from admin.views.labels import DictionaryView

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
    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)
