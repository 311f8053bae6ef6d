"""Staff login and logout (SPEC D1): lockout, CSRF, secure session cookie."""

import sqlalchemy as sa

from core import hookimpl
from core.db import db
from core.models import AuditEvent, User
from core.testing import PASSWORD


def _doctor(factory, login="ivanova"):
    return factory.doctor(login=login, last_name="Иванова", first_name="Мария", middle_name="Петровна")


def test_login_page_is_russian(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Логин" in page and "Пароль" in page and "Войти" in page


def test_login_and_logout(client, factory):
    _doctor(factory)
    response = client.login("ivanova", PASSWORD)
    assert response.status_code == 302
    workplace = client.get("/workplace/")
    assert workplace.status_code == 200
    assert "Иванова Мария Петровна" in workplace.get_data(as_text=True)
    assert client.logout().status_code == 302
    assert client.get("/workplace/").status_code == 302  # back to the login page
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["auth.login", "auth.logout"]


REFUSED = "Неверный логин или пароль. После нескольких неудачных попыток вход временно блокируется"


def _refusal(response, login: str) -> str:
    """The page of a refused login, less what differs between any two requests: the CSRF
    token and the login typed, shown again in its field."""
    import re

    assert response.status_code == 401
    page = response.get_data(as_text=True).replace(f'value="{login}"', 'value=""')
    return re.sub(r'(name="csrf[-_]token"[^>]*(?:content|value)=")[^"]+', r"\1", page)


def test_wrong_password_says_nothing_about_the_login(client, factory):
    _doctor(factory)
    wrong = client.login("ivanova", "wrong")
    unknown = client.login("nobody", "wrong")
    assert REFUSED in wrong.get_data(as_text=True)
    assert _refusal(wrong, "ivanova") == _refusal(unknown, "nobody")


def test_lockout_after_repeated_failures(client, factory, app):
    user = _doctor(factory)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.login("ivanova", "wrong").status_code == 401
    response = client.login("ivanova", PASSWORD)
    assert response.status_code == 401  # locked: even the right password is refused
    db.session.refresh(user)
    assert user.locked_until is not None and user.failed_logins == 0
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"auth.login_failed", "auth.locked", "auth.login_refused_locked"} <= actions


def test_a_locked_login_is_answered_like_an_unknown_one(client, factory, app):
    """Otherwise locking a login by guessing tells whether it exists."""
    _doctor(factory)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.login("ivanova", "wrong")
    locked = client.login("ivanova", PASSWORD)
    unknown = client.login("nobody", PASSWORD)
    assert REFUSED in locked.get_data(as_text=True)
    assert _refusal(locked, "ivanova") == _refusal(unknown, "nobody")


def test_concurrent_failures_all_count(make_app):
    """Each failure is added by the database (``failed_logins = failed_logins + 1``), so
    wrong guesses sent at the same moment are not lost to each other."""
    import threading

    from core.testing import Factory

    app = make_app(config={"LOGIN_MAX_FAILURES": 100})
    with app.app_context():
        user = _doctor(Factory(app))
        user_id = user.id
    attempts = 12
    clients = [app.test_client() for _ in range(attempts)]
    for client in clients:
        client.csrf_token()
    start = threading.Barrier(attempts)
    statuses = []

    def guess(client):
        start.wait()
        statuses.append(client.post_form("/login", {"login": "ivanova", "password": "wrong"}).status_code)

    threads = [threading.Thread(target=guess, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [401] * attempts
    with app.app_context():
        assert db.session.get(User, user_id).failed_logins == attempts
        failures = db.session.scalars(sa.select(AuditEvent.data).where(AuditEvent.action == "auth.login_failed"))
        assert sorted(data["failed_logins"] for data in failures) == list(range(1, attempts + 1))


def test_lockout_ends(client, factory):
    from datetime import timedelta

    from core.db import utcnow

    user = _doctor(factory)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.login("ivanova", PASSWORD).status_code == 302


def test_login_without_csrf_token_is_refused(client, factory):
    _doctor(factory)
    response = client.post("/login", data={"login": "ivanova", "password": PASSWORD})
    assert response.status_code == 400
    assert "Обновите страницу" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_logout_needs_post_with_csrf(client, factory):
    _doctor(factory)
    client.login("ivanova", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/workplace/").status_code == 200


def test_session_cookie_flags(client, factory):
    _doctor(factory)
    response = client.login("ivanova", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    from config import production

    assert production.SESSION_COOKIE_SECURE and production.REMEMBER_COOKIE_SECURE


def test_no_open_redirect_after_login(client, factory):
    _doctor(factory)
    token = client.csrf_token()
    response = client.post(
        "/login?next=https://evil.example/", data={"login": "ivanova", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_inactive_user_cannot_log_in(client, factory):
    user = _doctor(factory)
    user.is_active = False
    db.session.commit()
    assert client.login("ivanova", PASSWORD).status_code == 401


def test_password_is_hashed(factory):
    user = _doctor(factory)
    stored = db.session.scalar(sa.select(User.password_hash).where(User.id == user.id))
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_patient_cannot_enter_the_workplace(client, app):
    from core.models import PortalAccount
    from core.testing import login_session

    with app.app_context():
        account = PortalAccount(identity_provider="esia", external_id="1", trust_level="standard", last_name="Петров", first_name="Пётр")
        db.session.add(account)
        db.session.commit()
        login_session(client, account)
    assert client.get("/workplace/").status_code == 403


def test_english_locale(client):
    assert "Sign in" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # remembered in the session


class SingleSignOut:
    """Stands for an identity-provider plugin that ends its own session on logout."""

    def __init__(self):
        self.sessions = []

    @hookimpl
    def teleconsult_register_logout_url(self, principal):
        from flask import session

        self.sessions.append(dict(session))
        return "https://idp.example/logout" if principal.is_staff else None


def test_a_plugin_sends_the_browser_through_its_own_logout(make_app):
    from core.testing import Factory

    plugin = SingleSignOut()
    app = make_app(plugins=[], extra_plugins=[("sso", plugin)])
    with app.app_context():
        Factory(app).doctor(login="ivanova")
        client = app.test_client()
        assert client.login("ivanova", PASSWORD).status_code == 302
        response = client.logout()
        assert response.location == "https://idp.example/logout"
        assert plugin.sessions[0].get("_user_id")  # asked while the session still held the login
        assert client.get("/workplace/").status_code == 302  # the local session ended all the same


class PortalIdentityProvider:
    """An identity provider's plugin that offers patients a way to log in to the portal."""

    @hookimpl
    def teleconsult_register_blueprints(self, app):
        from flask import Blueprint

        blueprint = Blueprint("idp", __name__, url_prefix="/idp")
        blueprint.add_url_rule("/login", "login", lambda: "idp login")
        return [blueprint]

    @hookimpl
    def teleconsult_register_login_options(self, area):
        from flask_babel import lazy_gettext as _l

        from core.menus import MenuItem

        return [MenuItem(_l("Войти"), "idp.login")] if area == "portal" else []


def test_the_portal_sends_an_anonymous_visitor_to_the_login_a_plugin_offers(make_app):
    """teleconsult_register_login_options: the core knows no identity provider; without
    one the portal's 401 goes to the core's login page, as it does while it is off."""
    from core.models import PluginState

    with_idp = make_app(plugins=[], extra_plugins=[("idp", PortalIdentityProvider())])
    with with_idp.app_context():
        response = with_idp.test_client().get("/portal/chats")
        assert response.status_code == 302 and response.location.startswith("/idp/login?next=")
        db.session.add(PluginState(plugin="idp", organisation_id=None, enabled=False))
        db.session.commit()
        assert with_idp.test_client().get("/portal/chats").location.startswith("/login?next=")
    bare = make_app(plugins=[])
    with bare.app_context():
        response = bare.test_client().get("/portal/chats")
        assert response.status_code == 302 and response.location.startswith("/login?next=")
