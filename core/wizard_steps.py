"""Steps that plugins add to the wizard «Подать заявку» (SPEC D3, D5; seed 002 §4, §5).

A plugin returns ``WizardStep`` objects from ``teleconsult_register_wizard_steps``; the
wizard (``core.workplace.wizard``) places each right after the step it names in
``after`` (a core step: ``type``, ``profile``, ``patient``, ``confirm``, ``email``,
``details``, ``consultant``, ``slot``, or another plugin's step), shows it when
``applies(values, consultation_type)`` is true, and requires of every later step the draft
keys the step ``provides``. The core's own «Сведения для консультации» (``details``) is a
step of this kind.

GET renders ``template`` (which extends ``workplace/wizard/_layout.html`` and fills its
``step`` block) with ``context(values)``; POST calls ``submit(values)``, which keeps what
it accepted with ``core.workplace.wizard.update_state`` and returns
``core.workplace.wizard.go_next(code)``, or raises ``core.errors.UserError`` (then the
step is shown again with the message and nothing of the request is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from core.models import ConsultationType


@dataclass(frozen=True)
class WizardStep:
    code: str  # the URL segment: /workplace/new/<code>
    title: str  # in the list of steps
    after: str  # the step it follows
    template: str
    submit: Callable[[dict], Any]
    context: Callable[[dict], dict] | None = None
    applies: Callable[[dict, ConsultationType | None], bool] | None = None
    provides: tuple[str, ...] = ()  # draft keys the step sets; later steps need them

    def shown_for(self, values: dict, ctype: ConsultationType | None) -> bool:
        return self.applies is None or bool(self.applies(values, ctype))


def build_registry(contributed: list[tuple[str, WizardStep]]) -> list[tuple[str, WizardStep]]:
    """``[(plugin name, step), ...]`` in registration order; a code given twice stops the start."""
    seen: dict[str, str] = {}
    for plugin, step in contributed:
        if step.code in seen:
            raise RuntimeError(f"wizard step {step.code!r} of plugin {plugin!r} is already added by {seen[step.code]!r}")
        seen[step.code] = plugin
    # The core's steps first, then the plugins' in the order they were registered.
    return sorted(contributed, key=lambda item: item[0] != "core")


def registered(app: Flask | None = None) -> list[tuple[str, WizardStep]]:
    return (app or current_app).extensions["teleconsult.wizard_steps"]
