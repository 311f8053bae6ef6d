"""Patient login through ESIA against the development identity provider (SPEC P1)."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from core.settings import SettingsError
from tests.portal.conftest import (
    PARENT, PENDING, SIMPLIFIED, STANDARD, UNKNOWN, authorize, hidden_fields, login, logout, query,
)


def test_standard_account_gets_in_and_is_linked_to_the_registry_by_snils(browser, registry):
    """P1: a «Стандартная» account logs in; the first login links the registry record."""
    response = login(browser, STANDARD)
    assert response.status_code == 302 and response.location.endswith("/portal/")
    page = browser.get("/portal/").get_data(as_text=True)
    assert "Смирнова Ольга Викторовна" in page
    assert "Чат с врачом" in page and "Управление доступом" in page
    account = registry.account(STANDARD)
    assert account.trust_level == "standard"
    assert account.patient.id == registry.patients[STANDARD].id
    assert account.email == "smirnova.olga@example.ru"


PENDING_NOTE = "Данные вашего паспорта ещё проверяются"


@pytest.mark.parametrize(("oid", "pending"), [(SIMPLIFIED, False), (PENDING, True)])
def test_an_account_below_standard_is_refused_with_an_upgrade_link(browser, registry, oid, pending):
    """P1: «Упрощённая» gets a clear Russian explanation and a link to Госуслуги; no session.
    SNILS and an identity document are not enough while ESIA is still checking the document."""
    response = login(browser, oid)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "«Упрощённая»" in page and "«Стандартная» или «Подтверждённая»" in page
    assert (PENDING_NOTE in page) is pending
    assert 'href="https://lk.gosuslugi.ru/profile/personal"' in page
    assert registry.account(oid) is None
    assert browser.get("/portal/").status_code == 302  # still not logged in: back to login
    # «Войти другой учётной записью» ends the ESIA session first, so ESIA asks who it is.
    again = html.unescape(re.search(r'id="esia-again" href="([^"]+)"', page).group(1))
    assert urlsplit(again).path == "/esia-dev/idp/ext/Logout"
    assert browser.get(again).location == "http://localhost/esia/login"
    assert login(browser, STANDARD).status_code == 302


def test_person_not_in_registry_sees_a_clear_page(browser, registry):
    response = login(browser, UNKNOWN)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Вы не найдены в регистре пациентов" in page and "регистратуру" in page
    assert registry.account(UNKNOWN) is None


@pytest.mark.parametrize(
    ("person", "document", "level"),
    [
        ({"trusted": True}, None, "confirmed"),
        ({"trusted": "true", "snils": "000-000-600 01"}, None, "confirmed"),  # older schemas: a string
        ({"trusted": False, "snils": "000-000-600 01", "rIdDoc": 35001}, {"vrfStu": "VERIFIED"}, "standard"),
        ({"trusted": "false", "snils": "000-000-600 01", "rIdDoc": 35001}, {"vrfStu": "VERIFYING"}, "simplified"),
        ({"trusted": False, "snils": "000-000-600 01", "rIdDoc": 35001}, {"vrfStu": "NOT_VERIFIED"}, "simplified"),
        ({"trusted": False, "snils": "000-000-600 01", "rIdDoc": 35001}, None, "simplified"),
        ({"trusted": False, "rIdDoc": 35001}, {"vrfStu": "VERIFIED"}, "simplified"),  # no SNILS
    ],
)
def test_the_account_level_follows_esia_fields(person, document, level):
    from plugins.esia.client import trust_level

    assert trust_level(person, document) == level


def test_an_id_token_issued_to_another_system_is_refused(browser, registry, monkeypatch):
    """``aud`` must name this system; an ``azp`` naming it does not make up for that."""
    from plugins.esia import devidp

    encode = devidp.jwt.encode

    def for_another_system(header, claims, key):
        return encode(header, {**claims, "aud": "OTHER", "azp": claims["aud"]}, key)

    monkeypatch.setattr(devidp.jwt, "encode", for_another_system)
    response = login(browser, STANDARD)
    assert response.status_code == 400
    assert "Не удалось подтвердить вход" in response.get_data(as_text=True)
    assert registry.account(STANDARD) is None
    assert browser.get("/portal/").status_code == 302

    monkeypatch.setattr(devidp.jwt, "encode", encode)  # the same login with a right token gets in
    fresh = browser.application.test_client()
    assert login(fresh, STANDARD).status_code == 302
    assert fresh.get("/portal/").status_code == 200


def test_confirmed_parent_sees_the_child_esia_lists(browser, registry):
    """ESIA's children (kid_* scopes) become wards when the registry knows them by SNILS."""
    registry.db.session.delete(registry.parent_child)
    registry.db.session.commit()
    assert login(browser, PARENT).status_code == 302
    account = registry.account(PARENT)
    assert account.trust_level == "confirmed"
    from core.access import principal_for_account

    ids = principal_for_account(account).patient_ids
    assert registry.patients[PARENT + ":child"].id in ids


def test_portal_pages_send_an_anonymous_visitor_to_the_login_page(browser, registry):
    response = browser.get("/portal/chats")
    assert response.status_code == 302 and "/esia/login" in response.location
    landing = browser.get(response.location).get_data(as_text=True)
    assert "Войти через Госуслуги" in landing
    # After login the patient lands where they were going.
    callback = authorize(browser, start_url="/esia/start?next=/portal/chats", oid=STANDARD)
    assert browser.get(callback).location.endswith("/portal/chats")


def test_the_authorization_request_is_signed_and_carries_esia_parameters(browser, registry):
    location = browser.get("/esia/start").location
    params = query(location)
    uuid.UUID(params["state"])  # ESIA wants a UUID
    assert params["response_type"] == "code" and params["access_type"] == "online"
    assert set("openid fullname birthdate snils contacts kid_fullname kid_birthdate kid_snils".split()) <= set(
        params["scope"].split()
    )
    assert params["client_secret"] and params["client_certificate_hash"] and params["timestamp"] and params["nonce"]
    tampered = location.replace("scope=openid", "scope=openid+id_doc")
    assert browser.get(tampered).status_code == 400  # the signature no longer matches


def test_a_callback_with_a_wrong_state_is_refused(browser, registry):
    callback = authorize(browser, oid=STANDARD)
    forged = callback.replace(query(callback)["state"], str(uuid.uuid4()))
    response = browser.get(forged)
    assert response.status_code == 400
    assert "Не удалось подтвердить вход" in response.get_data(as_text=True)
    assert browser.get("/portal/").status_code == 302


def test_a_replayed_callback_is_refused(browser, registry):
    callback = authorize(browser, oid=STANDARD)
    assert browser.get(callback).status_code == 302
    browser.logout()
    assert browser.get(callback).status_code == 400  # its state was used up
    assert browser.get("/portal/").status_code == 302


def test_a_code_works_only_once(browser, registry):
    callback = authorize(browser, oid=STANDARD)
    code = query(callback)["code"]
    assert browser.get(callback).status_code == 302
    logout(browser)
    # A new login attempt (a fresh, valid state) carrying the old code.
    fresh = authorize(browser, oid=STANDARD)
    replay = fresh.replace(query(fresh)["code"], code)
    assert browser.get(replay).status_code == 400
    assert browser.get("/portal/").status_code == 302


def test_an_id_token_with_another_nonce_is_refused(browser, registry):
    callback = authorize(browser, oid=STANDARD)
    with browser.session_transaction() as session:
        key = next(k for k in session if k.startswith("_state_esia_"))
        data = dict(session[key])
        data["data"] = dict(data["data"], nonce="another-login-request")
        session[key] = data
    response = browser.get(callback)
    assert response.status_code == 400
    assert browser.get("/portal/").status_code == 302


def test_cancel_on_the_esia_page_returns_with_a_message(browser, registry):
    location = browser.get("/esia/start").location
    fields = hidden_fields(browser.get(location).get_data(as_text=True))
    fields["action"] = "cancel"
    back = browser.post(urlsplit(location).path, data=fields).location
    response = browser.get(back)
    assert response.status_code == 200 and "Вы отменили вход" in response.get_data(as_text=True)


def test_staff_cannot_use_the_patient_login(browser, registry, factory):
    from core.testing import login_session

    login_session(browser, factory.doctor())
    assert browser.get("/esia/start").status_code == 403


def test_production_refuses_to_start_with_the_development_idp(tmp_path):
    """P1: the development IdP is impossible in production settings."""
    from core.app import create_app

    settings = {
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "ESIA_URL": "https://esia.gosuslugi.ru",
        "ESIA_SIGNER": "tests.portal.test_esia_login:GostSignerStub",
        "ESIA_JWKS_URL": "https://esia.example/jwks",
        # What other plugins need in production, so only the IdP decides the outcome.
        "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    with pytest.raises(SettingsError, match="ESIA_DEV_IDP"):
        create_app({**settings, "ESIA_DEV_IDP": True}, environment="production")
    with pytest.raises(SettingsError, match="ESIA_SIGNER"):
        create_app({**settings, "ESIA_SIGNER": "plugins.esia.signing:DevelopmentSigner"}, environment="production")
    # Without id_doc no account could be told «Стандартная».
    with pytest.raises(SettingsError, match="ESIA_SCOPES must include id_doc"):
        create_app({**settings, "ESIA_SCOPES": "openid fullname birthdate snils contacts"}, environment="production")
    app = create_app(settings, environment="production")
    assert "esia_dev.authorize" not in app.view_functions
    assert "esia.callback" in app.view_functions


class GostSignerStub:
    """Stands for a deployment's GOST signer (``ESIA_SIGNER``)."""

    certificate_hash = "0" * 64

    def __init__(self, settings):
        pass

    def sign(self, data: bytes) -> bytes:
        return b"signature"


def test_the_login_page_speaks_english_too(browser, registry):
    page = browser.get("/esia/login?lang=en").get_data(as_text=True)
    assert "Sign in with Gosuslugi" in page and "Standard or Confirmed" in page


# --------------------------------------------------------------------------- wards follow ESIA


def esia_lists(monkeypatch, oid, children):
    """From now on the development IdP lists ``children`` for ``oid``."""
    from dataclasses import replace

    from plugins.esia import devidp

    persons = tuple(replace(p, children=children) if p.external_id == oid else p for p in devidp.PORTAL_PERSONS)
    monkeypatch.setattr(devidp, "PORTAL_PERSONS", persons)


def test_wards_follow_the_children_esia_lists_at_each_login(app, registry, factory, monkeypatch):
    import sqlalchemy as sa

    from core.db import db
    from core.models import AuditEvent
    from plugins.guardian.models import Guardianship
    from tests.portal.conftest import accept_consent, enter, person

    child = registry.patients[PARENT + ":child"]
    parent = registry.patients[PARENT]
    doctor = factory.doctor(organisation=registry.organisation, specialty="педиатр")
    consultation = factory.consultation(
        author=doctor, consultant=doctor, patient=child, representative_id=parent.id, type_code="remote_representative"
    )
    first = app.test_client()
    enter(first, PARENT)
    accept_consent(first)
    assert first.get(f"/portal/chats/{consultation.id}").status_code == 200

    # ESIA no longer lists the child: the next login ends the link, and every session of
    # the parent loses the child's consultation at once.
    esia_lists(monkeypatch, PARENT, ())
    enter(app.test_client(), PARENT)
    link = db.session.scalar(sa.select(Guardianship).where(Guardianship.child_id == child.id))
    db.session.refresh(link)
    assert link.ended_at is not None
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "esia.child_unlinked"))
    assert first.get(f"/portal/chats/{consultation.id}").status_code == 404
    assert f'data-consultation="{consultation.id}"' not in first.get("/portal/chats").get_data(as_text=True)
    assert "Анна Петрова" not in first.get("/portal/requests/new").get_data(as_text=True)

    # Listed again: the same link is back in force.
    esia_lists(monkeypatch, PARENT, person(PARENT).children)
    enter(app.test_client(), PARENT)
    db.session.refresh(link)
    assert link.ended_at is None
    assert first.get(f"/portal/chats/{consultation.id}").status_code == 200

    # A child who has come of age: ESIA may still list them, the portal ends the link.
    today = date.today()
    child.birth_date = today.replace(year=today.year - 18) - timedelta(days=1)
    db.session.commit()
    enter(app.test_client(), PARENT)
    db.session.refresh(link)
    assert link.ended_at is not None
    assert first.get(f"/portal/chats/{consultation.id}").status_code == 404


def test_no_link_is_ever_granted_for_an_adult(browser, registry):
    import sqlalchemy as sa

    from core.db import db
    from plugins.guardian.models import Guardianship

    db.session.delete(registry.parent_child)
    child = registry.patients[PARENT + ":child"]
    today = date.today()
    child.birth_date = today.replace(year=today.year - 18)  # eighteen today
    db.session.commit()
    assert login(browser, PARENT).status_code == 302
    assert db.session.scalar(sa.select(Guardianship).where(Guardianship.child_id == child.id)) is None
    from core.access import principal_for_account

    assert child.id not in principal_for_account(registry.account(PARENT)).patient_ids


# --------------------------------------------------------------------------- logout (P8)


def test_logout_goes_through_esia_and_the_next_login_asks_again(app, browser, registry):

    assert login(browser, STANDARD).status_code == 302
    hops, landing = logout(browser)
    assert urlsplit(hops[0]).path == "/esia-dev/idp/ext/Logout"
    assert query(hops[0]) == {"client_id": app.config["ESIA_CLIENT_ID"], "redirect_url": "http://localhost/esia/login"}
    assert landing.status_code == 200 and "Войти через Госуслуги" in landing.get_data(as_text=True)
    assert browser.get("/portal/").status_code == 302
    page = browser.get(browser.get("/esia/start").location)
    assert page.status_code == 200 and hidden_fields(page.get_data(as_text=True))  # the person picker again


def test_without_esia_logout_the_idp_would_log_the_person_straight_back_in(browser, registry):
    """What the logout above prevents: ESIA's own session outlives the portal's."""

    assert login(browser, STANDARD).status_code == 302
    with browser.session_transaction() as session:
        session.clear()  # the portal session is over (it expired), ESIA's is not
    assert browser.get("/portal/").status_code == 302
    back = browser.get(browser.get("/esia/start").location)
    assert back.status_code == 302 and urlsplit(back.location).path == "/esia/callback"
    assert browser.get(back.location).status_code == 302
    assert "Смирнова Ольга Викторовна" in browser.get("/portal/").get_data(as_text=True)


def test_the_esia_logout_address_is_configurable_and_staff_skip_it(app, browser, registry, factory):
    from core.testing import login_session

    app.config.update(
        ESIA_LOGOUT_URL="https://esia.example/idp/ext/Logout", ESIA_LOGOUT_REDIRECT_URI="https://portal.example/esia/login"
    )
    assert login(browser, STANDARD).status_code == 302
    location = browser.logout().location
    assert location.startswith("https://esia.example/idp/ext/Logout?")
    assert query(location)["redirect_url"] == "https://portal.example/esia/login"

    staff = app.test_client()
    login_session(staff, factory.doctor())
    assert staff.logout().location.endswith("/login")
    # A patient session that did not come through ESIA has no ESIA session to end.
    patient = app.test_client()
    login_session(patient, registry.account(STANDARD))
    assert patient.logout().location.endswith("/portal/")


def test_the_development_idp_logout_refuses_foreign_addresses(browser, registry):
    assert browser.get("/esia-dev/idp/ext/Logout?client_id=OTHER&redirect_url=http://localhost/").status_code == 400
    evil = browser.get("/esia-dev/idp/ext/Logout?client_id=TELECONSULT&redirect_url=https://evil.example/")
    assert evil.status_code == 400
