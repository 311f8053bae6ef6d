"""Fixtures for the operator console tests: people of each kind and a browser-like form."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from core.db import db
from core.testing import PASSWORD, Factory, login_session


class Form:
    """The fields of a form as a page renders them, submitted the way a browser would."""

    def __init__(self, action: str | None) -> None:
        self.action = action
        self.fields: list[tuple[str, str]] = []
        self.names: list[str] = []

    def values(self, **overrides) -> dict:
        data: dict[str, list[str]] = {}
        for name, value in self.fields:
            data.setdefault(name, []).append(value)
        for name, value in overrides.items():
            if value is None:
                data.pop(name, None)
            elif isinstance(value, list | tuple):
                data[name] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[name] = ["y"]
                else:
                    data.pop(name, None)
            else:
                data[name] = [str(value)]
        return data


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, bool] | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action"))
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        if tag == "input" and a.get("name"):
            form.names.append(a["name"])
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            form.fields.append((a["name"], a.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            form.names.append(a["name"])
            self._select = (a["name"], "multiple" in a)
            self._select_first, self._select_chosen = None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                form.fields.append((self._select[0], value))
                self._select_chosen = True
        elif tag == "textarea" and a.get("name"):
            form.names.append(a["name"])
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            name, multiple = self._select
            if not multiple and not self._select_chosen and self._select_first is not None:
                self._form.fields.append((name, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._form.fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def submit(client, url: str, form_index: int = 0, follow_redirects: bool = False, **overrides):
    """GET ``url``, fill its form like a browser (the page's own CSRF token) and POST it."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    forms = [f for f in forms_of(page.get_data(as_text=True)) if f.action != "/logout"]
    form = forms[form_index]
    assert form.names.count("csrf_token") == 1, "exactly one CSRF token per form"
    action = form.action or url
    return client.post(action, data=form.values(**overrides), follow_redirects=follow_redirects)


@pytest.fixture
def people(app, factory):
    """An operator, a doctor and a patient's portal account, with an organisation each."""
    from core.models import PortalAccount

    org = factory.organisation("Поликлиника № 1")
    operator = factory.user(("operator",), org, login="operator", last_name="Операторова")
    doctor = factory.doctor(org, login="doctor")
    account = PortalAccount(identity_provider="esia", external_id="1000", trust_level="confirmed", last_name="Пациентов", first_name="Пётр")
    db.session.add(account)
    db.session.flush()
    patient = factory.patient(org)
    patient.portal_account_id = account.id
    db.session.commit()
    return {"organisation": org, "operator": operator, "doctor": doctor, "account": account, "patient": patient}


@pytest.fixture
def operator_client(app, people):
    client = app.test_client()
    response = client.login("operator", PASSWORD)
    assert response.status_code == 302
    return client


@pytest.fixture
def doctor_client(app, people):
    client = app.test_client()
    login_session(client, people["doctor"])
    return client


@pytest.fixture
def patient_client(app, people):
    client = app.test_client()
    login_session(client, people["account"])
    return client


__all__ = ["Factory", "forms_of", "submit"]
