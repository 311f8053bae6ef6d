"""The portal walked through HTTP against the development ESIA identity provider.

The browser is the Flask test client, following the real redirects (portal → ESIA
authorization page → callback); the server's own calls to ESIA (token, REST, keys) go
over real HTTP to the same app served on a local port, as they would to ESIA.
"""

from __future__ import annotations

import contextlib
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import request, request_finished, request_started

from core.demo import PORTAL_PERSONS
from core.testing import LiveServer

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_FORM_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

PARENT, STANDARD, SIMPLIFIED, UNKNOWN, PENDING = (p.external_id for p in PORTAL_PERSONS)


def person(oid):
    return next(p for p in PORTAL_PERSONS if p.external_id == oid)


@pytest.fixture
def app(make_app):
    """The app with every plugin, also served on a local port for the server-to-ESIA calls."""
    app = make_app()
    server = LiveServer(app).start()
    app.config["ESIA_BACKCHANNEL_URL"] = server.url + "/esia-dev"
    yield app
    server.stop()


class Registry:
    """The registry records of the demo persons (and the parent's child), by ESIA oid."""

    def __init__(self, app, factory):
        from core.db import db
        from core.models import Patient
        from plugins.guardian.models import Guardianship

        self.organisation = factory.organisation("Поликлиника № 1")
        self.patients = {}
        for p in PORTAL_PERSONS:
            if not p.in_registry:
                continue
            self.patients[p.external_id] = factory.patient(
                organisation=self.organisation, last_name=p.last_name, first_name=p.first_name,
                middle_name=p.middle_name, birth_date=p.birth_date, sex=p.sex, snils=p.snils,
                oms_policy=p.oms_policy, email=p.email, phone=p.phone,
            )
            for last, first, middle, birth, sex, snils, oms in p.children:
                child = factory.patient(
                    organisation=self.organisation, last_name=last, first_name=first, middle_name=middle,
                    birth_date=birth, sex=sex, snils=snils, oms_policy=oms,
                )
                self.patients[p.external_id + ":child"] = child
        self.parent_child = Guardianship(
            representative_id=self.patients[PARENT].id, child_id=self.patients[PARENT + ":child"].id,
            basis=Guardianship.ESIA,
        )
        db.session.add(self.parent_child)
        db.session.commit()
        self.db = db
        self.Patient = Patient

    def account(self, oid):
        from core.models import PortalAccount

        return self.db.session.scalar(sa.select(PortalAccount).where(PortalAccount.identity_provider == "esia", PortalAccount.external_id == oid))


@pytest.fixture
def registry(app, factory):
    return Registry(app, factory)


@pytest.fixture
def browser(app, factory):
    return app.test_client()


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def authorize(browser, start_url="/esia/start", oid=STANDARD):
    """Portal → ESIA's page → pick ``oid``; returns the callback URL ESIA redirects to."""
    response = browser.get(start_url)
    assert response.status_code == 302, response.status_code
    authorize_url = response.location
    assert urlsplit(authorize_url).path == "/esia-dev/aas/oauth2/v2/ac"
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = hidden_fields(page.get_data(as_text=True))
    fields["oid"] = oid
    chosen = browser.post(urlsplit(authorize_url).path, data=fields)
    assert chosen.status_code == 302
    callback = chosen.location
    assert urlsplit(callback).path == "/esia/callback"
    return callback


def login(browser, oid=STANDARD):
    """The whole ESIA login; returns the callback's response (not followed)."""
    response = browser.get(authorize(browser, oid=oid))
    browser._csrf = None
    return response


def enter(browser, oid=STANDARD):
    response = login(browser, oid)
    assert response.status_code == 302, response.get_data(as_text=True)


def accept_consent(browser):
    page = browser.get("/portal/chats").get_data(as_text=True)
    version_id = page.split('name="version_id" value="')[1].split('"')[0]
    response = browser.post_form("/portal/consent", {"version_id": version_id, "agree": "yes"})
    assert response.status_code == 302 and response.location.endswith("/portal/chats")


def logout(browser):
    """«Выйти» as a browser does it: the local logout, then ESIA's, then back to the portal."""
    response = browser.logout()
    assert response.status_code == 302
    hops = [response.location]
    while response.status_code == 302:
        response = browser.get(response.location)
        hops.append(response.location)
    return hops[:-1], response


@contextlib.contextmanager
def addresses(app):
    """Every URL the app is asked for and every address it redirects to, inside the block."""
    seen: list[str] = []

    def started(sender, **extra):
        seen.append(request.url)

    def finished(sender, response, **extra):
        if response.location:
            seen.append(response.location)

    request_started.connect(started, app)
    request_finished.connect(finished, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)
        request_finished.disconnect(finished, app)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def page_csrf(page: str) -> str:
    match = _FORM_CSRF.search(page)
    assert match, "no csrf token on the page"
    return match.group(1)
