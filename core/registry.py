"""The regional patient registry: finding people by identifier or surname (SPEC D3.3).

The wizard, the REST API and the registry import share these functions. Identifiers
are validated before any query, so a typo is reported as a typo, not as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from core import audit
from core.db import db
from core.errors import InvalidInput
from core.models import Patient
from core.models.registry import normalize_name
from core.validators import IdentifierKind, InvalidIdentifier, detect_identifier

_COLUMN = {
    IdentifierKind.SNILS: Patient.snils,
    IdentifierKind.OMS: Patient.oms_policy,
    IdentifierKind.PASSPORT: Patient.passport,
}
# Built once: a lookup is the hottest query of the registry, and building the statement
# and its cache key each time cost as much as running it (each column has a unique index).
_BY_IDENTIFIER = {kind: sa.select(Patient).where(column == sa.bindparam("value")) for kind, column in _COLUMN.items()}


_NAME_MATCHES_READ = 500


@dataclass(frozen=True)
class SearchResult:
    patients: list[Patient]
    total: int  # how many matched (``patients`` may be a page of them)
    kind: str  # "snils" | "oms" | "passport" | "surname" | "name"


def find_by_identifier(value: str, kind: str | None = None) -> SearchResult:
    """Exact lookup by SNILS, OMS policy or passport; ``kind`` forces the identifier type."""
    try:
        detected, normalized = detect_identifier(value)
    except InvalidIdentifier as error:
        raise InvalidInput(error.message) from None
    if kind is not None and detected != kind:
        raise InvalidInput(_mismatch(kind))
    patients = list(db.session.scalars(_BY_IDENTIFIER[detected], {"value": normalized}))
    return SearchResult(patients, len(patients), str(detected))


def _mismatch(kind: str):
    from flask_babel import lazy_gettext as _l

    return {
        IdentifierKind.SNILS: _l("СНИЛС должен состоять из 11 цифр"),
        IdentifierKind.OMS: _l("Номер полиса ОМС должен состоять из 16 цифр"),
        IdentifierKind.PASSPORT: _l("Серия паспорта — 4 цифры, номер — 6 цифр"),
    }.get(kind, _l("Неизвестный вид документа"))


def search_by_surname(text: str, limit: int = 50, offset: int = 0) -> SearchResult:
    """Prefix search by surname (case- and «ё»-insensitive), then first name."""
    words = normalize_name(text).split()
    if not words:
        return SearchResult([], 0, "surname")
    prefix = words[0].replace("\\", "").replace("%", "").replace("_", "")
    query = sa.select(Patient).where(Patient.last_name_norm.startswith(prefix, autoescape=True))
    if prefix:
        # The same prefix as a range of the byte-ordered index (see Patient.last_name_norm):
        # SQLite's LIKE never uses an index, PostgreSQL's only with a constant pattern.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        query = query.where(Patient.last_name_norm >= prefix, Patient.last_name_norm < upper)
    if len(words) > 1:
        # Names are stored capitalised; SQLite's lower() does not know Cyrillic.
        query = query.where(Patient.first_name.startswith(words[1].capitalize(), autoescape=True))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    patients = list(
        db.session.scalars(
            query.order_by(Patient.last_name_norm, Patient.first_name, Patient.id).limit(limit).offset(offset)
        )
    )
    return SearchResult(patients, total, "surname")


def find_by_name(last_name: str, first_name: str, birth_date: date, limit: int = 50) -> SearchResult:
    """The whole surname and the exact birth date, and the first name's beginning if given
    (all case- and «ё»-insensitive): for a patient whose documents the registry lacks.
    Namesakes born on the same day are all returned, for the doctor to tell apart."""
    surname = normalize_name(last_name)
    if not surname:
        return SearchResult([], 0, "name")
    people = db.session.scalars(
        sa.select(Patient)
        .where(Patient.last_name_norm == surname, Patient.birth_date == birth_date)
        .order_by(Patient.first_name, Patient.middle_name, Patient.id)
        .limit(_NAME_MATCHES_READ)
    )
    # Namesakes of one birthday are few: the first name is folded here, as SQLite's
    # lower() knows no Cyrillic.
    first = normalize_name(first_name)
    patients = [p for p in people if normalize_name(p.first_name).startswith(first)]
    return SearchResult(patients[:limit], len(patients), "name")


def audit_search(result: SearchResult, principal=None) -> None:
    """Who searched the registry, by which kind of key, and which records it showed; the
    value searched for is never recorded (an identifier or a name is personal data)."""
    ids = [patient.id for patient in result.patients]
    audit.record(
        "registry.searched",
        principal=principal,
        object_type="patients",
        object_id=ids[0] if len(ids) == 1 else None,
        data={"by": result.kind, "found": result.total, "patient_ids": ids},
    )


def audit_record_read(patient_id: int, *, found: bool, full: bool, principal=None) -> None:
    """One record opened by its id: ids are sequential, so a miss is recorded as well."""
    audit.record(
        "registry.record_viewed",
        principal=principal,
        object_type="patients",
        object_id=patient_id,
        data={"found": found, "identifiers": "full" if full else "masked"},
    )
