"""Staff login and logout (SPEC D1) and the Flask-Login wiring for staff and patients.

Patients log in through an identity provider's plugin (built in: ESIA), which calls
``login_account``; a portal page answering 401 leads to the login that plugin offers
(``teleconsult_register_login_options``), or here without one.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import audit, params, sessions
from core.access import ANONYMOUS, current_principal, principal_for_account, principal_for_user
from core.db import db, increment, utcnow
from core.forms import Form
from core.models import PortalAccount, User

blueprint = Blueprint("auth", __name__)

# Compared against when the login does not exist, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("no such user")


class LoginForm(Form):
    login = StringField(_l("Логин"), validators=[DataRequired(_l("Введите логин")), Length(max=100)])
    password = PasswordField(
        _l("Пароль"), validators=[DataRequired(_l("Введите пароль")), Length(max=200)]
    )


class LogoutForm(Form):
    pass


def init_login(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "auth.login"
    manager.login_message = _l("Войдите в систему, чтобы продолжить")
    manager.session_protection = "strong"

    @manager.user_loader
    def _load(user_id: str):
        kind, _, raw_id = user_id.partition(":")
        if kind == "staff":
            # The roles in the same query: every workplace request needs them for its principal.
            user_id = params.to_id(raw_id)
            user = db.session.get(User, user_id, options=[joinedload(User.roles)]) if user_id is not None else None
            if user is None or not user.is_active or not sessions.account_for_request("staff", user.id):
                return None
            return user
        if kind == "patient":
            account = params.row(PortalAccount, raw_id)
            return account if account is not None and sessions.account_for_request("patient", account.id) else None
        return None


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: no open redirect through ``?next=``."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_session(user) -> None:
    # A fresh session on every login: nothing from before survives (session fixation).
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    sessions.start(user)  # the cookie carries the id of the server-side session
    session.permanent = True


def login_account(account: PortalAccount) -> None:
    """Start a patient session (used by an identity provider's plugin after a verified login)."""
    account.last_login_at = utcnow()
    _start_session(account)
    audit.record("auth.login", account, principal=principal_for_account(account))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user, error = _authenticate(form.login.data.strip(), form.password.data)
        if user is not None:
            _start_session(user)
            audit.record("auth.login", user, principal=principal_for_user(user))
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("home"))
        db.session.commit()  # the failure counter and its audit event
    status = 200 if error is None and not form.errors else 401 if error else 422
    return render_template("auth/login.html", form=form, error=error), status


# One answer for every refusal: an unknown login, a wrong password, a locked or disabled
# account. A distinct "locked" message would tell a stranger which logins exist (lock one
# by guessing, then see the message change).
LOGIN_REFUSED = _l(
    "Неверный логин или пароль. После нескольких неудачных попыток вход временно "
    "блокируется: попробуйте позже или обратитесь к администратору."
)


def _authenticate(login: str, password: str):
    """Return ``(user, None)`` or ``(None, message)``; counts failures and locks (SPEC D1)."""
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.login) == login.lower()))
    now = utcnow()
    if user is None:
        # The same work as a wrong password: one hash of the same cost, one audit event
        # (the typed login is not kept: it may be someone's password or SNILS).
        check_password_hash(_DUMMY_HASH, password)
        audit.record("auth.login_failed", principal=ANONYMOUS, object_type="users", data={"unknown_login": True})
        return None, LOGIN_REFUSED
    password_ok = user.check_password(password)
    if user.locked_until is not None and user.locked_until > now:
        audit.record("auth.login_refused_locked", user, principal=principal_for_user(user))
        return None, LOGIN_REFUSED
    if not password_ok or not user.is_active:
        _count_failure(user, now)
        return None, LOGIN_REFUSED
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user, None


def _count_failure(user: User, now) -> None:
    """Add one failure in the database itself: concurrent wrong guesses all count."""
    maximum = current_app.config["LOGIN_MAX_FAILURES"]
    failures = increment(User.failed_logins, user.id)
    data = {"failed_logins": failures}
    if failures >= maximum:
        until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        # Of concurrent requests that reached the maximum, one locks and resets.
        locked = db.session.execute(
            sa.update(User)
            .where(User.id == user.id, User.failed_logins >= maximum)
            .values(failed_logins=0, locked_until=until)
            .execution_options(synchronize_session=False)
        ).rowcount
        if locked:
            data["locked_until"] = until.isoformat()
            audit.record("auth.locked", user, principal=principal_for_user(user), data=data)
            return
    audit.record("auth.login_failed", user, principal=principal_for_user(user), data=data)


@blueprint.route("/logout", methods=["POST"])
def logout():
    from core.plugins import hooks

    form = LogoutForm()
    principal = current_principal()
    portal = principal.is_patient
    onward = None
    if form.validate_on_submit() and principal.is_authenticated:
        onward = hooks().teleconsult_register_logout_url(principal=principal)  # before the session is gone
        audit.record("auth.logout", principal=principal, object_type=principal.kind, object_id=principal.id)
        # Every session of the account ends: a copy of any of its cookies opens nothing.
        sessions.end_account("staff" if principal.is_staff else "patient", principal.id, "logout")
        db.session.commit()
        logout_user()
        session.clear()
        sessions.new_csrf_token()
    if onward:
        return redirect(onward)
    if portal and "portal.index" in current_app.view_functions:
        return redirect(url_for("portal.index"))
    return redirect(url_for("auth.login"))
