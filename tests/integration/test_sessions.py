"""Server-side sessions (SPEC D1; issue 12; OWASP ASVS 5.0 §7): a cookie copied before a
logout, a password, role or lock change, or past the idle or absolute timeout opens
nothing; staff and patients, development and production settings."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import db, utcnow
from core.models import LoginSession, Role, User
from core.testing import PASSWORD, TeleconsultClient, login_session
from tests.chat.conftest import make_account


def _doctor(factory):
    return factory.doctor(login="petrova", last_name="Петрова", first_name="Анна")


def _replay(app, cookie_value: str) -> TeleconsultClient:
    """A second client (an attacker's) holding a copy of the session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return other


def _cookie(client, app) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def _is_login_page(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(app, client, factory):
    _doctor(factory)
    assert client.login("petrova", PASSWORD).status_code == 302
    copied = _cookie(client, app)
    second_device = app.test_client()
    second_device.login("petrova", PASSWORD)
    assert _replay(app, copied).get("/workplace/").status_code == 200
    assert client.logout().status_code == 302

    replayed = _replay(app, copied).get("/workplace/")
    assert _is_login_page(replayed), replayed.status_code
    assert _is_login_page(second_device.get("/workplace/")), "logout ends every session of the account"
    ended = db.session.scalars(sa.select(LoginSession.end_reason)).all()
    assert ended == ["logout", "logout"]
    # Logging in again works as before.
    assert client.login("petrova", PASSWORD).status_code == 302
    assert client.get("/workplace/").status_code == 200


def test_a_patient_cookie_copied_before_logout_opens_nothing(app, factory):
    account = make_account(factory, factory.patient())
    client = app.test_client()
    login_session(client, account)
    copied = _cookie(client, app)
    assert _replay(app, copied).get("/portal/requests").status_code == 200
    assert client.post_form("/logout").status_code == 302
    replayed = _replay(app, copied).get("/portal/requests")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]  # the ESIA login


@pytest.mark.parametrize("change", ["password", "roles", "deactivated", "locked"])
def test_an_account_change_ends_its_sessions(app, client, factory, change):
    doctor = _doctor(factory)
    client.login("petrova", PASSWORD)
    assert client.get("/workplace/").status_code == 200
    user = db.session.get(User, doctor.id)
    if change == "password":
        user.set_password("a new password 123")
    elif change == "roles":
        user.roles.append(db.session.scalar(sa.select(Role).where(Role.code == Role.REGISTRAR)) or Role(code=Role.REGISTRAR, name="Регистратор"))
    elif change == "deactivated":
        user.is_active = False
    else:
        user.locked_until = utcnow() + timedelta(days=1)
    db.session.commit()
    assert db.session.scalar(sa.select(LoginSession.end_reason)) == change
    assert _is_login_page(client.get("/workplace/"))


def test_a_wrong_password_neither_ends_sessions_nor_a_successful_login(app, client, factory):
    _doctor(factory)
    client.login("petrova", PASSWORD)
    stranger = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        stranger.login("petrova", "wrong")
    assert client.get("/workplace/").status_code == 200, "a guesser cannot log the owner out"


@pytest.mark.parametrize("timeout", ["idle", "absolute"])
def test_idle_and_absolute_timeouts(app, client, factory, timeout):
    _doctor(factory)
    client.login("petrova", PASSWORD)
    assert client.get("/workplace/").status_code == 200
    now = utcnow()
    if timeout == "idle":
        values = {"last_seen_at": now - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=5)}
    else:
        # Used a minute ago, but begun longer ago than the absolute timeout.
        values = {"created_at": now - app.config["SESSION_ABSOLUTE_TIMEOUT"] - timedelta(seconds=5),
                  "last_seen_at": now - timedelta(minutes=1)}
    db.session.execute(sa.update(LoginSession).values(**values))
    db.session.commit()
    assert _is_login_page(client.get("/workplace/"))


def test_activity_renews_the_idle_timeout(app, client, factory):
    _doctor(factory)
    client.login("petrova", PASSWORD)
    earlier = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=2)
    db.session.execute(sa.update(LoginSession).values(last_seen_at=earlier))
    db.session.commit()
    assert client.get("/workplace/").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(LoginSession.last_seen_at)) > earlier + timedelta(minutes=1)


def test_production_settings_revoke_too(make_app):
    from config import production
    from core.testing import Factory

    settings = {name: getattr(production, name) for name in dir(production) if name.isupper()}
    # The test client speaks HTTP; tasks run in-process (no worker in this test).
    settings.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False, TASKS_BACKEND="inprocess")
    app = make_app(config=settings)
    with app.app_context():
        Factory(app).doctor(login="petrova")
        client = app.test_client()
        client.login("petrova", PASSWORD)
        copied = _cookie(client, app)
        client.logout()
        assert _is_login_page(_replay(app, copied).get("/workplace/"))


@pytest.mark.parametrize("start", ["login", "logout"])
def test_requests_beside_the_first_page_of_a_session_share_its_csrf_token(app, client, factory, start):
    """The first page after a login (or a logout) and a request running beside it (the
    previous page's favicon, a 404 page) both see the new session: the page's form must
    still be accepted when the browser keeps the other response's cookie."""
    from core.testing import _CSRF_META

    _doctor(factory)
    assert client.login("petrova", PASSWORD).status_code == 302
    if start == "logout":
        assert client.logout().status_code == 302
    fresh = _cookie(client, app)
    page = _replay(app, fresh).get("/login")
    token = _CSRF_META.search(page.get_data(as_text=True)).group(1)
    beside = _replay(app, fresh)
    assert beside.get("/favicon-of-the-previous-page.ico").status_code == 404
    # The browser keeps the cookie of whichever response came last: here the 404's.
    refused = beside.post("/login", data={"csrf_token": token, "login": "petrova", "password": PASSWORD})
    assert refused.status_code == 302, refused.get_data(as_text=True)[:300]
