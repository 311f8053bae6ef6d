"""A throwaway plugin exercises the setup, route and consultation hooks (SPEC F1, F2)."""

import click
from flask.cli import with_appcontext
import marshmallow
import pytest
import sqlalchemy as sa
from flask import Blueprint

from core import hookimpl, lifecycle
from core.access import principal_for_user, require
from core.db import db
from core.errors import InvalidInput
from core.lifecycle import CompletionMethod
from core.menus import MenuItem
from core.models import ConsultationType, Outcome
from core.routeforms import RouteSchema
from core.routespec import ConsultationTypeSpec, RouteSpec
from core.tasks import TaskSpec, enqueue


class FollowUpApplication(RouteSchema):
    temperature = marshmallow.fields.Float(
        required=True, validate=marshmallow.validate.Range(min=34, max=43)
    )
    onset = marshmallow.fields.Date(required=True)


class FollowUpConclusion(RouteSchema):
    diagnosis = marshmallow.fields.String(required=True)


def _no_fever_after_a_month(consultation, data):
    return ["Слишком давно"] if data["onset"] < "2020-01-01" else []


blueprint = Blueprint("follow_up", __name__, url_prefix="/follow-up")


@blueprint.route("/<int:consultation_id>")
def card(consultation_id):
    from core.models import Consultation

    consultation = db.get_or_404(Consultation, consultation_id)
    require("follow_up.view", consultation)
    return "ok"


DONE = []


class FollowUpPlugin:
    """A route of its own, a task, a menu item, a command and an access rule."""

    @hookimpl
    def teleconsult_register_config_defaults(self):
        return {"FOLLOW_UP_DAYS": 14}

    @hookimpl
    def teleconsult_config_check(self, settings):
        return ["follow-up needs a day count"] if settings["FOLLOW_UP_DAYS"] < 1 else []

    @hookimpl
    def teleconsult_register_routes(self):
        return [
            RouteSpec(
                code="follow_up",
                title="Повторная консультация",
                types=(ConsultationTypeSpec(code="follow_up", name="Повторная консультация", profiles=("97",), attention_text="Только для повторных обращений"),),
                application_schema=FollowUpApplication,
                conclusion_schema=FollowUpConclusion,
                validate=_no_fever_after_a_month,
            )
        ]

    @hookimpl
    def teleconsult_consultation_validate(self, consultation):
        return ["Комментарий обязателен"] if not consultation.comment else []

    @hookimpl
    def teleconsult_register_blueprints(self, app):
        return [blueprint]

    @hookimpl
    def teleconsult_register_access_rules(self):
        return {"follow_up.view": lambda principal, consultation: principal.id == consultation.consultant_id}

    @hookimpl
    def teleconsult_register_menu_items(self, area):
        return [MenuItem("Повторные", "follow_up.card", order=1, url_values={"consultation_id": 1})] if area == "workplace" else []

    @hookimpl
    def teleconsult_register_cli_commands(self):
        @click.command("follow-up-count")
        @with_appcontext
        def count():
            click.echo(db.session.scalar(sa.select(sa.func.count(ConsultationType.id))))

        return [count]

    @hookimpl
    def teleconsult_register_tasks(self):
        return [TaskSpec("follow_up.remember", lambda consultation_id: DONE.append(consultation_id))]

    @hookimpl
    def teleconsult_register_migrations(self):
        return []

    @hookimpl
    def teleconsult_register_completion_methods(self, consultation, principal):
        return [CompletionMethod("follow_up", "Назначить повторную", "follow_up.card", Outcome.SIGNED_CONCLUSION, order=1)]

    @hookimpl
    def teleconsult_register_consultation_actions(self, consultation, principal):
        return [MenuItem("Карта наблюдения", "follow_up.card", url_values={"consultation_id": consultation.id})]

    @hookimpl
    def teleconsult_consultation_completed(self, consultation, outcome, actor):
        enqueue("follow_up.remember", consultation_id=consultation.id)


@pytest.fixture
def follow_up_app(make_app):
    from core.dictionaries import sync_reference_data

    DONE.clear()
    app = make_app(plugins=[], extra_plugins=[("follow_up", FollowUpPlugin())])
    with app.app_context():
        sync_reference_data()
        db.session.commit()
    return app


def _draft(factory, doctor, **kw):
    from core.consultations import ConsultationDraft

    ctype = factory.consultation_type("follow_up")
    patient = factory.patient()
    values = dict(
        type_id=ctype.id, profile_id=ctype.profiles[0].id, patient_id=patient.id,
        consultant_id=doctor.id, email="p@example.ru", comment="повторно",
        route_data={"temperature": 38.2, "onset": "2026-11-01"}, slot_id=factory.slot(doctor).id,
    )
    values.update(kw)
    return ConsultationDraft(**values)


def test_route_types_schemas_and_validation(follow_up_app):
    from core.consultations import create_consultation
    from core.testing import Factory

    with follow_up_app.app_context():
        factory = Factory(follow_up_app)
        doctor = factory.doctor()
        ctype = factory.consultation_type("follow_up")
        assert ctype.route == "follow_up" and [p.code for p in ctype.profiles] == ["97"]
        assert ctype.attention_text == "Только для повторных обращений"
        actor = principal_for_user(doctor)
        with pytest.raises(InvalidInput) as error:
            create_consultation(_draft(factory, doctor, route_data={"temperature": "жар"}), actor)
        # Route fields' messages are nested under route_data, apart from the core's fields (F2).
        assert set(error.value.field_errors) == {"route_data"}
        assert set(error.value.field_errors["route_data"]) == {"temperature", "onset"}
        with pytest.raises(InvalidInput, match="Слишком давно"):
            create_consultation(_draft(factory, doctor, route_data={"temperature": 37, "onset": "2019-05-01"}), actor)
        with pytest.raises(InvalidInput, match="Комментарий обязателен"):
            create_consultation(_draft(factory, doctor, comment=""), actor)
        db.session.rollback()
        consultation = create_consultation(_draft(factory, doctor), actor)
        db.session.commit()
        assert consultation.route_data == {"temperature": 38.2, "onset": "2026-11-01"}

        methods = lifecycle.completion_methods(consultation, actor)
        assert [m.code for m in methods] == ["follow_up", "no_conclusion"]
        from core.storage import store_document

        document = store_document("c.pdf", b"%PDF-1.4\n%%EOF\n", kind="conclusion", consultation_id=consultation.id)
        with pytest.raises(InvalidInput) as refused:
            lifecycle.complete(consultation, Outcome.SIGNED_CONCLUSION, actor, document=document, conclusion_data={})
        assert refused.value.status == 422
        assert refused.value.field_errors == {"conclusion_data": {"diagnosis": ["Обязательное поле."]}}
        db.session.rollback()
        consultation = db.session.merge(consultation)
        document = store_document("c.pdf", b"%PDF-1.4\n%%EOF\n", kind="conclusion", consultation_id=consultation.id)
        lifecycle.complete(consultation, Outcome.SIGNED_CONCLUSION, actor, document=document, conclusion_data={"diagnosis": "J06.9"})
        assert DONE == []  # tasks wait for the commit
        db.session.commit()
        assert DONE == [consultation.id]
        assert consultation.conclusion_data == {"diagnosis": "J06.9"}


def test_setup_hooks(follow_up_app):
    from core.menus import menu
    from core.testing import Factory, login_session

    assert follow_up_app.config["FOLLOW_UP_DAYS"] == 14
    runner = follow_up_app.test_cli_runner()
    # remote_patient and follow_up; the representative's twin needs the guardian plugin.
    assert runner.invoke(args=["follow-up-count"]).output.strip() == "2"
    with follow_up_app.app_context():
        factory = Factory(follow_up_app)
        doctor, other = factory.doctor(), factory.doctor()
        consultation = factory.consultation(author=doctor, type_code="follow_up", comment="x", route_data={"temperature": 37, "onset": "2026-10-01"})
        client = follow_up_app.test_client()
        login_session(client, doctor)
        assert client.get(f"/follow-up/{consultation.id}").status_code == 200
        login_session(client, other)
        assert client.get(f"/follow-up/{consultation.id}").status_code == 404
        with follow_up_app.test_request_context():
            from core.access import principal_for_user

            items = menu("workplace", principal_for_user(doctor))
            assert items[0].title == "Повторные"


def test_config_check_stops_production(make_app):
    from core.app import create_app
    from core.settings import SettingsError

    class Strict(FollowUpPlugin):
        pass

    with pytest.raises(SettingsError, match="day count"):
        create_app(
            {"SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql+psycopg://db/x", "FOLLOW_UP_DAYS": 0},
            environment="production",
            plugins=[],
            extra_plugins=[("strict", Strict())],
        )
