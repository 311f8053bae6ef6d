"""Bad input never gives a 500 (charter: «a clear message in Russian and a 4xx»).

Every rule of ``app.url_map`` of the app with all built-in plugins is walked as an
anonymous visitor, a patient, a machine client with a token, a doctor and an operator.
Hostile values go into the URL parameters, the query string and form and JSON bodies:
huge integers, Unicode digits, negative numbers, NUL bytes, dates outside any calendar,
malformed JSON and wrong content types. No answer may be a 5xx, and every 4xx page or
JSON error must say what is wrong in Russian.

New routes are walked as they appear (a new kind of URL argument makes the walk ask for
a valid value), and so is every parameter name the code reads from ``request.args`` or
``request.form`` or declares as a form or schema field. Each request gives every
parameter the same value; and since a view that refuses one parameter never reads the
next, the forms the pages show and the REST API's schemas are also sent with one field
hostile at a time (the others as the page fills them, or absent).
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import date, time
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from marshmallow import fields as schema_fields
from werkzeug.exceptions import HTTPException

from core.db import db, utcnow
from core.models import ConsentAcceptance, PortalAccount, RecordRequest, ScheduleTemplate
from core.consent import current_version
from core.storage import store_document
from core.testing import login_session
from tests.admin.conftest import forms_of

ROOT = Path(__file__).resolve().parents[2]
HUGE = "9" * 23
CYRILLIC = re.compile("[А-Яа-яЁё]")
# Where pages say what is wrong: the error page, a flash or error box, a field's error.
_MESSAGES = re.compile(
    r'<p class="error-message">(.*?)</p>|role="alert"[^>]*>(.*?)</|class="field-error"[^>]*>(.*?)</'
    r'|class="flash[^"]*"[^>]*>(.*?)</',
    re.S,
)
_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def just_over(backend: str) -> str:
    """The smallest number the database cannot compare with an id: PostgreSQL's INTEGER
    columns end at 2**31 - 1, SQLite's driver at 2**63 - 1."""
    return str(2**31 if backend == "postgresql" else 2**63)


def query_values(backend: str) -> tuple:
    """Dates outside the calendar fail in Python, whatever the database: PostgreSQL's walk
    leaves them out and keeps what it treats on its own (number ranges, types, lengths)."""
    dates = ("0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00", "0001-01-01 00:00:00")
    return (
        "²",  # a Unicode digit: "²".isdigit() is true, int("²") fails
        just_over(backend),
        "-1",
        "",
        *(dates if backend == "sqlite" else ()),
    )


def form_values(backend: str) -> tuple:
    """Forms also get texts longer than any column."""
    return (*query_values(backend), "x" * 3000)


def json_values(backend: str) -> tuple:
    """Views that read JSON get values of every JSON type, lone UTF-16 surrogates, numbers
    past any column, and the non-finite numbers Python's JSON parser accepts (``Infinity``,
    ``NaN``; ``1e400`` parses as infinity)."""
    return ("²", int(just_over(backend)), -1, 1e308, None, True, [1], {"a": "b"}, "x" * 3000,
            "\ud800", "a\udfffb", float("inf"), float("-inf"), float("nan"), 2**63, 2**64,
            *(("9999-12-31T23:59:59-12:00",) if backend == "sqlite" else ()))


URL_VALUES = {
    "int": [HUGE, str(2**63), str(2**31), "0", "²", "٣"],
    "default": ["²", "a\x00b", HUGE, "..", "x" * 300],
    "path": ["../../etc/passwd", "a\x00b", "²"],
}
# Parameters that Flask-Admin and the OAuth flows read (the app's own are found in its
# source). ``fltN_N`` are the console's list filters.
LIBRARY_PARAMETERS = (
    "page", "page_size", "sort", "desc", "search", "id", "url", "rowid", "action", "list_form_pk",
    *(f"flt{i}_{i}" for i in range(30)), "query", "name", "value", "next", "lang",
    "code", "state", "error", "client_id", "redirect_uri", "scope", "grant_type", "response_type",
)
_READS = re.compile(r"""(?:request\.(?:args|form|values)|\bform|\bargs|\bpayload)\.get(?:list)?\(\s*["']([\w-]+)["']""")
_FIELDS = re.compile(r"^\s+(\w+)\s*=\s*(?:fields\.\w+|\w*Field|Id)\(", re.M)
# Run after the rest: they change who the client is or reset its state.
LAST = ("workplace.restart_application", "auth.logout")
# How many rules each principal must reach past the access check (so that a broken login
# cannot make the walk pass by meeting only 403s).
REACHED = {"anonymous": 5, "patient": 15, "machine": 15, "doctor": 40, "operator": 120}


def parameter_names() -> list[str]:
    names = set(LIBRARY_PARAMETERS)
    for folder in ("core", "plugins", "admin"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            names.update(_READS.findall(text))
            names.update(_FIELDS.findall(text))
    names.discard("csrf_token")  # the walk sends the session's own
    return sorted(names)


def make_world(factory) -> dict:
    """Organisation A: a doctor, an operator, a scheduled consultation with a document, a
    schedule template, a journal request, a patient with a portal account who accepted
    the consent, and a machine client's token."""
    from core.api.auth import create_token

    org = factory.organisation()
    doctor = factory.doctor(org, login="doctor-a")
    operator = factory.user(("operator",), org, login="operator-a")
    consultation = factory.consultation(author=doctor)
    document = store_document("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 80, kind="conclusion_scan",
                              consultation_id=consultation.id, owner_user_id=doctor.id)
    template = ScheduleTemplate(doctor_id=doctor.id, name="Основной", weekdays=[1, 2, 3, 4, 5], start_time=time(9),
                                end_time=time(12), slot_minutes=20, breaks=[], valid_from=date.today())
    journal = RecordRequest(organisation_id=org.id, last_name="Орлова", first_name="Анна", birth_date=date(1990, 5, 1),
                            oms_policy=consultation.patient.oms_policy, phone="+7 900 000-00-00", email="o@example.ru")
    account = PortalAccount(identity_provider="esia", external_id="1000001", trust_level="confirmed", last_name="Пациентова", first_name="Ольга")
    db.session.add_all([template, journal, account])
    db.session.flush()
    consultation.patient.portal_account_id = account.id
    db.session.add(ConsentAcceptance(account_id=account.id, version_id=current_version().id, accepted_at=utcnow()))
    _token, token = create_token("МИС «Тест»", org.id, "registry:read registry:write consultations:read consultations:write".split())
    db.session.commit()
    return {
        "arguments": {
            "consultation_id": consultation.id,
            "document_id": document.id,
            "template_id": template.id,
            "slot_id": consultation.slot_id,
            "request_id": journal.id,
            "patient_id": consultation.patient_id,
            "doctor_id": doctor.id,
            "export_type": "csv",
            "step": "type",  # the first step of the «Подать заявку» wizard
            "kid_id": 1,
            "conclusion_id": 1,
            "link_id": 1,
            "filename": "teleconsult.css",
            "oid": "1000001",
            "name": "message.eml",
            "code": "outcomes",  # a figure of the console's dashboard
        },
        "doctor": doctor,
        "operator": operator,
        "account": account,
        "token": token,
        "ctype_id": consultation.type_id,
        "profile_id": consultation.profile_id,
        "patient": consultation.patient,
        "consultation_id": consultation.id,
    }


def rules(app) -> list:
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.startswith("_test_login.")  # added by tests to a kept app, never served
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    found.sort(key=lambda item: LAST.index(item[0].endpoint) + 1 if item[0].endpoint in LAST else 0)
    return found


_ARGUMENT = re.compile(r"<(?:([a-z]+)(\([^)]*\))?:)?(\w+)>")


def urls(rule, arguments: dict) -> tuple[list[str], list[str]]:
    """The rule's URLs with valid arguments (``any(...)`` ones take each option), and one
    URL per hostile value of each other argument."""
    parts = [(m.group(3), m.group(1) or "default", m.group(2) or "") for m in _ARGUMENT.finditer(rule.rule)]

    def options(name, converter, args):
        if converter == "any":
            return [o.strip().strip("'\"") for o in args.strip("()").split(",")]
        assert name in arguments, f"the hostile-input walk does not know the argument {name!r} of {rule}"
        return [str(arguments[name])]

    def render(chosen):
        return _ARGUMENT.sub(lambda m: quote(chosen[m.group(3)], safe="/" if m.group(1) == "path" else ""), rule.rule)

    base = {name: options(name, conv, args)[0] for name, conv, args in parts}
    valid = [render({**base, name: o}) for name, conv, args in parts if conv == "any" for o in options(name, conv, args)]
    hostile = [
        render({**base, name: value})
        for name, conv, _args in parts
        if conv != "any"
        for value in URL_VALUES.get(conv, URL_VALUES["default"])
    ]
    return valid or [render(base)], hostile


def console_actions(app, rule) -> list[str]:
    """The names of a console list's actions (Flask-Admin's ``action_view``)."""
    if not rule.endpoint.endswith(".action_view"):
        return []
    views = [v for admin in app.extensions["admin"] for v in admin._views]
    view = next(v for v in views if v.endpoint == rule.endpoint.rsplit(".", 1)[0])
    return [name for name, _title in view._actions]


def schema_probes(schema: type, value) -> list[dict]:
    """Bodies with ``value`` in one field of ``schema`` at a time, also inside its
    nested records (``{"patients": [{"last_name": value}]}``)."""
    probes = []
    for name, field in schema().fields.items():
        key = field.data_key or name
        probes.append({key: value})
        inner = field.inner if isinstance(field, schema_fields.List) else field
        if isinstance(inner, schema_fields.Nested):
            for probe in schema_probes(type(inner.schema), value):
                probes.append({key: [probe] if inner is not field else probe})
    return probes


def reads_json(app, rule) -> bool:
    """Whether the rule's view reads a JSON body itself."""
    try:
        source = inspect.getsource(inspect.unwrap(app.view_functions[rule.endpoint]))
    except (OSError, TypeError):
        return True
    return "json" in source or "payload" in source


class Walk:
    def __init__(self, app, backend: str):
        self.app = app
        self.backend = backend
        self.names = parameter_names()
        self.failures: list[str] = []
        self.count = 0
        self.forms: dict[str, dict] = {}  # action URL → the fields as its page fills them

    def principal(self, who: str, client, headers: dict) -> None:
        self.who, self.client, self.headers = who, client, headers
        self.reached = 0
        self.forms = {}
        page = client.get("/login", headers=headers, follow_redirects=True).get_data(as_text=True)
        self.csrf = _CSRF_META.search(page).group(1)

    def send(self, method: str, url: str, label: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if method == "POST":
            headers.setdefault("X-CSRFToken", self.csrf)
            if isinstance(kwargs.get("data"), dict):
                kwargs["data"].setdefault("csrf_token", self.csrf)
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        self.count += 1
        self.check(response, f"{self.who} {method} {url[:120]!r} [{label}]")
        return response

    def check(self, response, where: str) -> None:
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{where}: {status}")
        elif status >= 400:
            if response.is_json:
                body = response.get_json(silent=True)
                error = body.get("error") if isinstance(body, dict) else None
                # The API's envelope, or OAuth 2.0's (the development ESIA identity provider).
                message = error.get("message") if isinstance(error, dict) else body.get("error_description") if isinstance(body, dict) else body
            else:
                message = " ".join(part for match in _MESSAGES.findall(response.get_data(as_text=True)) for part in match)
            if not CYRILLIC.search(str(message)):
                self.failures.append(f"{where}: {status} without a Russian message: {str(message)[:200]!r}")

    def rule(self, rule, method: str, arguments: dict) -> None:
        valid, hostile = urls(rule, arguments)
        reached = False
        for url in valid:
            baseline = self.send(method, url, "as is")
            if baseline.status_code in (401, 403) or (
                baseline.status_code == 302 and ("/login" in baseline.location or "/esia/" in baseline.location)
            ):
                continue  # refused before any parameter is read
            self.reached += 1
            reached = True
            if rule.endpoint.endswith("static") or rule.endpoint == "chat.vendor":
                continue  # files: only their paths are read
            self.api_probes(rule, method, url)
            if method == "GET":
                self.remember_forms(rule, url, baseline)
                for value in query_values(self.backend):
                    self.send(method, url, f"{value[:30]!r}", query_string=dict.fromkeys(self.names, value))
                self.send(method, url + "?page=%ff%fe&q=%c3%28", "bad utf-8 query")
                continue
            for value in form_values(self.backend):
                self.send(method, url, f"form {value[:30]!r}", data=dict.fromkeys(self.names, value))
            for action in console_actions(self.app, rule):
                # Each of the console's actions on rows that are no rows (never on real ones).
                self.send(method, url, f"action {action}", data={"action": action, "rowid": list(form_values(self.backend))})
            # Every POST gets a JSON object with values of every type, views that read
            # JSON one per value; and bodies that are not what they claim to be.
            mixed = json_values(self.backend)
            bodies = [{name: mixed[i % len(mixed)] for i, name in enumerate(self.names)}]
            broken = []
            if reads_json(self.app, rule):
                bodies += [dict.fromkeys(self.names, value) for value in mixed]
                broken += [  # refused for every request before any view; these views parse them too
                    ("malformed json", '{"reason_id": ', "application/json"),
                    ("json array", "[1, 2]", "application/json"),
                    ("json with a nul byte", '{"a": {"b": ["\\u0000"]}}', "application/json"),
                    ("json nested past the parser", "[" * 5000 + "]" * 5000, "application/json"),
                    ("json nested deep", '{"a": ' * 200 + "1" + "}" * 200, "application/json"),
                ]
            for body in bodies:
                self.send(method, url, f"json {str(next(iter(body.values())))[:30]!r}", data=json.dumps(body),
                          content_type="application/json")
            for label, body, content_type in (
                *broken,
                ("text/plain", "reason_id=1", "text/plain"),
                ("broken multipart", b"--x\r\nbroken", "multipart/form-data; boundary=x"),
                ("bad utf-8 form", b"reason_id=%ff%fe\xff&q=a%00b", "application/x-www-form-urlencoded"),
            ):
                self.send(method, url, label, data=body, content_type=content_type)
        for url in hostile if reached else ():
            self.send(method, url, "hostile path")


    def api_probes(self, rule, method: str, url: str) -> None:
        """The REST API's query and body schemas, one field hostile at a time."""
        docs = getattr(self.app.view_functions[rule.endpoint], "api_docs", {})
        if docs.get("query"):
            for value in query_values(self.backend):
                for probe in schema_probes(docs["query"], value):
                    self.send(method, url, f"api query {probe}"[:60], query_string=probe)
        if docs.get("body"):
            for value in json_values(self.backend):
                for probe in schema_probes(docs["body"], value):
                    self.send(method, url, f"api body {probe}"[:60], json=probe)

    def remember_forms(self, rule, url: str, page) -> None:
        if page.status_code != 200 or page.mimetype != "text/html" or url.startswith("/admin/"):
            return  # the console's forms are WTForms: every field is read even when one fails
        for form in forms_of(page.get_data(as_text=True)):
            self.forms.setdefault(form.action or url, form.values(csrf_token=None))

    def form_probes(self) -> None:
        """Every form its pages showed the principal, one field hostile at a time."""
        adapter = self.app.url_map.bind("localhost")
        for action, values in self.forms.items():
            try:
                endpoint, _args = adapter.match(action.split("?")[0], method="POST")
            except HTTPException:
                continue  # a search form (GET), or a form of another site
            if endpoint in LAST:
                continue
            for name in values:
                for value in form_values(self.backend):
                    self.send("POST", action, f"form field {name}={value[:20]!r}", data={**values, name: value})


def _wizard_at_slot_step(client, world) -> None:
    """Walk the wizard up to «Выбор слота», so that every step is open to hostile input."""
    client.csrf_token("/workplace/")
    client.post_form("/workplace/new/type", {"type_id": world["ctype_id"]})
    client.post_form("/workplace/new/profile", {"profile_id": world["profile_id"]})
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": world["patient"].snils})
    client.post_form("/workplace/new/confirm")
    client.post_form("/workplace/new/email", {"email": "p@example.ru"})
    response = client.post_form("/workplace/new/consultant", {"consultant_id": world["doctor"].id})
    assert response.status_code == 302 and response.location.endswith("/workplace/new/slot")


def test_no_hostile_input_gives_a_server_error(app, factory, database_backend):
    from core.models import Consultation

    world = make_world(factory)
    walk = Walk(app, database_backend)
    assert len(rules(app)) > 150 and {"chat", "conclusion_upload", "esia", "notifications"} <= set(
        app.extensions["teleconsult.blueprint_owners"].values()
    )
    for who in ("anonymous", "patient", "machine", "doctor", "operator"):
        client = app.test_client()
        headers = {}
        if who == "machine":
            headers["Authorization"] = f"Bearer {world['token']}"
        elif who != "anonymous":
            login_session(client, world[{"patient": "account"}.get(who, who)])
        if who == "doctor":
            _wizard_at_slot_step(client, world)
        walk.principal(who, client, headers)
        for rule, method in rules(app):
            if rule.endpoint in LAST:
                walk.form_probes()  # while the state the forms were shown in holds
            walk.rule(rule, method, world["arguments"])
        assert walk.reached >= REACHED[who], f"{who} reached only {walk.reached} rules"
    assert not walk.failures, f"{len(walk.failures)} of {walk.count} requests failed:\n" + "\n".join(walk.failures[:60])
    # Hostile input closed nothing and made no application (a chat message «²» is fine).
    db.session.expire_all()
    assert db.session.get(Consultation, world["consultation_id"]).closed_at is None
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 1
