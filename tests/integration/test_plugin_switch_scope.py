"""Whose switch counts (SPEC F1): what is done for a consultation follows the operator's
switch for the consultation's organisation, in a request or not, whoever looks; pages and
events about no object follow the viewer's organisation."""

import pytest
from flask import Blueprint, url_for

from core import hookimpl, lifecycle
from core.access import principal_for_account, require, set_principal
from core.db import db
from core.lifecycle import CompletionMethod
from core.menus import MenuItem
from core.models import Consultation, Outcome, PluginState, PortalAccount
from core.plugins import enabled_for_viewer, hooks_for, is_enabled
from core.realtime import Namespace
from core.tasks import TaskSpec, enqueue, enqueue_for

blueprint = Blueprint("probe", __name__, url_prefix="/probe")


@blueprint.route("/")
def index():
    return "probe index"


@blueprint.route("/<int:consultation_id>")
def page(consultation_id):
    require("consultation.view", db.get_or_404(Consultation, consultation_id))
    return "probe page"


class ProbeNamespace(Namespace):
    def on_ping(self, data):
        return {"ok": True}


class Probe:
    """Records which consultations its hooks and tasks were called for."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def teleconsult_register_blueprints(self, app):
        return [blueprint]

    @hookimpl
    def teleconsult_register_socketio_namespaces(self):
        return [ProbeNamespace("/probe")]

    @hookimpl
    def teleconsult_register_tasks(self):
        return [
            TaskSpec("probe.note", lambda consultation_id: self.calls.append(("task", consultation_id))),
            TaskSpec("probe.sweep", lambda: self.calls.append(("sweep", None))),
        ]

    @hookimpl
    def teleconsult_consultation_created(self, consultation, actor):
        self.calls.append(("created", consultation.id))

    @hookimpl
    def teleconsult_consultation_scheduled(self, consultation, slot, actor):
        self.calls.append(("scheduled", consultation.id))

    @hookimpl
    def teleconsult_consultation_completed(self, consultation, outcome, actor):
        self.calls.append(("completed", consultation.id))

    @hookimpl
    def teleconsult_register_completion_methods(self, consultation, principal):
        return [CompletionMethod("probe", "Проба", "probe.page", Outcome.NO_CONCLUSION, order=1)]

    @hookimpl
    def teleconsult_register_consultation_actions(self, consultation, principal):
        return [MenuItem("Проба", "probe.page", url_values={"consultation_id": consultation.id})]

    @hookimpl
    def teleconsult_register_consultation_badges(self, consultations, principal):
        return {consultation.id: 7 for consultation in consultations}

    @hookimpl
    def teleconsult_register_consultation_link(self, consultation, principal):
        return url_for("probe.page", consultation_id=consultation.id)


@pytest.fixture
def world(make_app):
    yield from _world(make_app)


def _world(make_app, config=None):
    """The probe is off for the deployment and on for organisation «on» only. The
    patient is attached to organisation «off» but has a consultation in each."""
    from core.testing import Factory

    probe = Probe()
    app = make_app(plugins=[], extra_plugins=[("probe", probe)], config=config)
    with app.app_context():
        factory = Factory(app)
        on, off = factory.organisation("Включено"), factory.organisation("Выключено")
        db.session.add_all([
            PluginState(plugin="probe", organisation_id=None, enabled=False),
            PluginState(plugin="probe", organisation_id=on.id, enabled=True),
        ])
        db.session.commit()
        doctor_on, doctor_off = factory.doctor(organisation=on), factory.doctor(organisation=off)
        patient = factory.patient(organisation=off)
        account = PortalAccount(identity_provider="esia", external_id="900", trust_level="confirmed", last_name=patient.last_name, first_name="Пётр")
        patient.portal_account = account
        db.session.add(account)
        db.session.commit()
        in_on = factory.consultation(author=doctor_on, patient=patient)
        in_off = factory.consultation(author=doctor_off, patient=patient)
        yield dict(app=app, probe=probe, factory=factory, on=on, off=off, doctor_on=doctor_on,
                   doctor_off=doctor_off, account=account, in_on=in_on, in_off=in_off)


def test_lifecycle_hooks_follow_the_consultations_organisation_outside_a_request(world):
    probe, in_on, in_off = world["probe"], world["in_on"], world["in_off"]
    # Created and scheduled by the factory, with no request at all (as a CLI or a task).
    assert probe.calls == [("created", in_on.id), ("scheduled", in_on.id)]
    from core.access import SYSTEM
    from core.models import CompletionReason

    reason = db.session.scalars(db.select(CompletionReason)).first()
    for consultation in (in_on, in_off):
        lifecycle.complete(consultation, Outcome.NO_CONCLUSION, SYSTEM, reason=reason)
    db.session.commit()
    assert probe.calls[-1] == ("completed", in_on.id)
    assert ("completed", in_off.id) not in probe.calls


def test_the_switch_api(world):
    on, off = world["on"], world["off"]
    assert is_enabled("probe", organisation_id=on.id)
    assert not is_enabled("probe", organisation_id=off.id)
    assert not is_enabled("probe", organisation_id=None)  # the deployment's switch
    assert not is_enabled("probe")  # outside a request: the deployment's switch
    assert not is_enabled("no_such_plugin", organisation_id=on.id)
    assert [m.code for m in lifecycle.completion_methods(world["in_on"], None)] == ["probe", "no_conclusion"]
    assert [m.code for m in lifecycle.completion_methods(world["in_off"], None)] == ["no_conclusion"]
    assert hooks_for(world["in_off"]).teleconsult_register_consultation_badges(consultations=[world["in_off"]], principal=None) == []


def test_a_patient_attached_elsewhere_sees_what_each_consultations_organisation_allows(world):
    from core import worklists

    app, in_on, in_off = world["app"], world["in_on"], world["in_off"]
    with app.test_request_context():
        principal = principal_for_account(world["account"])
        set_principal(principal)
        assert not is_enabled("probe")  # the patient's own organisation has it off
        assert enabled_for_viewer("probe")  # but one of their consultations is in «on»
        assert worklists.badges([in_on, in_off], principal) == {in_on.id: 7}
        assert worklists.link(in_on, principal) == f"/probe/{in_on.id}"
        assert worklists.link(in_off, principal) is None


def test_plugin_pages_follow_the_consultation_they_show_else_the_viewer(world):
    from core.testing import login_session

    app, in_on, in_off = world["app"], world["in_on"], world["in_off"]
    patient = app.test_client()
    login_session(patient, world["account"])
    assert patient.get(f"/probe/{in_on.id}").status_code == 200
    assert patient.get(f"/probe/{in_off.id}").status_code == 404
    assert patient.get("/probe/").status_code == 200  # the patient has a consultation in «on»

    doctor_off = app.test_client()
    login_session(doctor_off, world["doctor_off"])
    assert doctor_off.get("/probe/").status_code == 404
    doctor_on = app.test_client()
    login_session(doctor_on, world["doctor_on"])
    assert doctor_on.get("/probe/").status_code == 200
    card = doctor_on.get(f"/workplace/applications/{in_on.id}").get_data(as_text=True)
    assert f"/probe/{in_on.id}" in card  # the plugin's action on the card
    card = doctor_off.get(f"/workplace/applications/{in_off.id}").get_data(as_text=True)
    assert "/probe/" not in card
    assert app.test_client().get("/probe/").status_code == 404  # anonymous: the deployment's switch


def test_socketio_events_follow_the_consultation_they_name(world):
    from core.extensions import socketio
    from core.testing import login_session

    app, in_on, in_off = world["app"], world["in_on"], world["in_off"]
    client = app.test_client()
    login_session(client, world["account"])
    socket = socketio(app).test_client(app, namespace="/probe", flask_test_client=client)
    assert socket.is_connected("/probe")
    assert socket.emit("ping", {"consultation_id": in_on.id}, namespace="/probe", callback=True) == {"ok": True}
    refused = socket.emit("ping", {"consultation_id": in_off.id}, namespace="/probe", callback=True)
    assert refused["ok"] is False and refused["status"] == 404

    doctor = app.test_client()
    login_session(doctor, world["doctor_off"])
    socket = socketio(app).test_client(app, namespace="/probe", flask_test_client=doctor)
    assert not socket.is_connected("/probe")


def test_tasks_for_a_consultation_follow_its_organisation(world):
    probe, in_on, in_off = world["probe"], world["in_on"], world["in_off"]
    probe.calls.clear()
    enqueue_for(in_on, "probe.note", consultation_id=in_on.id)
    enqueue_for(in_off, "probe.note", consultation_id=in_off.id)
    enqueue("probe.sweep")  # for no consultation: runs, the plugin is on somewhere
    db.session.commit()
    assert probe.calls == [("task", in_on.id), ("sweep", None)]

    db.session.execute(db.update(PluginState).values(enabled=False))
    db.session.commit()
    enqueue("probe.sweep")
    db.session.commit()
    assert probe.calls == [("task", in_on.id), ("sweep", None)]  # off everywhere now


def test_a_celery_task_for_a_consultation_carries_its_organisation(make_app):
    """The organisation travels in the message; the worker checks the switch for it."""
    config = {"TASKS_BACKEND": "celery", "CELERY_BROKER_URL": "memory://",
              "CELERY_OPTIONS": {"task_always_eager": True}}
    for world in _world(make_app, config):
        probe, in_on, in_off = world["probe"], world["in_on"], world["in_off"]
        probe.calls.clear()
        enqueue_for(in_on, "probe.note", consultation_id=in_on.id)
        enqueue_for(in_off, "probe.note", consultation_id=in_off.id)
        db.session.commit()
        assert probe.calls == [("task", in_on.id)]
