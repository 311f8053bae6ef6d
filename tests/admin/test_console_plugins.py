"""SPEC A1, F1: the plugins page; a switch in the console takes effect on the next request.

Names the hook ``teleconsult_register_admin_views``: a plugin's console view comes
in under the plugin's category and disappears with the plugin.
"""

import pytest
import sqlalchemy as sa
from markupsafe import escape

from core.db import db
from core.models import AuditEvent, PluginState
from core.testing import Factory, login_session
from tests.admin import throwaway_plugin
from tests.admin.conftest import forms_of


@pytest.fixture
def console_app(make_app):
    throwaway_plugin.CALLS.clear()
    return make_app(extra_plugins=[("throwaway", throwaway_plugin)])


def switch(client, plugin: str, state: str, organisation_id=""):
    """Press a switch of ``plugin`` on the plugins page as it is rendered: a button form
    when there is one for this state, else the per-organisation chooser."""
    page = client.get("/admin/plugins/").get_data(as_text=True)
    forms = [f for f in forms_of(page) if f.values().get("plugin") == [plugin]]
    for form in forms:
        values = form.values()
        if values.get("state") == [state] and values.get("organisation_id") == [str(organisation_id)]:
            return client.post(form.action, data=values)
    if organisation_id:  # the chooser closes the plugin's row: organisation and state selects
        chooser = forms[-1]
        return client.post(chooser.action, data=chooser.values(organisation_id=organisation_id, state=state))
    raise AssertionError(f"no form to switch {plugin} {state} {organisation_id}")


def test_plugins_page_lists_every_loaded_plugin(console_app, people):
    client = console_app.test_client()
    client.login("operator", "test-password-1")
    page = client.get("/admin/plugins/").get_data(as_text=True)
    pm = console_app.extensions["teleconsult.pm"]
    for name, info in pm.info.items():
        assert f'id="plugin-{name}"' in page
        if info.description and name != "core":
            assert str(escape(info.description)) in page
    assert "Ядро платформы" in page
    assert "A throwaway plugin for the console tests" in page
    assert "Подключён при запуске приложения" in page and "Ядро" in page
    assert "Всегда включено" in page  # the core cannot be switched off
    # The plugin's console view is in the menu under its category, named after the plugin.
    assert "throwaway" in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/throwaway/").get_data(as_text=True) == "throwaway console page"
    admin = console_app.extensions["admin"][0]
    [view] = [v for v in admin._views if v.endpoint == "throwaway_admin"]
    assert view.category == "throwaway"


def test_switching_off_stops_the_plugin_at_once(console_app, people):
    operator = console_app.test_client()
    operator.login("operator", "test-password-1")
    doctor = console_app.test_client()
    login_session(doctor, people["doctor"])
    assert doctor.get("/throwaway/").status_code == 200

    response = switch(operator, "throwaway", "off")
    assert response.status_code == 302
    assert "выключен для всего развёртывания" in operator.get("/admin/plugins/").get_data(as_text=True)

    # The very next requests: page gone, console view gone (404) and out of the menu, hook silent.
    assert doctor.get("/throwaway/").status_code == 404
    assert app_client_anonymous(console_app).get("/throwaway/").status_code == 404
    assert operator.get("/admin/throwaway/").status_code == 404
    assert "Проверка" not in operator.get("/admin/").get_data(as_text=True)
    with console_app.app_context():
        Factory(console_app).consultation(author=people["doctor"])
    assert throwaway_plugin.CALLS == []

    row = db.session.scalar(sa.select(PluginState).where(PluginState.plugin == "throwaway"))
    assert row.enabled is False and row.organisation_id is None and row.updated_by_id == people["operator"].id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.plugins.switched"))
    assert event.data == {"plugin": "throwaway", "organisation_id": None, "state": "off"}

    switch(operator, "throwaway", "on")
    assert doctor.get("/throwaway/").status_code == 200
    assert operator.get("/admin/throwaway/").status_code == 200
    with console_app.app_context():
        consultation_id = Factory(console_app).consultation(author=people["doctor"]).id
    assert throwaway_plugin.CALLS == [consultation_id]


def app_client_anonymous(app):
    return app.test_client()


def test_switch_per_organisation_touches_only_its_users(console_app, people):
    factory = Factory(console_app)
    other_org = factory.organisation("Поликлиника № 2")
    other_doctor = factory.doctor(other_org)
    other_org_id = other_org.id
    operator = console_app.test_client()
    operator.login("operator", "test-password-1")
    ours, theirs = console_app.test_client(), console_app.test_client()
    login_session(ours, people["doctor"])
    login_session(theirs, other_doctor)

    response = switch(operator, "throwaway", "off", organisation_id=other_org_id)
    assert response.status_code == 302
    assert theirs.get("/throwaway/").status_code == 404
    assert ours.get("/throwaway/").status_code == 200
    page = operator.get("/admin/plugins/").get_data(as_text=True)
    assert "Поликлиника № 2" in page and "Как для всех" in page

    # Off for the deployment, back on for our organisation only.
    switch(operator, "throwaway", "off")
    switch(operator, "throwaway", "on", organisation_id=people["organisation"].id)
    assert ours.get("/throwaway/").status_code == 200
    assert theirs.get("/throwaway/").status_code == 404
    # «Как для всех» removes the organisation's own setting.
    switch(operator, "throwaway", "inherit", organisation_id=people["organisation"].id)
    assert ours.get("/throwaway/").status_code == 404
    db.session.expire_all()
    assert db.session.scalar(
        sa.select(PluginState).where(PluginState.organisation_id == people["organisation"].id)
    ) is None


def test_bad_switch_requests_are_refused_in_russian(console_app, people):
    operator = console_app.test_client()
    operator.login("operator", "test-password-1")
    token = operator.csrf_token("/admin/")
    for data, message in [
        ({"plugin": "core", "state": "off"}, "нельзя выключить"),
        ({"plugin": "no-such", "state": "off"}, "Такого плагина нет"),
        ({"plugin": "throwaway", "state": "maybe"}, "Неизвестное состояние"),
        ({"plugin": "throwaway", "state": "inherit"}, "Неизвестное состояние"),
        ({"plugin": "throwaway", "state": "off", "organisation_id": "999"}, "Выберите медицинскую организацию"),
        ({"plugin": "throwaway", "state": "off", "organisation_id": "x"}, "Выберите медицинскую организацию"),
    ]:
        response = operator.post("/admin/plugins/switch", data={**data, "csrf_token": token})
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PluginState)) == 0
    # Without the CSRF token nothing happens either.
    response = operator.post("/admin/plugins/switch", data={"plugin": "throwaway", "state": "off"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PluginState)) == 0


def test_a_plugin_gives_its_audit_events_titles(console_app, people):
    """Hook teleconsult_register_audit_titles: the audit log shows and filters a plugin's
    events by the titles it registered, also while the plugin is switched off."""
    import json
    from datetime import datetime, timezone

    db.session.add(AuditEvent(action="throwaway.poked", actor_type="staff", actor_id=1, actor_name="Иванов И. И.",
                              object_type="throwaway_things", object_id=3, data={},
                              at=datetime(2026, 3, 1, 9, tzinfo=timezone.utc)))
    db.session.add(PluginState(plugin="throwaway", organisation_id=None, enabled=False))
    db.session.commit()
    client = console_app.test_client()
    login_session(client, people["operator"])
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert ">Проверка: тычок<" in page and ">Проверочная вещь<" in page
    # The title is one of the choices of the «Действие равно» filter the page offers.
    import html
    import re

    groups = json.loads(html.unescape(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S).group(1)))
    [equal] = [f for f in groups["Действие"] if f["operation"] == "равно"]
    assert ["throwaway.poked", "Проверка: тычок"] in equal["options"]
    assert ["consultation.created", "Заявка создана"] in equal["options"]


def test_plugin_descriptions_are_russian_in_the_russian_console(console_app, people):
    """A plugin's DESCRIPTION, not its English docstring, on «Плагины» (issue 18)."""
    client = console_app.test_client()
    client.login("operator", "test-password-1")
    page = client.get("/admin/plugins/").get_data(as_text=True)
    assert "Чат врача и пациента по консультации" in page
    assert "a real-time chat per consultation" not in page
    assert "Вход пациентов через Госуслуги" in page
    # Every plugin, not only these: a description is Russian text, not a developer's note.
    import re

    from pathlib import Path

    shipped = {p.name for p in (Path(__file__).resolve().parents[2] / "plugins").iterdir() if p.is_dir()}
    rows = re.findall(r'id="plugin-([^"]+)">\s*<td>.*?</td>\s*<td>(.*?)</td>', page, re.DOTALL)
    descriptions = [text for name, text in rows if name in shipped]
    assert len(descriptions) >= 7, rows
    for description in descriptions:
        assert re.search("[А-Яа-яЁё]", description) and "SPEC" not in description, description
