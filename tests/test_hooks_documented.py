"""Every hook has documentation, a generated reference that is up to date, and a test
(the way datasette keeps its plugin hooks honest)."""

import inspect
from pathlib import Path

import pytest

from core import hookspecs
from core.cli import hook_reference

ROOT = Path(__file__).resolve().parent.parent
HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("teleconsult_")]


def test_there_are_hooks():
    assert len(HOOKS) >= 20


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 40, f"{name} needs a docstring saying what it returns and when it fires"


def test_reference_is_up_to_date():
    generated = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert generated.strip() == hook_reference().strip(), "run: teleconsult hooks > docs/hooks.md"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_exercised_by_a_test(name):
    this = Path(__file__).resolve()
    for path in (ROOT / "tests").rglob("*.py"):
        if path.resolve() != this and name in path.read_text(encoding="utf-8"):
            return
    pytest.fail(f"no test names {name}")
