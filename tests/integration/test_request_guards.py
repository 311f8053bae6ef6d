"""What every request gets checked for before a view runs, and how numbers and dates from
clients are read (core.params): the behaviour a user notices, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Patient
from core.testing import login_session
from tests.api.conftest import api_for, error_of, is_russian, make_token  # noqa: F401 (fixtures)
from tests.registry.test_import_api import person

NUL = "Запрос содержит недопустимый символ (NUL)"


@pytest.fixture
def doctor(factory):
    return factory.doctor(login="doctor")


@pytest.fixture
def browser(app, doctor):
    client = app.test_client()
    login_session(client, doctor)
    client.csrf_token("/workplace/")
    return client


# --------------------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/workplace/applications?q=Ив%00анов"),
        lambda c: c.get("/workplace/applications?q%00=x"),
        lambda c: c.post_form("/workplace/new/type", {"q": "a\x00b"}),
        lambda c: c.post_form("/conclusion-upload/1", {"document": (io.BytesIO(b"%PDF"), "скан\x00.pdf")}),
        lambda c: c.get("/workplace/schedule/templates/1%00"),
    ],
    ids=["query value", "query name", "form value", "file name", "path"],
)
def test_a_nul_byte_anywhere_is_a_400_page_in_russian(browser, send):
    response = send(browser)
    assert response.status_code == 400
    assert NUL in response.get_data(as_text=True)


def test_a_nul_byte_in_json_names_the_record_and_field(factory, api_for):
    api = api_for(factory.organisation())
    batch = {"patients": [person(1), person(2, last_name="Смир\x00нова"), person(3, email="x\x00@example.ru")]}
    response = api.post("/api/v1/registry/import", batch)
    assert response.status_code == 400
    error = error_of(response)
    assert error["message"].startswith(NUL)
    assert set(error["fields"]["patients"]) == {"1", "2"}
    assert is_russian(error["fields"]["patients"]["1"]["last_name"][0])
    assert "email" in error["fields"]["patients"]["2"]
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 0  # the batch is all or nothing


def test_a_csv_row_with_a_nul_byte_is_a_row_error_and_the_others_load(app_context, tmp_path):
    from tests.registry.test_import_cli import COLUMNS, _write

    good, bad = person(1), person(2, first_name="Ма\x00рия")
    source = tmp_path / "registry.csv"
    _write(source, [good, bad])
    result = app_context.test_cli_runner().invoke(args=["registry", "import", str(source)])
    assert "created 1, updated 0, unchanged 0, failed 1" in result.output, result.output
    report = list(csv.reader((tmp_path / "registry.csv.errors.csv").open(encoding="utf-8"), delimiter=";"))
    assert report[1][:2] == ["3", "first_name"] and "NUL" in report[1][2]
    assert db.session.scalar(sa.select(Patient.last_name)) == good["last_name"]
    assert COLUMNS[0] == "last_name"


# --------------------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "Тело запроса должно быть JSON-объектом"),
        ('{"login": ', "Тело запроса не является корректным JSON"),
        ("[" * 5000 + "]" * 5000, "Тело запроса не является корректным JSON"),
        ('{"a": ' * 40 + "1" + "}" * 40, "В теле запроса слишком глубокая вложенность (больше 32 уровней)"),
    ],
    ids=["array", "malformed", "past the parser", "too deep"],
)
def test_a_json_body_must_be_an_object(client, body, message):
    token = client.csrf_token()
    response = client.post("/login", data=body, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_html_forms_do_not_read_json_bodies(client):
    """Flask-WTF would take {"login": 5} as the form: a number where the field wants text."""
    response = client.post("/login", json={"login": 5, "password": ["x"], "csrf_token": client.csrf_token()})
    assert response.status_code == 400  # no form field, so no CSRF token either
    assert "Форма устарела" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- numbers and dates


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "9" * 23, "%C2%B2", "%D9%A3"])
def test_an_id_in_the_url_past_any_row_or_not_ascii_is_not_found(browser, factory, api_for, number):
    for url in (f"/workplace/applications/{number}", f"/chat/{number}", f"/workplace/schedule/templates/{number}"):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "Страница не найдена" in response.get_data(as_text=True)
    api = api_for(factory.organisation())
    response = api.get(f"/api/v1/consultations/{number}")
    assert response.status_code == 404
    assert is_russian(error_of(response)["message"])


def test_an_id_in_the_url_still_finds_its_row(browser, factory, doctor):
    consultation = factory.consultation(author=doctor)
    assert browser.get(f"/workplace/applications/{consultation.id}").status_code == 200


@pytest.mark.parametrize("value", ["²", "٣", "2147483648", "9" * 25, "-1", "1_0", " 1", "ТМК-" + "9" * 25])
def test_lists_take_any_page_search_and_organisation(browser, factory, doctor, value):
    consultation = factory.consultation(author=doctor)
    for url in ("/workplace/applications", "/workplace/inbox", "/workplace/outbox", "/workplace/users", "/workplace/documents"):
        response = browser.get(url, query_string={"page": value, "q": value, "organisation": value})
        assert response.status_code == 200, (url, value)
    if value.strip() == str(consultation.id):
        return  # the search strips what is typed
    # nothing is found by a number that cannot be an application's
    assert consultation.number not in browser.get("/workplace/applications", query_string={"q": value}).get_data(as_text=True)
    assert consultation.number in browser.get("/workplace/applications", query_string={"q": str(consultation.id)}).get_data(as_text=True)


@pytest.mark.parametrize("week", ["0001-01-01", "9999-12-31", "٢٠٢٥-٠١-٠١", "2025-13-01"])
def test_a_week_no_calendar_holds_shows_this_week(browser, week):
    response = browser.get("/workplace/schedule", query_string={"week": week})
    assert response.status_code == 200
    assert _shown_week(response) == _shown_week(browser.get("/workplace/schedule"))


def _shown_week(response) -> str:
    return re.search(r"<strong>(\d\d\.\d\d\.\d{4} — \d\d\.\d\d\.\d{4})</strong>", response.get_data(as_text=True)).group(1)


def test_a_template_valid_from_year_one_is_refused_in_russian(browser):
    response = browser.post_form("/workplace/schedule/templates/new", {
        "name": "Старый", "weekdays": "1", "start_time": "09:00", "end_time": "12:00", "slot_minutes": "20",
        "valid_from": "0001-01-01",
    })
    assert response.status_code == 422
    assert "Укажите дату «Действует с»" in response.get_data(as_text=True)


@pytest.mark.parametrize("days", ["²", "9" * 25, "0", "93", "-1"])
def test_slot_generation_wants_a_number_of_days_in_range(browser, factory, doctor, days):
    from datetime import time

    from core.models import ScheduleTemplate

    template = factory.commit(ScheduleTemplate(
        doctor_id=doctor.id, name="Основной", weekdays=[1, 2, 3, 4, 5], start_time=time(9), end_time=time(12),
        slot_minutes=20, breaks=[], valid_from=date.today(),
    ))
    response = browser.post_form(f"/workplace/schedule/templates/{template.id}/generate", {"days": days})
    assert response.status_code == 422
    assert "Укажите число дней от 1 до 92" in response.get_data(as_text=True)


def test_too_many_files_at_once_is_not_called_too_big(client, factory):
    """Werkzeug refuses more than ``MAX_FORM_PARTS`` parts with a 413 like an oversized
    body; the message must say what is wrong (issue 12)."""
    import io

    client.application.config["MAX_FORM_PARTS"] = 10
    files = {f"file{i}": (io.BytesIO(b"x"), f"{i}.png") for i in range(20)}
    response = client.post("/login", data=files, content_type="multipart/form-data",
                           headers={"Accept": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["message"].startswith("Слишком много файлов")
