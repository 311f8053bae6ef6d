"""Every hook has documentation, a generated reference that is up to date, and a test
that really calls it (the way datasette keeps its plugin hooks honest). Plugins' own
hook specifications (``teleconsult_add_hookspecs``) count as much as the core's."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import hook_functions, hook_reference, hookspec_modules

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
    "teleconsult_add_hookspecs": "tests/integration/test_plugins.py::test_a_plugin_adds_hooks_that_other_plugins_implement",
    "teleconsult_config_defaults": SETUP,
    "teleconsult_config_check": "tests/integration/test_hooks.py::test_config_check_stops_production",
    "teleconsult_register_blueprints": SETUP,
    "teleconsult_register_admin_views": "tests/admin/test_console_plugins.py::test_switching_off_stops_the_plugin_at_once",
    "teleconsult_register_socketio_namespaces": "tests/integration/test_realtime_and_lists.py::test_namespace_events_follow_the_policy_and_the_switch",
    "teleconsult_register_tasks": ROUTE,
    "teleconsult_register_migrations": "tests/integration/test_migrations.py::test_every_plugin_branch_depends_on_core",
    "teleconsult_register_menu_items": SETUP,
    "teleconsult_register_cli_commands": SETUP,
    "teleconsult_register_access_rules": SETUP,
    "teleconsult_consultation_validate": ROUTE,
    "teleconsult_consultation_created": LIFECYCLE,
    "teleconsult_consultation_scheduled": LIFECYCLE,
    "teleconsult_consultation_started": LIFECYCLE,
    "teleconsult_consultation_completed": LIFECYCLE,
    "teleconsult_consultation_completion_methods": ROUTE,
    "teleconsult_consultation_actions": "tests/integration/test_plugin_switch_scope.py::test_plugin_pages_follow_the_consultation_they_show_else_the_viewer",
    "teleconsult_consultation_badges": LISTS,
    "teleconsult_consultation_link": LISTS,
    "teleconsult_consultation_list_scripts": "tests/integration/test_realtime_and_lists.py::test_list_pages_load_the_scripts_plugins_add_once_each",
    "teleconsult_participant_added": LIFECYCLE,
    "teleconsult_participant_joined": PRESENCE,
    "teleconsult_participant_left": PRESENCE,
    "teleconsult_register_participant_roles": "tests/integration/test_participant_roles.py::test_a_plugin_adds_a_participant_role",
    "teleconsult_register_routes": ROUTE,
    "teleconsult_notification_channels": "tests/notifications/test_inprocess.py::test_a_plugin_channel_replaces_the_built_in_sms",
    "teleconsult_register_audit_titles": "tests/admin/test_console_plugins.py::test_a_plugin_gives_its_audit_events_titles",
    "teleconsult_register_api_blueprints": "tests/api/test_plugin_endpoints.py::test_a_plugin_endpoint_is_served_as_part_of_the_api",
    "teleconsult_logout_url": "tests/integration/test_auth.py::test_a_plugin_sends_the_browser_through_its_own_logout",
}


def test_there_are_hooks_of_the_core_and_of_plugins():
    assert len(HOOKS) >= 25
    assert SPECS["teleconsult_notification_channels"][0] == "notifications"
    assert SPECS["teleconsult_consultation_created"][0] == "core"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name):
    doc = inspect.getdoc(SPECS[name][1]) or ""
    assert len(doc) > 40, f"{name} needs a docstring saying what it returns and when it fires"


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
