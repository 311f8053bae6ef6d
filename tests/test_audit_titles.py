"""Every audit action the code records has a Russian title in the audit log."""

import ast
from pathlib import Path

from admin.views import audit_titles

ROOT = Path(__file__).resolve().parent.parent


def recorded_actions() -> set[str]:
    """Action codes written as literals in calls of ``audit.record`` / ``record``."""
    found = set()
    for package in ("core", "plugins", "admin"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                first = node.args[0]
                if name == "record" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def test_every_recorded_action_has_a_title(app):
    actions = recorded_actions()
    assert len(actions) > 30
    with app.app_context():
        titled = audit_titles().actions  # the console's, the core's and the plugins'

    missing = sorted(actions - set(titled))
    assert not missing, f"add titles (core.audit.CORE_TITLES or the plugin's hook) for: {missing}"
