"""``teleconsult new-plugin NAME``: the skeleton of a route plugin (docs/plugins.md).

It writes an installable package with a route (application and conclusion fields), a
block on the application card, an English catalogue and a test that files and completes
a consultation of the route; ``pip install -e .`` registers it.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import click

FILES = {
    "pyproject.toml": '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "teleconsult-{dash}"
version = "0.1.0"
description = "A consultation route for teleconsult"
dependencies = ["teleconsult"]

[project.entry-points."teleconsult.plugins"]
{name} = "{name}"

[tool.setuptools.packages.find]
include = ["{name}*"]

[tool.setuptools.package-data]
{name} = ["templates/**/*.html", "translations/**/*.po"]
''',
    "conftest.py": '''pytest_plugins = ["core.testing"]
''',
    "{name}/__init__.py": '''"""{title}: a consultation route (teleconsult plugin)."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.markers import hookimpl
from core.routespec import ConsultationTypeSpec, RouteSpec
from {name}.schemas import Application, Conclusion

ROUTE = "{name}"
blueprint = Blueprint("{name}", __name__, template_folder="templates")


@hookimpl
def teleconsult_register_routes():
    return [
        RouteSpec(
            code=ROUTE,
            title="{title}",
            types=(ConsultationTypeSpec(code="{name}", name="{title}", profiles=("97",)),),
            application_schema=Application,
            conclusion_schema=Conclusion,
        )
    ]


@hookimpl
def teleconsult_register_blueprints(app):
    return [blueprint]  # carries the templates


@hookimpl
def teleconsult_register_template_blocks(slot, context):
    consultation = context.get("consultation")
    if slot != "workplace.card.details" or consultation is None or consultation.type.route != ROUTE:
        return []
    return [render_template("{name}/card_note.html", c=consultation)]
''',
    "{name}/schemas.py": '''"""What the doctor enters when filing the route, and what the consultant concludes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import routeforms


class Application(routeforms.RouteSchema):
    onset = routeforms.date(_l("Дата начала симптомов"), required=True, not_future=True)
    temperature = routeforms.number(_l("Температура тела"), required=True, minimum=34, maximum=43, unit="°C")


class Conclusion(routeforms.RouteSchema):
    diagnosis_code = routeforms.icd10(required=True)
    recommendations = routeforms.textarea(_l("Рекомендации"), required=True)
''',
    "{name}/templates/{name}/card_note.html": '''<p class="note">{{{{ _('Температура при подаче заявки') }}}}: {{{{ c.route_data.temperature }}}} °C</p>
''',
    "{name}/translations/en/LC_MESSAGES/messages.po": '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: en\\n"

msgid "Дата начала симптомов"
msgstr "Date of onset"

msgid "Температура тела"
msgstr "Body temperature"

msgid "Рекомендации"
msgstr "Recommendations"

msgid "Температура при подаче заявки"
msgstr "Temperature when filed"
''',
    "tests/test_{name}.py": '''"""The route files and completes with its own fields."""

import pytest

import {name}
from core import lifecycle
from core.access import principal_for_user
from core.errors import InvalidInput
from core.models import Outcome
from core.storage import store_document
from core.testing import Factory


def test_route(make_app):
    app = make_app(plugins=[], extra_plugins=[("{name}", {name})])
    with app.app_context():
        factory = Factory(app)
        with pytest.raises(InvalidInput) as refused:
            factory.consultation(type_code="{name}", route_data={{"temperature": "жар"}})
        assert set(refused.value.field_errors["route_data"]) == {{"onset", "temperature"}}
        from core.db import db

        db.session.rollback()
        consultation = factory.consultation(type_code="{name}", route_data={{"onset": "2026-01-10", "temperature": 38.1}})
        assert consultation.route_data == {{"onset": "2026-01-10", "temperature": 38.1}}
        document = store_document("c.pdf", b"%PDF-1.4\\n%%EOF\\n", kind="conclusion_scan", consultation_id=consultation.id)
        actor = principal_for_user(consultation.consultant)
        lifecycle.complete(consultation, Outcome.UPLOADED_CONCLUSION, actor, document=document,
                           conclusion_data={{"diagnosis_code": "J06.9", "recommendations": "Обильное питьё"}})
        db.session.commit()
        assert consultation.conclusion_data["diagnosis_code"] == "J06.9"
''',
}


def write_skeleton(name: str, target: Path, title: str | None = None) -> list[Path]:
    """Write the skeleton of plugin ``name`` under ``target``; refuses to overwrite."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", name) or keyword.iskeyword(name):
        raise click.BadParameter("a plugin name is a Python identifier in lower case (follow_up)")
    values = {"name": name, "dash": name.replace("_", "-"), "title": title or name.replace("_", " ").capitalize()}
    written = []
    for path_template, text in FILES.items():
        path = target / path_template.format(**values)
        if path.exists():
            raise click.ClickException(f"{path} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(**values), encoding="utf-8")
        written.append(path)
    return written


@click.command("new-plugin")
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write it (default: ./<name>)")
@click.option("--title", default=None, help="The route's title in Russian")
def new_plugin_command(name: str, directory: Path | None, title: str | None) -> None:
    """Write the skeleton of a route plugin NAME (see docs/plugins.md)."""
    target = directory or Path(name)
    for path in write_skeleton(name, target, title):
        click.echo(path)
    click.echo(f"next: cd {target} && pip install -e . && pytest")
