"""Patient login through ESIA against the development identity provider (SPEC P1)."""

from __future__ import annotations

import uuid

import pytest

from core.settings import SettingsError
from tests.portal.conftest import PARENT, SIMPLIFIED, STANDARD, UNKNOWN, authorize, login, query


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


def test_simplified_account_is_refused_with_an_upgrade_link(browser, registry):
    """P1: «Упрощённая» gets a clear Russian explanation and a link to Госуслуги; no session."""
    response = login(browser, SIMPLIFIED)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "«Упрощённая»" in page and "«Стандартная» или «Подтверждённая»" in page
    assert 'href="https://lk.gosuslugi.ru/profile/personal"' in page
    assert registry.account(SIMPLIFIED) is None
    assert browser.get("/portal/").status_code == 302  # still not logged in: back to login


def test_person_not_in_registry_sees_a_clear_page(browser, registry):
    response = login(browser, UNKNOWN)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Вы не найдены в регистре пациентов" in page and "регистратуру" in page
    assert registry.account(UNKNOWN) is None


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
    browser.logout()
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
    from tests.portal.conftest import hidden_fields
    from urllib.parse import urlsplit

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
    }
    with pytest.raises(SettingsError, match="ESIA_DEV_IDP"):
        create_app({**settings, "ESIA_DEV_IDP": True}, environment="production")
    with pytest.raises(SettingsError, match="ESIA_SIGNER"):
        create_app({**settings, "ESIA_SIGNER": "plugins.esia.signing:DevelopmentSigner"}, environment="production")
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
