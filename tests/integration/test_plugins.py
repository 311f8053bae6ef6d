"""Plugins are found through the entry point, can be disabled by settings and switched
off live by the operator (SPEC F1)."""

import sys
import textwrap

import pytest
import sqlalchemy as sa

from core import hookimpl
from core.db import db
from core.models import PluginState
from core.plugins import hooks

PLUGIN_SOURCE = '''
"""A throwaway plugin used by the tests."""
from flask import Blueprint

from core import hookimpl

CALLS = []
blueprint = Blueprint("throwaway", __name__, url_prefix="/throwaway")


@blueprint.route("/")
def page():
    return "throwaway page"


@hookimpl
def teleconsult_register_blueprints(app):
    return [blueprint]


@hookimpl
def teleconsult_consultation_created(consultation, actor):
    CALLS.append(consultation.id)
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """Install a plugin package the way pip would: a module plus dist-info with an entry point."""
    site = tmp_path / "site"
    (site / "throwaway_plugin").mkdir(parents=True)
    (site / "throwaway_plugin" / "__init__.py").write_text(PLUGIN_SOURCE)
    dist = site / "throwaway_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [teleconsult.plugins]
            throwaway = throwaway_plugin
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    yield sys.modules.setdefault("throwaway_plugin", __import__("throwaway_plugin"))
    sys.modules.pop("throwaway_plugin", None)


def test_installed_plugin_is_discovered_and_called(make_app, installed_plugin):
    app = make_app()
    pm = app.extensions["teleconsult.pm"]
    assert "throwaway" in pm.info
    assert pm.info["throwaway"].distribution == "throwaway-plugin"
    assert not pm.info["throwaway"].builtin
    assert app.test_client().get("/throwaway/").get_data(as_text=True) == "throwaway page"
    with app.app_context():
        from core.testing import Factory

        consultation_id = Factory(app).consultation().id
    assert installed_plugin.CALLS == [consultation_id]


def test_plugin_disabled_in_settings_is_not_loaded(make_app, installed_plugin):
    app = make_app(config={"PLUGINS_DISABLED": ["throwaway"]})
    pm = app.extensions["teleconsult.pm"]
    assert "throwaway" not in pm.info and pm.is_blocked("throwaway")
    assert app.test_client().get("/throwaway/").status_code == 404
    with app.app_context():
        from core.testing import Factory

        Factory(app).consultation()
    assert installed_plugin.CALLS == []


def test_operator_switch_takes_effect_without_restart(make_app, installed_plugin):
    app = make_app()
    client = app.test_client()
    with app.app_context():
        from core.testing import Factory

        factory = Factory(app)
        org = factory.organisation()
        other = factory.organisation()
        doctor = factory.doctor(organisation=org)
        other_doctor = factory.doctor(organisation=other)

        db.session.add(PluginState(plugin="throwaway", enabled=False))
        db.session.commit()
        assert client.get("/throwaway/").status_code == 404
        factory.consultation(author=doctor)
        assert installed_plugin.CALLS == []

        # Per organisation: on for one organisation while off for the deployment.
        db.session.add(PluginState(plugin="throwaway", organisation_id=org.id, enabled=True))
        db.session.commit()
        from core.testing import login_session

        login_session(client, doctor)
        assert client.get("/throwaway/").status_code == 200
        other_client = app.test_client()
        login_session(other_client, other_doctor)
        assert other_client.get("/throwaway/").status_code == 404

        db.session.execute(sa.update(PluginState).values(enabled=True))
        db.session.commit()
        assert app.test_client().get("/throwaway/").status_code == 200
        consultation = factory.consultation(author=other_doctor)
        assert installed_plugin.CALLS == [consultation.id]


def test_a_misspelt_hook_fails_at_start(make_app):
    from core import hookimpl

    class Misspelt:
        @hookimpl
        def teleconsult_consultation_craeted(self, consultation, actor):
            pass

    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        make_app(plugins=[], extra_plugins=[("misspelt", Misspelt())])


def test_bare_core_has_only_the_core(make_app):
    app = make_app(plugins=[])
    assert list(app.extensions["teleconsult.pm"].info) == ["core"]
    with app.app_context():
        assert hooks(app).teleconsult_register_routes()  # the core's default route


BUILT_IN = ("chat", "conclusion_upload", "esia", "notifications")


def test_built_in_plugins_come_through_the_entry_point_group(make_app):
    import importlib.metadata

    entry_points = {ep.name: ep for ep in importlib.metadata.entry_points(group="teleconsult.plugins")}
    for name in BUILT_IN:
        assert name in entry_points, f"{name} is not registered in the teleconsult.plugins group"
        assert entry_points[name].value == f"plugins.{name}"
        assert entry_points[name].dist.metadata["Name"] == "teleconsult"
    info = make_app().extensions["teleconsult.pm"].info
    for name in BUILT_IN:
        assert info[name].builtin, f"{name} must be marked built-in"
        assert info[name].distribution == "teleconsult" and info[name].module == f"plugins.{name}"
    assert info["core"].builtin and info["core"].distribution is None  # the core is no entry point


def test_one_deployment_switch_per_plugin(app_context):
    """NULLs are distinct in a unique constraint: a partial unique index keeps the
    deployment's switch single."""
    db.session.add(PluginState(plugin="chat", organisation_id=None, enabled=False))
    db.session.commit()
    db.session.add(PluginState(plugin="chat", organisation_id=None, enabled=True))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    from core.testing import Factory

    organisation = Factory(app_context).organisation()
    db.session.add(PluginState(plugin="chat", organisation_id=organisation.id, enabled=True))
    db.session.add(PluginState(plugin="esia", organisation_id=None, enabled=False))
    db.session.commit()  # other plugins and organisations have their own rows


def teleconsult_feedback_collected(consultation_id: int, score: int) -> None:
    """A patient rated a consultation (the feedback plugin's hook, for other plugins)."""


class Feedback:
    """A plugin with a hook of its own."""

    @hookimpl
    def teleconsult_register_hookspecs(self):
        import types

        from core import hookspec

        specs = types.ModuleType("feedback_hookspecs")  # a module in real life
        specs.teleconsult_feedback_collected = hookspec(teleconsult_feedback_collected)
        return [specs]


class FeedbackListener:
    def __init__(self):
        self.scores = []

    @hookimpl(optionalhook=True)  # another plugin's hook: loads without it too
    def teleconsult_feedback_collected(self, consultation_id, score):
        self.scores.append((consultation_id, score))


class MisspeltListener:
    @hookimpl
    def teleconsult_feedback_colected(self, consultation_id, score):
        pass


def test_a_plugin_adds_hooks_that_other_plugins_implement(make_app):
    """Hook teleconsult_register_hookspecs: a plugin's specs are added at its registration,
    before check_pending, so plugins registered after it implement them."""
    from pluggy import PluginValidationError

    listener = FeedbackListener()
    app = make_app(plugins=[], extra_plugins=[("feedback", Feedback()), ("listener", listener)])
    pm = app.extensions["teleconsult.pm"]
    assert pm.hookspec_owners["teleconsult_feedback_collected"] == "feedback"
    assert pm.hookspec_owners["teleconsult_consultation_created"] == "core"
    with app.app_context():
        hooks(app).teleconsult_feedback_collected(consultation_id=7, score=5)
    assert listener.scores == [(7, 5)]

    # The plugin that declares the hook is absent: its listener still loads.
    make_app(plugins=[], extra_plugins=[("listener", FeedbackListener())])
    # A misspelt implementation of a plugin's hook fails at start, as for the core's.
    with pytest.raises(PluginValidationError):
        make_app(plugins=[], extra_plugins=[("feedback", Feedback()), ("misspelt", MisspeltListener())])


def test_the_notifications_plugin_brings_its_own_hook(make_app):
    from core import hookspecs

    assert not hasattr(hookspecs, "teleconsult_register_notification_channels")  # the core knows no plugin
    with_notifications = make_app(plugins=["notifications"])
    pm = with_notifications.extensions["teleconsult.pm"]
    assert pm.hookspec_owners["teleconsult_register_notification_channels"] == "notifications"
    bare = make_app(plugins=[]).extensions["teleconsult.pm"]
    assert "teleconsult_register_notification_channels" not in bare.hookspec_owners


def test_an_extra_plugin_named_like_an_installed_one_is_registered_not_dropped(make_app):
    """make_app(plugins=[], extra_plugins=[(name, module)]) with a package of that name
    installed: the given module is the plugin, not silently nothing (F1)."""
    from core import hookimpl
    from core.plugins import plugin_manager
    from core.routespec import RouteSpec

    class Replacement:
        @hookimpl
        def teleconsult_register_routes(self):
            return [RouteSpec(code="replacement", title="Замена")]

    replacement = Replacement()
    app = make_app(plugins=[], extra_plugins=[("chat", replacement)])
    pm = plugin_manager(app)
    assert pm.get_plugin("chat") is replacement and "chat" not in pm.unloaded
    assert "replacement" in app.extensions["teleconsult.routes"]
    assert "chat.view" not in app.view_functions and "chat" not in app.blueprints
