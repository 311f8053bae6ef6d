"""The figures of the operator's dashboard (the console's start page): what one figure
is, the period and organisation it covers, and the helpers that count per day.

A figure is a small table (``columns``, ``rows``) that the page draws as a chart with
Chart.js and offers as CSV, the same numbers in both. The console makes its own figures
(``admin.dashboard``); a plugin adds its own through ``teleconsult_register_dashboard_figures``,
counting only what lies in ``scope`` (the period, and the organisation when the
operator's scope is one).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

CHART_TYPES = ("bar", "line", "doughnut", "hbar")
CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class DashboardScope:
    """What the figures cover: the days ``first_day``..``last_day`` (local, inclusive) and
    one organisation, or every organisation (``organisation_id`` None: a regional operator)."""

    first_day: date
    last_day: date
    zone: ZoneInfo
    organisation_id: int | None = None

    @property
    def start(self) -> datetime:
        """The first moment of the period (aware)."""
        return datetime.combine(self.first_day, time.min, self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period (aware)."""
        return datetime.combine(self.last_day + timedelta(days=1), time.min, self.zone)

    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]

    def day_of(self, moment: datetime) -> date:
        """The local day of an aware moment."""
        return moment.astimezone(self.zone).date()

    def within(self, column: Any) -> Any:
        """``start <= column < end``: a SQL condition for a time column."""
        return sa.and_(column >= self.start, column < self.end)

    def of_organisation(self, column: Any) -> Any:
        """``column == organisation_id``, or true for every organisation."""
        return sa.true() if self.organisation_id is None else column == self.organisation_id

    def per_day(self, *series: Iterable[datetime | None]) -> list[tuple]:
        """One row per day of the period: the day, then how many moments of each series
        fall on it (moments outside the period are not counted)."""
        counters = []
        for moments in series:
            counter: Counter = Counter()
            for moment in moments:
                if moment is not None:
                    counter[self.day_of(moment)] += 1
            counters.append(counter)
        return [(day, *(counter.get(day, 0) for counter in counters)) for day in self.days()]


@dataclass(frozen=True)
class Figure:
    """One chart of the dashboard and its CSV.

    ``columns`` are the titles of the table's columns; the first column holds the labels
    (a day, an organisation, a reason), each other column is one data set of the chart.
    ``chart`` is ``"bar"``, ``"line"`` (days), ``"doughnut"`` (parts of a whole, one
    data column) or ``"hbar"`` (long labels). ``note`` is a sentence under the chart.
    ``order`` places the figure among the others (the console's are 10..40).
    """

    code: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    chart: str = "bar"
    note: str = ""
    stacked: bool = False
    order: int = 100

    def __post_init__(self) -> None:
        if not CODE.match(self.code):
            raise ValueError(f"figure code {self.code!r}: lowercase letters, digits and underscores")
        if self.chart not in CHART_TYPES:
            raise ValueError(f"figure {self.code!r}: chart must be one of {CHART_TYPES}")
        if len(self.columns) < 2 or any(len(row) != len(self.columns) for row in self.rows):
            raise ValueError(f"figure {self.code!r}: every row has one cell per column, two columns at least")

    @property
    def empty(self) -> bool:
        return not any(isinstance(v, int | float) and v for row in self.rows for v in row[1:])

    def chart_config(self) -> dict[str, Any]:
        """What the page's script gives Chart.js: labels and one data set per column."""
        return {
            "code": self.code,
            "type": self.chart,
            "stacked": self.stacked,
            "labels": [label_of(row[0]) for row in self.rows],
            "datasets": [
                {"label": str(title), "data": [number_of(row[index]) for row in self.rows]}
                for index, title in enumerate(self.columns[1:], 1)
            ],
        }


def label_of(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%d.%m")
    return str(value)


def number_of(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return round(value, 1)
    return value if isinstance(value, int) else None


def cell_of(value: Any) -> str:
    """A CSV cell: days as dd.mm.yyyy, numbers as the chart shows them."""
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    if value is None:
        return ""
    return str(value)


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
