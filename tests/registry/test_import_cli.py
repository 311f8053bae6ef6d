"""`teleconsult registry import FILE` (SPEC D3.3): CSV of either delimiter, idempotent,
bad rows in a report; and `teleconsult api-token create/revoke`."""

import csv

import pytest
import sqlalchemy as sa

from core.db import db
from core.demo_data import generate_people
from core.models import ApiToken, AuditEvent, Patient

COLUMNS = ["last_name", "first_name", "middle_name", "birth_date", "sex", "snils", "oms_policy", "passport", "email", "phone"]


def _write(path, people, delimiter=";", header=COLUMNS, extra_rows=()):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for person in people:
            writer.writerow(["" if person[c] is None else person[c] for c in COLUMNS])
        for row in extra_rows:
            writer.writerow(row)


@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_import_is_idempotent_and_reports_bad_rows(app_context, tmp_path, delimiter):
    people = generate_people(300, seed=3)
    bad = [
        ["Иванов", "Иван", "", "1980-01-01", "male", "123-456-789 00", "", "", "", ""],
        ["Петров", "", "", "1980-01-01", "male", people[0]["snils"], "", "", "", ""],
        ["Сидорова", "Анна", "", "32.01.1980", "ж", "", "", "", "", ""],
    ]
    source = tmp_path / "registry.csv"
    _write(source, people, delimiter, extra_rows=bad)
    runner = app_context.test_cli_runner()

    result = runner.invoke(args=["registry", "import", str(source), "--batch-size", "100"])
    assert result.exit_code == 1, result.output
    assert "rows 303: created 300, updated 0, unchanged 0, failed 3" in result.output
    report = list(csv.reader((tmp_path / "registry.csv.errors.csv").open(encoding="utf-8"), delimiter=";"))
    assert report[0] == ["line", "field", "message"]
    lines = {int(row[0]) for row in report[1:]}
    assert lines == {302, 303, 304}
    assert any(row[1] == "snils" and "контрольн" in row[2].lower() for row in report[1:])
    assert any(row[1] == "first_name" for row in report[1:])
    assert any(row[1] == "birth_date" for row in report[1:])
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 300

    _write(source, people, delimiter)
    again = runner.invoke(args=["registry", "import", str(source)])
    assert again.exit_code == 0, again.output
    assert "created 0, updated 0, unchanged 300, failed 0" in again.output
    assert not (tmp_path / "registry.csv.errors.csv").exists()
    stored = db.session.scalar(sa.select(Patient).where(Patient.snils == people[5]["snils"]))
    assert (stored.last_name, stored.birth_date, stored.passport) == (
        people[5]["last_name"], people[5]["birth_date"], people[5]["passport"],
    )
    assert stored.source == "csv:registry.csv"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "registry.imported")) == 2


def test_csv_with_russian_headers_bom_and_russian_dates(app_context, tmp_path):
    source = tmp_path / "мис.csv"
    source.write_text(
        "\ufeffФамилия;Имя;Отчество;Дата рождения;Пол;СНИЛС;Полис ОМС\n"
        "Фёдорова;Анна;Ивановна;05.03.1990;ж;112-233-445 95;\n",
        encoding="utf-8",
    )
    result = app_context.test_cli_runner().invoke(args=["registry", "import", str(source)])
    assert result.exit_code == 0, result.output
    patient = db.session.scalar(sa.select(Patient))
    assert (patient.last_name_norm, patient.sex, patient.snils, str(patient.birth_date)) == (
        "федорова", "female", "11223344595", "1990-03-05",
    )


def test_csv_with_an_unknown_column_is_refused_whole(app_context, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("last_name;first_name;birth_date;sex;snils;diagnosis\n", encoding="utf-8")
    result = app_context.test_cli_runner().invoke(args=["registry", "import", str(source)])
    assert result.exit_code != 0 and "unknown column 'diagnosis'" in result.output


def test_api_token_is_printed_once_and_stored_as_a_hash(app_context, factory, client):
    organisation = factory.organisation()
    runner = app_context.test_cli_runner()
    result = runner.invoke(
        args=["api-token", "create", "--name", "МИС поликлиники", "--organisation-id", str(organisation.id),
              "--scopes", "registry:read,consultations:read"]
    )
    assert result.exit_code == 0, result.output
    value = result.stdout.strip().splitlines()[-1]
    token = db.session.scalar(sa.select(ApiToken))
    assert token.token_hash == ApiToken.hash(value) and value not in token.token_hash
    assert token.scopes == "registry:read consultations:read"
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/profiles", headers=headers).status_code == 200

    assert runner.invoke(args=["api-token", "revoke", str(token.id)]).exit_code == 0
    assert client.get("/api/v1/profiles", headers=headers).status_code == 401
    bad_scope = runner.invoke(
        args=["api-token", "create", "--name", "x", "--organisation-id", str(organisation.id), "--scopes", "admin"]
    )
    assert bad_scope.exit_code != 0 and "unknown scopes" in bad_scope.output
