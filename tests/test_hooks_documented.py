"""Every hook has documentation, a generated reference that is up to date, and a test
that really calls it (the way datasette keeps its plugin hooks honest). Plugins' own
hook specifications (``teleconsult_register_hookspecs``) count as much as the core's."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import hook_functions, hook_reference, hookspec_modules
from core.hookspecs import RENAMED_HOOKS, TeleconsultDeprecationWarning
from core.markers import hookimpl
from core.plugins import LiveHooks, build_plugin_manager

ROOT = Path(__file__).resolve().parent.parent
SPECS = {name: (plugin, func) for plugin, module in hookspec_modules() for name, func in hook_functions(module)}
HOOKS = sorted(SPECS)

LIFECYCLE = "tests/integration/test_lifecycle.py::test_every_transition_fires_its_hook"
SETUP = "tests/integration/test_hooks.py::test_setup_hooks"
ROUTE = "tests/integration/test_hooks.py::test_route_types_schemas_and_validation"
LISTS = "tests/integration/test_realtime_and_lists.py::test_badges_add_up_and_first_link_wins"
PRESENCE = "tests/integration/test_realtime_and_lists.py::test_presence_fires_participant_hooks"

# The test that exercises each hook: it runs with every hook call recorded, and must
# call the hook with a plugin's implementation.
EXERCISED_BY = {
    "teleconsult_register_hookspecs": "tests/integration/test_plugins.py::test_a_plugin_adds_hooks_that_other_plugins_implement",
    "teleconsult_register_config_defaults": SETUP,
    "teleconsult_config_check": "tests/integration/test_hooks.py::test_config_check_stops_production",
    "teleconsult_register_blueprints": SETUP,
    "teleconsult_register_admin_views": "tests/admin/test_console_plugins.py::test_switching_off_stops_the_plugin_at_once",
    "teleconsult_register_socketio_namespaces": "tests/integration/test_realtime_and_lists.py::test_namespace_events_follow_the_policy_and_the_switch",
    "teleconsult_register_tasks": ROUTE,
    "teleconsult_register_migrations": "tests/integration/test_migrations.py::test_every_plugin_branch_depends_on_core",
    "teleconsult_register_menu_items": SETUP,
    "teleconsult_register_cli_commands": SETUP,
    "teleconsult_register_companion_processes": "tests/video/test_echo.py::test_teleconsult_run_starts_the_echo_beside_the_web_server",
    "teleconsult_register_access_rules": SETUP,
    "teleconsult_consultation_validate": ROUTE,
    "teleconsult_consultation_created": LIFECYCLE,
    "teleconsult_consultation_scheduled": LIFECYCLE,
    "teleconsult_consultation_started": LIFECYCLE,
    "teleconsult_consultation_completed": LIFECYCLE,
    "teleconsult_register_completion_methods": ROUTE,
    "teleconsult_register_consultation_actions": "tests/integration/test_plugin_switch_scope.py::test_plugin_pages_follow_the_consultation_they_show_else_the_viewer",
    "teleconsult_register_consultation_badges": LISTS,
    "teleconsult_register_consultation_link": LISTS,
    "teleconsult_register_list_scripts": "tests/integration/test_realtime_and_lists.py::test_list_pages_load_the_scripts_plugins_add_once_each",
    "teleconsult_participant_added": LIFECYCLE,
    "teleconsult_participant_joined": PRESENCE,
    "teleconsult_participant_left": PRESENCE,
    "teleconsult_register_participant_roles": "tests/integration/test_participant_roles.py::test_a_plugin_adds_a_participant_role",
    "teleconsult_register_routes": ROUTE,
    "teleconsult_register_notification_channels": "tests/notifications/test_inprocess.py::test_a_plugin_channel_replaces_the_built_in_sms",
    "teleconsult_register_audit_titles": "tests/admin/test_console_plugins.py::test_a_plugin_gives_its_audit_events_titles",
    "teleconsult_register_api_blueprints": "tests/api/test_plugin_endpoints.py::test_a_plugin_endpoint_is_served_as_part_of_the_api",
    "teleconsult_consultation_notified": "tests/video/test_hooks.py::test_consultation_notice_becomes_a_chat_system_message",
    "teleconsult_register_page_scripts": "tests/video/test_hooks.py::test_chat_header_has_the_video_buttons_and_portal_pages_the_popup",
    "teleconsult_register_chat_header_actions": "tests/video/test_hooks.py::test_chat_header_has_the_video_buttons_and_portal_pages_the_popup",
    "teleconsult_register_media_backend": "tests/video/test_janus.py::test_a_plugin_registers_a_media_backend_through_teleconsult_register_media_backend",
    "teleconsult_register_outcomes": "tests/tutorial_route/test_pressure_route.py::test_completed_with_the_routes_conclusion_the_card_chat_and_api_show_it",
    "teleconsult_register_template_blocks": "tests/tutorial_route/test_pressure_route.py::test_the_wizard_asks_the_routes_fields_refuses_bad_ones_in_russian_and_keeps_good_ones",
    "teleconsult_register_wizard_steps": "tests/workplace/test_wizard_steps.py::test_a_plugin_step_sits_after_its_anchor_is_required_and_follows_the_switch",
    "teleconsult_register_wards": "tests/guardian/test_basis.py::test_an_operator_attaches_a_document_and_only_then_the_representative_acts",
    "teleconsult_representation_check": "tests/guardian/test_wizard_child.py::test_a_child_typed_by_hand_is_added_to_the_registry_and_the_application_filed",
    "teleconsult_person_children_listed": "tests/portal/test_guardianship_esia.py::test_esia_lists_the_child_by_oms_policy_and_birth_date_and_the_claim_becomes_a_basis",
    "teleconsult_register_patient_record_fields": "tests/registry/test_import_api.py::test_guardianships_link_representative_and_child",
    "teleconsult_registry_links_import": "tests/registry/test_import_api.py::test_guardianships_link_representative_and_child",
    "teleconsult_register_dashboard_figures": "tests/admin/test_dashboard.py::test_the_figures_of_a_known_data_set",
    "teleconsult_register_logout_url": "tests/integration/test_auth.py::test_a_plugin_sends_the_browser_through_its_own_logout",
    "teleconsult_register_login_options": "tests/integration/test_auth.py::test_the_portal_sends_an_anonymous_visitor_to_the_login_a_plugin_offers",
}


def test_there_are_hooks_of_the_core_and_of_plugins():
    assert len(HOOKS) >= 25
    assert SPECS["teleconsult_register_notification_channels"][0] == "notifications"
    assert SPECS["teleconsult_consultation_created"][0] == "core"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name):
    doc = inspect.getdoc(SPECS[name][1]) or ""
    assert len(doc) > 40, f"{name} needs a docstring saying what it returns and when it fires"


def _is_firstresult(func) -> bool:
    return bool(getattr(func, "teleconsult_spec", {}).get("firstresult"))


@pytest.mark.parametrize("name", [n for n in HOOKS if _is_firstresult(SPECS[n][1])])
def test_a_firstresult_hook_says_it_stops_at_the_first_answer(name):
    doc = " ".join((inspect.getdoc(SPECS[name][1]) or "").split())
    assert "stops at the first non-None result" in doc
    assert ":returns:" in doc and ":param" in doc


#: The core's renamed hooks and those of the plugins' own hooks.
RENAMED = {
    old: new for _plugin, module in hookspec_modules() for old, new in getattr(module, "RENAMED_HOOKS", {}).items()
}


def test_the_plugins_renamed_hooks_are_known():
    assert set(RENAMED_HOOKS) < set(RENAMED)
    assert RENAMED["teleconsult_chat_header_actions"] == "teleconsult_register_chat_header_actions"


@pytest.mark.parametrize("old, new", sorted(RENAMED.items()))
def test_a_renamed_hook_is_documented_under_its_new_name(old, new):
    assert new in SPECS and old not in SPECS
    doc = inspect.getdoc(SPECS[new][1]) or ""
    assert f"Formerly ``{old}``" in " ".join(doc.split())
    if inspect.signature(SPECS[new][1]).parameters:
        assert ":param" in doc
    assert ":returns:" in doc
    assert f"``{old}`` → ``{new}``" in hook_reference()


def test_the_old_ways_of_adding_and_implementing_a_plugins_hooks_still_work_and_warn():
    """``teleconsult_add_hookspecs(pluginmanager)`` still adds specifications, and an
    implementation of a plugin's renamed hook under its old name is called as the new
    hook, even when registered before the plugin that declares it."""
    import types

    from core.markers import hookspec

    def teleconsult_register_rating_shown(score: int) -> list[str]:
        """The declaring plugin's hook under its new name."""

    specs = types.ModuleType("rating_hookspecs")
    specs.teleconsult_register_rating_shown = hookspec(teleconsult_register_rating_shown)
    specs.RENAMED_HOOKS = {"teleconsult_rating_shown": "teleconsult_register_rating_shown"}

    class Declaring:
        @hookimpl
        def teleconsult_add_hookspecs(self, pluginmanager):
            pluginmanager.add_hookspecs(specs)

    class Early:  # registered before the hook exists, under its old name
        @hookimpl(optionalhook=True)
        def teleconsult_rating_shown(self, score):
            return f"early {score}"

    class Late:
        @hookimpl(optionalhook=True)
        def teleconsult_rating_shown(self, score):
            return f"late {score}"

    with pytest.warns(TeleconsultDeprecationWarning) as caught:
        pm = build_plugin_manager([], [], extra=[("early", Early()), ("rating", Declaring()), ("late", Late())])
    assert {str(w.message).split()[1] for w in caught} == {"teleconsult_add_hookspecs", "teleconsult_rating_shown"}
    assert all(w.filename == __file__ for w in caught)
    assert sorted(pm.hook.teleconsult_register_rating_shown(score=5)) == ["early 5", "late 5"]
    assert not hasattr(pm.hook, "teleconsult_rating_shown")
    assert pm.hookspec_owners["teleconsult_register_rating_shown"] == "rating"
    with pytest.warns(TeleconsultDeprecationWarning, match="call it by the new name"):
        assert sorted(LiveHooks(pm, frozenset()).teleconsult_rating_shown(score=1)) == ["early 1", "late 1"]


def test_an_implementation_under_an_old_name_is_called_as_the_new_hook_and_warns():
    class Old:
        @hookimpl
        def teleconsult_consultation_badges(self, consultations, principal):
            return {7: 2}

        @hookimpl
        def teleconsult_consultation_link(self, consultation, principal):
            return "/old"

    class New:
        @hookimpl
        def teleconsult_register_consultation_badges(self, consultations, principal):
            return {7: 1}

    with pytest.warns(TeleconsultDeprecationWarning, match=r"^hook teleconsult_consultation_\w+ is renamed") as caught:
        pm = build_plugin_manager([], [], extra=[("old", Old()), ("new", New())])
    assert {str(w.message).split()[1] for w in caught} == {"teleconsult_consultation_badges", "teleconsult_consultation_link"}
    assert caught[0].filename == __file__
    assert sorted(pm.hook.teleconsult_register_consultation_badges(consultations=[], principal=None), key=str) == [{7: 1}, {7: 2}]
    assert pm.hook.teleconsult_register_consultation_link(consultation=None, principal=None) == "/old"
    assert not hasattr(pm.hook, "teleconsult_consultation_badges")
    with pytest.warns(TeleconsultDeprecationWarning, match="call it by the new name"):
        old_caller = LiveHooks(pm, frozenset()).teleconsult_consultation_link
    assert old_caller(consultation=None, principal=None) == "/old"


def test_reference_is_up_to_date():
    generated = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert generated.strip() == hook_reference().strip(), "run: teleconsult hooks > docs/hooks.md"
    assert "(plugin `notifications`)" in generated


def test_every_hook_names_the_test_that_exercises_it():
    assert set(EXERCISED_BY) == set(HOOKS), "add the new hook and its test to EXERCISED_BY"


@pytest.fixture(scope="module")
def called_hooks(tmp_path_factory) -> set[str]:
    """Run the named tests once, in a process of their own, recording every hook call."""
    record = tmp_path_factory.mktemp("hooks") / "called.json"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TELECONSULT_TEST_POSTGRES")}
    env["TELECONSULT_HOOK_RECORD"] = str(record)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.hook_recorder",
         *sorted(set(EXERCISED_BY.values()))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"the tests that exercise hooks failed:\n{result.stdout[-4000:]}"
    return set(json.loads(record.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_exercised_by_a_test(name, called_hooks):
    test = EXERCISED_BY[name]
    path = ROOT / test.split("::")[0]
    assert name in path.read_text(encoding="utf-8"), f"{test} should name {name}"
    assert name in called_hooks, f"{test} ran, but no plugin's {name} was called"
