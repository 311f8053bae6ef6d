"""Registration hooks are collected plugin by plugin, so the core knows whose blueprint or
admin view it registers and can hide exactly those when the plugin is switched off (SPEC F1)."""

from core import hookimpl
from core.plugins import build_plugin_manager, collect


class Console:
    @hookimpl
    def teleconsult_register_admin_views(self):
        return ["reasons view", "faq view"]


class Another:
    @hookimpl
    def teleconsult_register_admin_views(self):
        return ["schedule view"]


def test_admin_views_are_collected_with_their_plugin_names():
    pm = build_plugin_manager([], [], extra=[("console", Console()), ("another", Another())])
    collected = collect(pm, "teleconsult_register_admin_views")
    assert sorted(collected) == [
        ("another", "schedule view"),
        ("console", "faq view"),
        ("console", "reasons view"),
    ]
