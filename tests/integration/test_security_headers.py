"""Security headers of every page and API answer in production settings (issue 12):
a Content-Security-Policy with ``frame-ancestors`` and no inline script outside the
nonce, HSTS, ``Cache-Control: no-store`` for whatever a logged-in person or a machine
client gets, and the session cookie under the ``__Host-`` prefix."""

import re
from urllib.parse import quote

import pytest

from core.testing import Factory, login_session
from tests.integration.test_hostile_input import make_world

_ARGUMENT = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>")


@pytest.fixture
def production_app(make_app):
    from config import production

    settings = {name: getattr(production, name) for name in dir(production) if name.isupper()}
    settings["TASKS_BACKEND"] = "inprocess"  # no worker in this test
    return make_app(config=settings)


def _pages(app, arguments: dict | None = None) -> list[str]:
    """Every GET rule (the walk grows with the app); a rule's arguments are filled from
    ``arguments`` (the hostile-input walk's world: real ids of one organisation)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or "static" in rule.endpoint or "_test" in rule.rule:
            continue
        if not rule.arguments:
            urls.append(rule.rule)
            continue
        missing = rule.arguments - set(arguments or {})
        assert arguments is None or not missing, f"{rule.rule}: no value for {missing} in the world"
        if arguments is not None:
            urls.append(_ARGUMENT.sub(lambda m: quote(str(arguments[m.group(1)]), safe=""), rule.rule))
    return sorted(set(urls))


def _check(response, url: str, authenticated: bool) -> list[str]:
    problems = []
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    if "frame-ancestors 'self'" not in policy or "object-src 'none'" not in policy:
        problems.append(f"{url}: CSP {policy!r}")
    scripts = policy.split("script-src", 1)[1].split(";")[0]
    if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        problems.append(f"{url}: inline scripts allowed")
    nonce = re.search(r"'nonce-([^']+)'", scripts)
    if response.mimetype == "text/html":
        # Every inline script of the page (the console's included) carries this answer's nonce.
        for tag in re.findall(r"<script\b[^>]*>", response.get_data(as_text=True)):
            data_block = re.search(r'type="application/(?:ld\+)?json"', tag)  # never executed
            if "src=" not in tag and not data_block and (nonce is None or f'nonce="{nonce.group(1)}"' not in tag):
                problems.append(f"{url}: inline script without the nonce: {tag}")
    if headers.getlist("Server") != ["teleconsult"]:
        problems.append(f"{url}: Server {headers.getlist('Server')!r}")
    if not headers.get("Strict-Transport-Security", "").startswith("max-age=31536000"):
        problems.append(f"{url}: no HSTS")
    if (authenticated or url.startswith("/api/")) and headers.get("Cache-Control") != "no-store":
        problems.append(f"{url}: Cache-Control {headers.get('Cache-Control')!r}")
    if response.status_code >= 500:
        problems.append(f"{url}: {response.status_code}")
    return problems


def test_every_page_and_api_answer_has_the_security_headers(production_app):
    from core.api.auth import create_token
    from core.db import db

    app = production_app
    problems = []
    with app.app_context():
        factory = Factory(app)
        world = make_world(factory)
        doctor, operator, account = world["doctor"], world["operator"], world["account"]
        _token, token = create_token("МИС", doctor.organisation.id, ["registry:read", "consultations:read"])
        db.session.commit()
        pages = _pages(app, world["arguments"])
        assert len(pages) > 60, pages
        for who in (None, doctor, operator, account):
            client = app.test_client()
            if who is not None:
                login_session(client, who)
            for url in pages:
                problems += _check(client.get(url), url, who is not None)
        api = app.test_client()
        for url in [u for u in pages if u.startswith("/api/")]:
            problems += _check(api.get(url, headers={"Authorization": f"Bearer {token}"}), url, False)
            problems += _check(api.get(url), url, False)  # the 401 too
        missing = api.get("/api/v1/no-such-thing")
        problems += _check(missing, "/api/v1/no-such-thing", False)
    assert not problems, problems[:10]


def test_the_production_session_cookie_has_the_host_prefix(production_app):
    app = production_app
    # The login page already stores its CSRF token in the session.
    cookies = app.test_client().get("/login").headers.getlist("Set-Cookie")
    (cookie,) = [c for c in cookies if "teleconsult_session=" in c]
    assert cookie.startswith("__Host-teleconsult_session="), cookie
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_development_pages_have_the_policy_but_no_hsts(client):
    response = client.get("/login")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers
