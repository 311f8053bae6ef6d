"""Every page of the workplace, the portal and the console, for the browser tests and
for `bench/screenshots.py`: the demo data set, logged-in visitors and their pages."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from core.db import db

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = {"1366x768": DESKTOP, "390x844": PHONE}


@dataclass(frozen=True)
class Page:
    name: str  # a file name: what the screenshot is called
    who: tuple[str, int]  # the test login: ("staff", user id) or ("patient", account id)
    path: str
    main: str  # the page's main action or content: visible on the first screen
    paged: bool = False  # a list with paging may be taller than a few screens
    posts: tuple = ()  # forms (path, fields) the visitor sends first: the wizard's earlier steps


def load_demo(app) -> list[Page]:
    """Load the demo data into the app's empty database and list its pages."""
    from core import demo
    from core.models import (
        ConsentAcceptance, ConsentVersion, Consultation, ConsultationType, Patient, PortalAccount, User,
    )

    with app.app_context():
        demo.load(patients=40)
        db.session.commit()
        users = {u.login: u.id for u in db.session.scalars(sa.select(User))}
        person = demo.PORTAL_PERSONS[0]
        patient = db.session.scalar(sa.select(Patient).where(Patient.snils == person.snils))
        account = PortalAccount(
            identity_provider="esia", external_id=person.external_id, trust_level=person.trust_level, last_name=person.last_name,
            first_name=person.first_name, middle_name=person.middle_name,
        )
        db.session.add(account)
        db.session.flush()
        patient.portal_account_id = account.id
        version = db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.version.desc()))
        db.session.add(ConsentAcceptance(account_id=account.id, version_id=version.id))
        open_case = db.session.scalar(
            sa.select(Consultation.id).where(
                Consultation.patient_id == patient.id, Consultation.consultant_id == users["terapevt"]
            )
        )
        ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
        wizard_posts = (
            ("/workplace/new/type", {"type_id": ctype.id}),
            ("/workplace/new/profile", {"profile_id": ctype.profiles[0].id}),
            ("/workplace/new/patient", {"kind": "oms", "identifier": patient.oms_policy}),
            ("/workplace/new/confirm", {}),
            ("/workplace/new/email", {"email": "petrov@example.ru", "comment": ""}),
            ("/workplace/new/consultant", {"consultant_id": users["terapevt"]}),
        )
        [console_admin] = app.extensions["admin"]
        console = sorted({view.url for view in console_admin._views if view.url != console_admin.url})
        db.session.commit()
        account_id = account.id
    doctor, registrar, operator = ("staff", users["terapevt"]), ("staff", users["registrator"]), ("staff", users["operator"])
    patient_login = ("patient", account_id)
    wizard_doctor = ("staff", users["kardiolog"])  # the other doctors' drafts stay empty
    wizard = [
        Page(f"wizard-{step}", wizard_doctor, f"/workplace/new/{step}", main, posts=wizard_posts)
        for step, main in [
            ("profile", ".wizard-steps li.current"), ("patient", "form.step-form input:not([type=hidden])"),
            ("confirm", "form.step-form button[type=submit]"), ("email", "form.step-form input[type=email]"),
            ("consultant", "form.step-form button[type=submit]"), ("slot", "form.step-form button[type=submit]"),
        ]
    ]
    console_pages = [
        Page("console" + url.removeprefix("/admin").replace("/", "-").rstrip("-"), operator, url + "/",
             ".console-body, table, h1, h2", paged=True)
        for url in console
    ] + [
        Page("console-users-new", operator, "/admin/users/new/", "form input:not([type=hidden])"),
        Page("console-organisations-new", operator, "/admin/organisations/new/", "form input:not([type=hidden])"),
    ]
    pages = [
        Page("workplace-home", doctor, "/workplace/", ".tiles a, .content h1"),
        Page("wizard-type", doctor, "/workplace/new/type", ".wizard-steps"),
        Page("applications", doctor, "/workplace/applications", "table.list, .empty", paged=True),
        Page("inbox", doctor, "/workplace/inbox", "table.list, .empty", paged=True),
        Page("outbox", doctor, "/workplace/outbox", "table.list, .empty", paged=True),
        Page("application-card", doctor, f"/workplace/applications/{open_case}", ".card-panel"),
        Page("complete-without-conclusion", doctor,
             f"/workplace/applications/{open_case}/complete-without-conclusion", "form.step-form button[type=submit]"),
        Page("conclusion-upload", doctor, f"/conclusion-upload/{open_case}", "form.step-form input:not([type=hidden]), form.step-form .file-button"),
        Page("record-requests", doctor, "/workplace/record-requests", ".content h1", paged=True),
        Page("users", doctor, "/workplace/users", ".content h1", paged=True),
        Page("schedule", doctor, "/workplace/schedule", ".calendar"),
        Page("schedule-month", doctor, "/workplace/schedule?view=month", ".month-calendar"),
        Page("schedule-template", doctor, "/workplace/schedule/templates/new", "form input:not([type=hidden])"),
        Page("documents", doctor, "/workplace/documents", ".content h1", paged=True),
        Page("help", doctor, "/workplace/help", ".content h1", paged=True),
        Page("doctor-chats", doctor, "/chat/", ".content h1"),
        Page("doctor-chat", doctor, f"/chat/{open_case}", ".chat-composer textarea"),
        Page("registrar-home", registrar, "/workplace/", ".content h1"),
        Page("registrar-wizard", registrar, "/workplace/new/type", ".wizard-steps"),
        *wizard,
        # The start page is the dashboard: a chart per figure, as long as the figures are many.
        Page("console", operator, "/admin/", "h1, h2, .navbar", paged=True),
        *console_pages,
        Page("portal-home", patient_login, "/portal/", ".content h1, .content a"),
        Page("portal-chats", patient_login, "/portal/chats", ".content h1"),
        Page("portal-consultation", patient_login, f"/portal/chats/{open_case}", ".content h1"),
        Page("portal-chat", patient_login, f"/chat/{open_case}", ".chat-composer textarea"),
        Page("portal-requests", patient_login, "/portal/requests", "#new-request"),
        Page("portal-request-form", patient_login, "/portal/requests/new", "form.request-form input:not([type=hidden])"),
        Page("portal-access", patient_login, "/portal/access", ".content h1"),
    ]
    return pages


MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0) || getComputedStyle(el).visibility === 'hidden') return false;
    for (let p = el.parentElement; p; p = p.parentElement) {  // inside a scroll box: fine
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
    }
    return box.right > width + 1;
  }).slice(0, 5).map((el) => el.tagName.toLowerCase() + '.' + String(el.className).trim().replace(/\\s+/g, '.'));
  return {width, scrollWidth: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight, wide};
}"""


SEND = """async ([path, fields]) => {
  const body = new URLSearchParams(fields);
  body.set('csrf_token', document.querySelector('meta[name=csrf-token]').content);
  return (await fetch(path, {method: 'POST', body, redirect: 'manual'})).status || 302;
}"""


def visit(context_for, server_url: str, page: Page, viewport: dict):
    """Open ``page`` in a context logged in as its visitor; the Playwright page."""
    tab = context_for(page.who, viewport)
    if page.posts:
        tab.goto(server_url + page.posts[0][0])  # a page of the app: its CSRF token
    for path, fields in page.posts:
        status = tab.evaluate(SEND, [path, fields])
        assert status < 400, (path, status)
    tab.goto(server_url + page.path)
    tab.wait_for_load_state("load")
    return tab
