"""Socket.IO namespaces of plugins, presence hooks, list badges and links."""

import pytest
from flask_socketio import emit

from core import hookimpl, presence, worklists
from core.access import principal_for_user, require
from core.db import db
from core.models import PluginState
from core.realtime import Namespace


class EchoNamespace(Namespace):
    def on_echo(self, data):
        require("workplace.use")
        emit("echoed", data)


class ListPlugin:
    """Answers the list hooks and records presence."""

    seen: list

    def __init__(self):
        self.seen = []

    @hookimpl
    def teleconsult_register_socketio_namespaces(self):
        return [EchoNamespace("/echo")]

    @hookimpl
    def teleconsult_register_consultation_badges(self, consultations, principal):
        return {c.id: 2 for c in consultations}

    @hookimpl
    def teleconsult_register_consultation_link(self, consultation, principal):
        return f"/echo/{consultation.id}"

    @hookimpl
    def teleconsult_participant_joined(self, consultation, participant, channel):
        self.seen.append(("joined", participant.role, channel))

    @hookimpl
    def teleconsult_participant_left(self, consultation, participant, channel):
        self.seen.append(("left", participant.role, channel))


class SecondBadge:
    @hookimpl
    def teleconsult_register_consultation_badges(self, consultations, principal):
        return {consultations[0].id: 1}


@pytest.fixture
def plugin():
    return ListPlugin()


@pytest.fixture
def list_app(make_app, plugin):
    return make_app(plugins=[], extra_plugins=[("lists", plugin), ("second", SecondBadge())])


def test_badges_add_up_and_first_link_wins(list_app, plugin):
    from core.testing import Factory

    with list_app.app_context():
        consultation = Factory(list_app).consultation()
        principal = principal_for_user(consultation.consultant)
        assert worklists.badges([consultation], principal) == {consultation.id: 3}
        assert worklists.link(consultation, principal) == f"/echo/{consultation.id}"


def test_presence_fires_participant_hooks(list_app, plugin):
    from core.testing import Factory

    with list_app.app_context():
        consultation = Factory(list_app).consultation()
        principal = principal_for_user(consultation.consultant)
        participant = presence.participant_for(consultation, principal)
        presence.joined(consultation, participant, "chat")
        presence.left(consultation, participant, "chat")
        assert participant.last_joined_at is not None and participant.last_left_at is not None
    assert plugin.seen == [("joined", "author", "chat"), ("left", "author", "chat")]


def test_namespace_events_follow_the_policy_and_the_switch(list_app):
    from core.testing import Factory, login_session

    socketio = list_app.extensions["socketio"]
    with list_app.app_context():
        doctor = Factory(list_app).doctor()
        client = list_app.test_client()
        login_session(client, doctor)
        sio = socketio.test_client(list_app, namespace="/echo", flask_test_client=client)
        assert sio.is_connected("/echo")
        sio.emit("echo", {"text": "привет"}, namespace="/echo")
        assert sio.get_received("/echo")[0]["args"][0] == {"text": "привет"}

        anonymous = socketio.test_client(list_app, namespace="/echo")
        anonymous.emit("echo", {"text": "x"}, namespace="/echo")
        assert anonymous.get_received("/echo") == []

        db.session.add(PluginState(plugin="lists", enabled=False))
        db.session.commit()
        ack = sio.emit("echo", {"text": "снова"}, namespace="/echo", callback=True)
        assert ack == {"ok": False, "status": 404, "error": "plugin switched off"}
        assert not sio.is_connected("/echo")
        assert not socketio.test_client(list_app, namespace="/echo", flask_test_client=client).is_connected("/echo")


class LiveListScripts:
    @hookimpl
    def teleconsult_register_list_scripts(self, area, principal):
        return [f"/live/{area}.js", "/live/shared.js"]


class MoreListScripts:
    @hookimpl
    def teleconsult_register_list_scripts(self, area, principal):
        return ["/live/shared.js", "/more.js"]


def test_list_pages_load_the_scripts_plugins_add_once_each(make_app):
    """teleconsult_register_list_scripts: the lists load what plugins give, each address
    once; nothing while the plugin is off for the organisation or the list is empty."""
    from core.testing import PASSWORD, Factory

    app = make_app(plugins=[], extra_plugins=[("live", LiveListScripts()), ("more", MoreListScripts())])
    client = app.test_client()
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor(login="lister")
        consultation = factory.consultation(author=doctor)
        idle = factory.doctor(login="idle", organisation=doctor.organisation)
        organisation_id = doctor.organisation_id
        principal = principal_for_user(doctor)
        scripts = worklists.list_scripts([consultation, factory.consultation(author=doctor)], "portal", principal)
        assert sorted(scripts) == ["/live/portal.js", "/live/shared.js", "/more.js"]
        assert worklists.list_scripts([], "portal", principal) == []
        idle_login = idle.login
    client.login("lister", PASSWORD)
    for page in ("inbox", "outbox", "applications"):
        html = client.get(f"/workplace/{page}").get_data(as_text=True)
        assert html.count('<script src="/live/workplace.js"></script>') == 1, page
        assert html.count('<script src="/live/shared.js"></script>') == 1, page
        assert html.count('<script src="/more.js"></script>') == 1, page
        assert f'data-consultation="{consultation.id}"' in html and "data-consultation-list" in html

    with app.app_context():
        db.session.add(PluginState(plugin="live", organisation_id=organisation_id, enabled=False))
        db.session.commit()
    html = client.get("/workplace/inbox").get_data(as_text=True)
    assert "/live/workplace.js" not in html and '<script src="/more.js"></script>' in html

    idle_client = app.test_client()
    idle_client.login(idle_login, PASSWORD)
    html = idle_client.get("/workplace/applications").get_data(as_text=True)
    # An empty list has nothing to keep live: no list script (the core's page script stays).
    assert "/live/" not in html and "/more.js" not in html
