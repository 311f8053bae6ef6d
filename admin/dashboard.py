"""The operator's dashboard, the console's start page: consultations per day and per
organisation, their outcomes, the time from application to start, and the figures
plugins add (``teleconsult_register_dashboard_figures``: the video plugin's calls and
their quality, the e-signature plugin's refused signatures), each as a chart and as CSV.

Whose figures: a regional operator (no organisation) sees every organisation and may
pick one; an operator of an organisation sees only it (rule ``admin.dashboard``), as
the console's other organisation-bound pages do. A plugin's figures are shown while it
is switched on for the organisation shown (for all of them: on anywhere).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Response, abort, current_app, request, send_from_directory, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import access, outcomes
from core.access import current_principal
from core.db import db, utcnow
from core.errors import UserError
from core.models import AuditEvent, Consultation, ConsultationStatus, Organisation
from core.plugins import collect, enabled_anywhere, plugin_manager, switched_off

from admin.base import SecureViewMixin, local_zone
from admin.figures import DashboardScope, Figure, cell_of, median
from admin.views import title_of

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)
FIGURES_HOOK = "teleconsult_register_dashboard_figures"
REPO_ROOT = Path(__file__).resolve().parents[1]

# Hours from application to start: (upper bound, label).
START_BUCKETS = (
    (1, _l("до 1 ч")),
    (4, _l("1–4 ч")),
    (24, _l("4–24 ч")),
    (72, _l("1–3 дня")),
    (168, _l("3–7 дней")),
    (None, _l("больше 7 дней")),
)


# --------------------------------------------------------------------------- the request


def _day(value: str, default: date) -> date:
    value = (value or "").strip()
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UserError(_("Дата периода указана неверно: нужна дата вида ГГГГ-ММ-ДД")) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:  # beyond them a day's bounds leave datetime's range
        raise UserError(_("Дата периода должна быть между %(first)s и %(last)s",
                          first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()))
    return day


def scope_of_request() -> DashboardScope:
    """The period (``from``, ``to``: ISO dates, the last 30 days by default) and the
    organisation (``organisation``) asked for, checked against the operator's scope."""
    zone = local_zone()
    today = utcnow().astimezone(zone).date()
    last = _day(request.args.get("to", ""), today)
    first = _day(request.args.get("from", ""), last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise UserError(_("Начало периода позже его окончания"))
    if (last - first).days + 1 > MAX_DAYS:
        raise UserError(_("Период не может быть длиннее %(days)d дней", days=MAX_DAYS))
    principal = current_principal()
    raw = request.args.get("organisation", "").strip()
    organisation_id = principal.organisation_id
    if raw:
        organisation = db.session.get(Organisation, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if organisation is None:
            raise UserError(_("Выберите медицинскую организацию из списка"))
        organisation_id = organisation.id
    access.require("admin.dashboard", organisation_id)
    return DashboardScope(first_day=first, last_day=last, zone=zone, organisation_id=organisation_id)


# --------------------------------------------------------------------------- the core's figures


def _moments(column, scope: DashboardScope) -> list:
    return list(db.session.scalars(
        sa.select(column).where(scope.within(column), scope.of_organisation(Consultation.organisation_id))
    ))


def consultations_per_day(scope: DashboardScope) -> Figure:
    return Figure(
        code="consultations_per_day",
        title=_("Консультации по дням"),
        columns=(_("День"), _("Подано заявок"), _("Начато"), _("Завершено")),
        rows=tuple(scope.per_day(*(_moments(c, scope) for c in (
            Consultation.created_at, Consultation.started_at, Consultation.closed_at)))),
        chart="line",
        order=10,
    )


def consultations_per_organisation(scope: DashboardScope) -> Figure:
    created = sa.func.sum(sa.case((scope.within(Consultation.created_at), 1), else_=0))
    closed = sa.func.sum(sa.case((scope.within(Consultation.closed_at), 1), else_=0))
    rows = db.session.execute(
        sa.select(Organisation.short_name, created, closed)
        .join(Consultation, Consultation.organisation_id == Organisation.id)
        .where(
            sa.or_(scope.within(Consultation.created_at), scope.within(Consultation.closed_at)),
            scope.of_organisation(Consultation.organisation_id),
        )
        .group_by(Organisation.id, Organisation.short_name)
        .order_by(created.desc(), Organisation.short_name)
    ).all()
    return Figure(
        code="consultations_per_organisation",
        title=_("Консультации по медицинским организациям"),
        columns=(_("Медицинская организация"), _("Подано заявок"), _("Завершено")),
        rows=tuple((name, int(a or 0), int(b or 0)) for name, a, b in rows),
        chart="hbar",
        order=20,
    )


def consultation_outcomes(scope: DashboardScope) -> Figure:
    rows = db.session.execute(
        sa.select(Consultation.outcome, sa.func.count())
        .where(
            Consultation.status == ConsultationStatus.CLOSED,
            scope.within(Consultation.closed_at),
            scope.of_organisation(Consultation.organisation_id),
        )
        .group_by(Consultation.outcome)
    ).all()
    known = list(outcomes.registered())
    counted = {code: count for code, count in rows}
    ordered = known + sorted(code for code in counted if code not in known and code is not None)
    table = [(outcomes.title(code), counted.get(code, 0)) for code in ordered]
    if counted.get(None):
        table.append((_("Исход не указан"), counted[None]))
    return Figure(
        code="outcomes",
        title=_("Исходы завершённых консультаций"),
        columns=(_("Исход"), _("Консультации")),
        rows=tuple(table),
        chart="doughnut",
        order=30,
    )


def time_to_start(scope: DashboardScope) -> Figure:
    pairs = db.session.execute(
        sa.select(Consultation.created_at, Consultation.started_at).where(
            scope.within(Consultation.started_at), scope.of_organisation(Consultation.organisation_id)
        )
    ).all()
    hours = [max(0.0, (started - created).total_seconds() / 3600) for created, started in pairs]
    counts = [0] * len(START_BUCKETS)
    for value in hours:
        for index, (bound, _label) in enumerate(START_BUCKETS):
            if bound is None or value < bound:
                counts[index] += 1
                break
    middle = median(hours)
    note = (
        _("Медиана: %(hours)s ч (консультаций: %(count)d)", hours=cell_of(middle), count=len(hours))
        if middle is not None else _("За период не начата ни одна консультация")
    )
    return Figure(
        code="time_to_start",
        title=_("Время от подачи заявки до начала консультации"),
        columns=(_("Ожидание"), _("Консультации")),
        rows=tuple((str(label), count) for (_bound, label), count in zip(START_BUCKETS, counts)),
        chart="bar",
        note=note,
        order=40,
    )


CORE_FIGURES = (consultations_per_day, consultations_per_organisation, consultation_outcomes, time_to_start)


def figures(scope: DashboardScope) -> list[Figure]:
    """The console's figures and those of the plugins switched on for the scope, in order."""
    found = [make(scope) for make in CORE_FIGURES]
    off = switched_off(organisation_id=scope.organisation_id) if scope.organisation_id is not None else None
    for plugin, figure in collect(plugin_manager(), FIGURES_HOOK, scope=scope):
        shown = plugin not in off if off is not None else enabled_anywhere(plugin)
        if shown and isinstance(figure, Figure):
            found.append(figure)
    codes = [f.code for f in found]
    duplicated = {code for code in codes if codes.count(code) > 1}
    if duplicated:
        raise RuntimeError(f"dashboard figure codes given twice: {sorted(duplicated)}")
    return sorted(found, key=lambda f: (f.order, f.code))


def csv_of(figure: Figure) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c) for c in figure.columns])
    for row in figure.rows:
        writer.writerow([cell_of(v) for v in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------- the page


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


class ConsoleIndexView(SecureViewMixin, AdminIndexView):
    def __init__(self) -> None:
        super().__init__(name=_l("Главная"), endpoint="admin", url="/admin")

    @expose()
    def index(self):
        scope = scope_of_request()
        shown = figures(scope)
        principal = current_principal()
        organisations = []
        if principal.organisation_id is None:
            organisations = db.session.scalars(sa.select(Organisation).order_by(Organisation.short_name)).all()
        in_scope = scope.of_organisation(Consultation.organisation_id)
        cards = [
            (_l("Подано заявок за период"), sum(row[1] for row in shown[0].rows)),
            (_l("Завершено за период"), sum(row[3] for row in shown[0].rows)),
            (_l("Заявки в работе сейчас"), _count(Consultation, Consultation.status != ConsultationStatus.CLOSED, in_scope)),
            (_l("Все завершённые заявки"), _count(Consultation, Consultation.status == ConsultationStatus.CLOSED, in_scope)),
        ]
        recent = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.startswith("admin.")).order_by(AuditEvent.id.desc()).limit(10)
        ).all()
        query = {"from": scope.first_day.isoformat(), "to": scope.last_day.isoformat()}
        if scope.organisation_id is not None and principal.organisation_id is None:
            query["organisation"] = scope.organisation_id
        return self.render(
            "teleconsult_admin/index.html",
            figures=shown,
            charts=[f.chart_config() for f in shown],
            cards=cards,
            scope=scope,
            organisations=organisations,
            query=query,
            recent=recent,
            title_of=title_of,
            cell_of=cell_of,
            chart_js=url_for("admin_console.vendor", filename="chart.umd.min.js"),
        )

    @expose("/figures/<code>.csv")
    def figure_csv(self, code: str):
        scope = scope_of_request()
        figure = next((f for f in figures(scope) if f.code == code), None)
        if figure is None:
            raise UserError(_("Такого показателя нет"), status=404)
        name = f"{code}-{scope.first_day:%Y%m%d}-{scope.last_day:%Y%m%d}.csv"
        # A byte-order mark: a spreadsheet opens the Cyrillic titles as UTF-8.
        return Response(
            "\ufeff" + csv_of(figure), mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"},
        )


# --------------------------------------------------------------------------- Chart.js

VENDOR_FILES = {"chart.umd.min.js"}


def vendor(filename: str):
    """Chart.js's browser build from node_modules (npm package chart.js; public, like
    the console's own static files)."""
    if filename not in VENDOR_FILES:
        abort(404)
    folder = Path(current_app.config["ADMIN_NODE_MODULES"] or REPO_ROOT / "node_modules")
    return send_from_directory(folder / "chart.js" / "dist", filename, max_age=3600)
