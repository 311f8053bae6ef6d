"""Bulk upsert of registry patients (SPEC D3.3, F4); links of legal representatives are a
plugin's (hook ``teleconsult_registry_links_import``, answered with ``LinkImport``).

Medical information systems push people through the REST API in batches; the operator
loads whole exports with ``teleconsult registry import FILE``. Both go through here:

* rows are validated by ``core.api.schemas.PatientImportSchema`` (one set of rules);
* a person is matched by SNILS, else by the unified OMS policy number; a row that points
  at two different people, or takes a passport that belongs to someone else, is an error
  of that row, never a silent merge;
* the write is plain SQL Core ``executemany`` (no ORM object per row): a million rows
  load in minutes on SQLite and PostgreSQL;
* ``resolve`` decides everything before anything is written, so the API can refuse a
  whole batch with the per-row report and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from core.db import utcnow
from core.models import Patient
from core.models.registry import normalize_name

patients = Patient.__table__

# Columns a row may set. Absent keys keep what the registry has.
DATA_COLUMNS = (
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "sex",
    "snils",
    "oms_policy",
    "passport",
    "email",
    "phone",
)
IDENTIFIERS = ("snils", "oms_policy", "passport")
_SELECTED = (patients.c.id, *(patients.c[name] for name in DATA_COLUMNS), patients.c.organisation_id)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class RowOutcome:
    status: str  # created | updated | unchanged
    patient_id: int | None = None


@dataclass
class Plan:
    """What one batch will do, decided before any write."""

    inserts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row index, values)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    outcomes: dict[int, RowOutcome] = field(default_factory=dict)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def fail(self, index: int, field_name: str, message: str) -> None:
        self.errors.setdefault(index, {}).setdefault(field_name, []).append(message)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed}


def _existing(connection: sa.Connection, column: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted({v for v in values if v})
    found: dict[str, dict[str, Any]] = {}
    # Chunks keep the statement under SQLite's bound-parameter limit.
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        query = sa.select(*_SELECTED).where(patients.c[column].in_(chunk))
        for row in connection.execute(query).mappings():
            found[row[column]] = dict(row)
    return found


def resolve(
    connection: sa.Connection,
    rows: Sequence[tuple[int, dict[str, Any]]],
    may_update: Callable[[int | None], bool] | None = None,
) -> Plan:
    """Match each validated row to the registry: insert, update, unchanged, or an error.

    ``rows`` are ``(index, values)`` with values as ``PatientImportSchema`` loads them.
    ``may_update(organisation_id)`` tells whether the importer may change a person attached
    to that organisation (the access policy's ``registry.update_record``, the same rule as
    for reading a record in full); a row that would change someone else's person is an
    error of that row. None: every person (the operator's own file import).
    An identifier the row leaves empty never erases the one in the registry.
    """
    plan = Plan()
    by_snils = _existing(connection, "snils", (r.get("snils") for _, r in rows))
    by_oms = _existing(connection, "oms_policy", (r.get("oms_policy") for _, r in rows))
    by_passport = _existing(connection, "passport", (r.get("passport") for _, r in rows))
    first_seen: dict[tuple[str, str], int] = {}

    for index, row in rows:
        duplicate = False
        for name in IDENTIFIERS:
            value = row.get(name)
            if not value:
                continue
            earlier = first_seen.setdefault((name, value), index)
            if earlier != index:
                plan.fail(index, name, _("Повторяется в пакете: уже есть в записи %(n)s", n=earlier))
                duplicate = True
        if duplicate:
            continue
        snils_owner = by_snils.get(row.get("snils") or "")
        oms_owner = by_oms.get(row.get("oms_policy") or "")
        if snils_owner and oms_owner and snils_owner["id"] != oms_owner["id"]:
            plan.fail(index, "oms_policy", _("Полис ОМС записан в регистре другому пациенту (не владельцу СНИЛС)"))
            continue
        target = snils_owner or oms_owner
        if target and row.get("snils") and target["snils"] and target["snils"] != row["snils"]:
            plan.fail(index, "oms_policy", _("Полис ОМС записан в регистре пациенту с другим СНИЛС"))
            continue
        passport_owner = by_passport.get(row.get("passport") or "")
        if passport_owner and (target is None or passport_owner["id"] != target["id"]):
            plan.fail(index, "passport", _("Паспорт уже записан в регистре другому пациенту"))
            continue
        if target is None:
            plan.inserts.append((index, row))
            plan.outcomes[index] = RowOutcome(CREATED)
            continue
        changed = {
            name: value
            for name, value in row.items()
            if name in DATA_COLUMNS and target[name] != value and (value or name not in IDENTIFIERS)
        }
        if not changed:
            plan.outcomes[index] = RowOutcome(UNCHANGED, target["id"])
            continue
        if may_update is not None and not may_update(target["organisation_id"]):
            plan.fail(index, "_record", _("Пациент прикреплён к другой организации: изменить его запись может только она"))
            continue
        merged = {name: target[name] for name in DATA_COLUMNS}
        merged.update(changed)
        merged["_id"] = target["id"]
        # Later rows of the batch see this person as it will be.
        for name in IDENTIFIERS:
            if merged[name]:
                {"snils": by_snils, "oms_policy": by_oms, "passport": by_passport}[name][merged[name]] = {
                    **merged,
                    "id": target["id"],
                }
        plan.updates.append((index, merged))
        plan.outcomes[index] = RowOutcome(UPDATED, target["id"])
    return plan


def _insert_values(row: dict[str, Any], organisation_id: int | None, source: str | None, now: datetime) -> dict:
    values = {name: row.get(name) for name in DATA_COLUMNS}
    values["last_name_norm"] = normalize_name(values["last_name"])
    values["organisation_id"] = organisation_id
    values["source"] = source
    values["created_at"] = now
    values["updated_at"] = now
    return values


def write(
    connection: sa.Connection,
    plan: Plan,
    *,
    organisation_id: int | None,
    source: str | None,
    want_ids: bool = False,
) -> Counts:
    """Write a resolved plan in the caller's transaction; fills in ids when ``want_ids``."""
    now = utcnow()
    if plan.inserts:
        values = [_insert_values(row, organisation_id, source, now) for _, row in plan.inserts]
        if want_ids:
            statement = sa.insert(patients).returning(patients.c.id, sort_by_parameter_order=True)
            ids = connection.execute(statement, values).scalars().all()
            for (index, _row), patient_id in zip(plan.inserts, ids, strict=True):
                plan.outcomes[index].patient_id = patient_id
        else:
            connection.execute(sa.insert(patients), values)
    if plan.updates:
        statement = (
            sa.update(patients)
            .where(patients.c.id == sa.bindparam("_id"))
            .values(
                {name: sa.bindparam(name) for name in DATA_COLUMNS}
                | {"last_name_norm": sa.bindparam("_norm"), "updated_at": sa.bindparam("_now"), "source": sa.bindparam("_source")}
            )
        )
        params = []
        for _index, merged in plan.updates:
            params.append(merged | {"_norm": normalize_name(merged["last_name"]), "_now": now, "_source": source})
        connection.execute(statement, params)
    counts = Counts(failed=len(plan.errors))
    for outcome in plan.outcomes.values():
        setattr(counts, outcome.status, getattr(counts, outcome.status) + 1)
    return counts


# --------------------------------------------------------------------------- links


@dataclass
class LinkImport:
    """A plugin's answer to ``teleconsult_registry_links_import``: by row index of the
    section, ``outcomes`` (created | unchanged) and ``errors`` (``{field: [messages]}``);
    ``written`` rows. With errors the core refuses the whole batch."""

    outcomes: dict[int, str] = field(default_factory=dict)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    written: int = 0
