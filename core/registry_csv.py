"""``teleconsult registry import FILE``: a registry export in CSV into the registry.

The file is UTF-8 (a BOM is fine), delimited by ``;`` or ``,`` (told by the header line),
with a header of these columns (English or Russian names, any order, any case):

=============  ==================  ===========================================
column         also                value
=============  ==================  ===========================================
last_name      фамилия             required
first_name     имя                 required
middle_name    отчество
birth_date     дата_рождения       ГГГГ-ММ-ДД or ДД.ММ.ГГГГ, required
sex            пол                 male/female, м/ж, required
snils          снилс               11 digits, separators allowed, checksum checked
oms_policy     полис_омс, полис    16 digits (ЕНП), control digit checked
passport       паспорт             series and number, 10 digits
email          e-mail, почта
phone          телефон
=============  ==================  ===========================================

СНИЛС or полис ОМС is required in each row: a person is matched by SNILS, else by the
policy, so importing the same file twice changes nothing. The file is read as a stream
and written in batches (one transaction each), so memory stays flat for any size. Rows
that fail are skipped and listed, with the line number, field and message, in the error
report (``FILE.errors.csv`` unless told otherwise).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from marshmallow import ValidationError

from core import registry_import
from core.api.schemas import PatientImportSchema

ALIASES = {
    "фамилия": "last_name",
    "имя": "first_name",
    "отчество": "middle_name",
    "дата_рождения": "birth_date",
    "дата рождения": "birth_date",
    "пол": "sex",
    "снилс": "snils",
    "полис_омс": "oms_policy",
    "полис омс": "oms_policy",
    "полис": "oms_policy",
    "паспорт": "passport",
    "e-mail": "email",
    "почта": "email",
    "телефон": "phone",
}
COLUMNS = registry_import.DATA_COLUMNS
REQUIRED = ("last_name", "first_name", "birth_date", "sex")
_SEX = {"м": "male", "муж": "male", "m": "male", "male": "male", "ж": "female", "жен": "female", "f": "female", "female": "female"}
_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


SQLITE_CACHE_KIB = 256 * 1024


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (header, encoding)."""


@dataclass
class ImportResult:
    counts: registry_import.Counts = field(default_factory=registry_import.Counts)
    rows: int = 0
    errors_path: Path | None = None


def _header(line: str) -> tuple[str, list[str]]:
    delimiter = ";" if line.count(";") >= line.count(",") else ","
    names = next(csv.reader([line], delimiter=delimiter))
    columns = []
    for raw in names:
        name = raw.strip().lower()
        name = ALIASES.get(name, name)
        if name not in COLUMNS:
            raise CsvFormatError(f"unknown column {raw!r}; known: {', '.join(COLUMNS)}")
        if name in columns:
            raise CsvFormatError(f"column {name!r} appears twice")
        columns.append(name)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise CsvFormatError(f"missing columns: {', '.join(missing)}")
    if "snils" not in columns and "oms_policy" not in columns:
        raise CsvFormatError("a snils or oms_policy column is required")
    return delimiter, columns


def _prepare(values: dict[str, str]) -> dict[str, str]:
    """CSV conveniences on top of the API's rules: Russian dates and sex letters."""
    row = {name: value.strip() for name, value in values.items() if value and value.strip()}
    birth = row.get("birth_date")
    if birth:
        match = _RU_DATE.match(birth)
        if match:
            day, month, year = match.groups()
            row["birth_date"] = f"{year}-{int(month):02d}-{int(day):02d}"
    sex = row.get("sex")
    if sex:
        row["sex"] = _SEX.get(sex.lower(), sex)
    return row


def count_rows(path: Path) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)  # less the header


def _batches(path: Path, batch_size: int) -> Iterator[tuple[list[tuple[int, dict]], list[tuple[int, dict]]]]:
    """Yields (loaded rows, row errors) per batch; the index is the file's line number."""
    schema = PatientImportSchema()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            first = handle.readline()
        except UnicodeDecodeError:
            raise CsvFormatError("the file is not UTF-8") from None
        delimiter, columns = _header(first.rstrip("\r\n"))
        reader = csv.reader(handle, delimiter=delimiter)
        rows: list[tuple[int, dict]] = []
        errors: list[tuple[int, dict]] = []
        line = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                raise CsvFormatError(f"the file is not UTF-8 (after line {line})") from None
            line = reader.line_num + 1
            if not any(values):
                continue
            if len(values) != len(columns):
                errors.append((line, {"_row": [f"ожидалось полей: {len(columns)}, в строке: {len(values)}"]}))
            else:
                try:
                    rows.append((line, schema.load(_prepare(dict(zip(columns, values))))))
                except ValidationError as error:
                    errors.append((line, {k: [str(m) for m in v] if isinstance(v, list) else [str(v)] for k, v in error.messages.items()}))
            if len(rows) + len(errors) >= batch_size:
                yield rows, errors
                rows, errors = [], []
        if rows or errors:
            yield rows, errors


def import_csv(
    engine: sa.Engine,
    path: Path,
    *,
    organisation_id: int | None = None,
    batch_size: int = 5000,
    errors_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Stream ``path`` into the registry; returns the counts and where errors went."""
    path = Path(path)
    errors_path = Path(errors_path or f"{path}.errors.csv")
    result = ImportResult()
    report = None
    source = f"csv:{path.name}"[:100]
    try:
        for rows, errors in _batches(path, batch_size):
            with engine.begin() as connection:
                if engine.dialect.name == "sqlite":
                    # The identifier indexes take random keys: a page cache that holds them
                    # turns a million-row load from disk-bound into CPU-bound.
                    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
                plan = registry_import.resolve(connection, rows)
                counts = registry_import.write(connection, plan, organisation_id=organisation_id, source=source)
            counts.failed += len(errors)
            result.counts.add(counts)
            result.rows += len(rows) + len(errors)
            failures = sorted(errors + list(plan.errors.items()))
            if failures:
                if report is None:
                    report = errors_path.open("w", encoding="utf-8", newline="")
                    writer = csv.writer(report, delimiter=";")
                    writer.writerow(["line", "field", "message"])
                for line, problems in failures:
                    for name, messages in problems.items():
                        for message in messages:
                            writer.writerow([line, name, message])
            if progress:
                progress(len(rows) + len(errors))
    finally:
        if report is not None:
            report.close()
    if report is not None:
        result.errors_path = errors_path
    elif errors_path.exists():
        errors_path.unlink()  # a stale report of an earlier run would mislead
    return result
