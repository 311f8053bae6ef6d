"""E-mail over SMTP with STARTTLS and a login, against a local server started by the test
(SPEC F3: the production transport)."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.smtp import AuthResult

from core.testing import Factory, in_ci
from plugins.notifications.models import NotificationStatus as S
from tests.notifications.helpers import notifications, text_of
from tests.notifications.services import SmtpServer


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        if in_ci():
            pytest.fail("the openssl command is needed to make a test certificate")
        pytest.skip("no openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_smtp(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"s3cret")
        logins.append((auth_data.login.decode(), ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    server = SmtpServer(
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
        # aiosmtpd's LOGIN does not take smtplib's initial response; PLAIN is enough here.
        auth_exclude_mechanism=["LOGIN"],
    ).start()
    server.logins = logins
    server.cert = cert
    yield server
    server.stop()


def smtp_app(make_app, server, password="s3cret"):
    return make_app(
        plugins=["notifications"],
        config={
            "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": server.port,
            "NOTIFICATIONS_SMTP_SECURITY": "starttls",
            "NOTIFICATIONS_SMTP_USERNAME": "mailer",
            "NOTIFICATIONS_SMTP_PASSWORD": password,
            "NOTIFICATIONS_SMTP_CA_FILE": str(server.cert),
            "NOTIFICATIONS_SMTP_TIMEOUT": 10,
            "NOTIFICATIONS_CHANNELS": ["email"],
        },
    )


def test_mail_goes_over_starttls_with_a_login(make_app, tls_smtp):
    app = smtp_app(make_app, tls_smtp)
    with app.app_context():
        Factory(app).consultation(email="ivanova@example.ru", comment="Натощак")
        [mail] = tls_smtp.handler.messages("ivanova@example.ru")
        assert "Комментарий врача: Натощак" in text_of(mail)
        assert tls_smtp.logins == [("mailer", True, True)]  # the password only went over TLS
        assert notifications(event="registered")[0].status == S.SENT


def test_a_wrong_password_is_retried_and_shown(make_app, tls_smtp):
    app = smtp_app(make_app, tls_smtp, password="wrong")
    with app.app_context():
        Factory(app).consultation(email="ivanova@example.ru")
        [row] = notifications(event="registered")
        assert row.status == S.PENDING and row.attempts == 1
        assert row.last_error.startswith("TemporaryFailure: 535")
        assert tls_smtp.handler.messages() == []


def test_a_connection_lost_after_the_server_accepted_is_not_a_failure(make_app, monkeypatch):
    """Once the server said 250, losing it at QUIT must not lead to a second copy."""
    import smtplib

    server = SmtpServer().start()
    try:
        app = make_app(
            plugins=["notifications"],
            config={
                "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
                "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                "NOTIFICATIONS_SMTP_PORT": server.port,
                "NOTIFICATIONS_SMTP_SECURITY": "none",
                "NOTIFICATIONS_CHANNELS": ["email"],
            },
        )

        def vanish(self):
            self.close()
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

        monkeypatch.setattr(smtplib.SMTP, "quit", vanish)
        with app.app_context():
            Factory(app).consultation(email="ivanova@example.ru")
            [row] = notifications(event="registered")
            assert (row.status, row.attempts) == (S.SENT, 1)
            assert len(server.handler.messages("ivanova@example.ru")) == 1
    finally:
        server.stop()


def test_a_worker_whose_lease_ran_short_does_not_start_the_transfer():
    """A slow worker must not hand over a message that another worker may be sending."""
    from datetime import timedelta

    from core.db import utcnow
    from plugins.notifications.channels import EmailChannel, OutgoingMessage, TemporaryFailure

    server = SmtpServer().start()
    try:
        settings = {
            "DATA_DIR": "/nonexistent",
            "NOTIFICATIONS_MAIL_FROM": "noreply@teleconsult.local",
            "NOTIFICATIONS_MAIL_FROM_NAME": "Дистанционные консультации",
            "NOTIFICATIONS_MESSAGE_ID_DOMAIN": "",
            "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
            "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMTP_PORT": server.port,
            "NOTIFICATIONS_SMTP_SECURITY": "none",
            "NOTIFICATIONS_SMTP_USERNAME": "",
            "NOTIFICATIONS_SMTP_PASSWORD": "",
            "NOTIFICATIONS_SMTP_TIMEOUT": 5,
        }
        channel = EmailChannel(settings)
        message = OutgoingMessage(
            key="registered:1:email", recipient="ivanova@example.ru", subject="Тема", text="Текст",
            deadline=utcnow() - timedelta(seconds=1),
        )
        with pytest.raises(TemporaryFailure, match="lease"):
            channel.deliver(message)
        assert server.handler.attempts == {}  # DATA never began
        channel.deliver(OutgoingMessage(**{**message.__dict__, "deadline": utcnow() + timedelta(seconds=30)}))
        [mail] = server.handler.messages("ivanova@example.ru")
        assert text_of(mail).strip() == "Текст"
    finally:
        server.stop()
