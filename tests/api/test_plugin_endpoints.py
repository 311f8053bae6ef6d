"""A plugin's REST endpoints (``teleconsult_register_api_blueprints``) are part of the API:
token auth, JSON errors in Russian, the access policy, the OpenAPI document, the switch."""

from flask import Blueprint, jsonify

from core import hookimpl
from core.access import require
from core.api.schemas import ProfileSchema
from core.api.views import operation
from core.db import db
from core.models import PluginState
from core.testing import Factory, login_session
from tests.api.conftest import Api, error_of, is_russian

blueprint = Blueprint("throwaway_api", __name__, url_prefix="/throwaway")


@blueprint.get("/echo")
@operation("Проверка", action="throwaway_api.echo", scopes=("consultations:read",), response=ProfileSchema, errors=(401, 403))
def echo():
    principal = require("throwaway_api.echo")
    return jsonify({"name": principal.name})


class ThrowawayApi:
    @hookimpl
    def teleconsult_register_api_blueprints(self, app):
        return [blueprint]

    @hookimpl
    def teleconsult_register_access_rules(self):
        return {"throwaway_api.echo": lambda principal, obj=None: principal.has_scope("consultations:read")}


def test_a_plugin_endpoint_is_served_as_part_of_the_api(make_app, make_token):
    app = make_app(extra_plugins=[("throwaway_api", ThrowawayApi())])
    assert app.url_map.bind("localhost").match("/api/v1/throwaway/echo")[0] == "api.throwaway_api.echo"
    client = app.test_client()
    with app.app_context():
        factory = Factory(app)
        organisation = factory.organisation()
        doctor = factory.doctor(organisation)
        token = make_token(organisation, "consultations:read", name="МИС «Плагин»")
        no_scope = make_token(organisation, "registry:read")

        anonymous = client.get("/api/v1/throwaway/echo")
        assert anonymous.status_code == 401 and is_russian(error_of(anonymous)["message"])
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        login_session(client, doctor)  # a staff cookie is no token here either
        assert client.get("/api/v1/throwaway/echo").status_code == 401
        assert Api(client, no_scope).get("/api/v1/throwaway/echo").status_code == 403
        allowed = Api(client, token).get("/api/v1/throwaway/echo")
        assert allowed.status_code == 200 and allowed.get_json() == {"name": "МИС «Плагин»"}

        document = client.get("/api/v1/openapi.json").get_json()
        operation_doc = document["paths"]["/api/v1/throwaway/echo"]["get"]
        assert operation_doc["operationId"] == "throwaway_api_echo" and operation_doc["security"] == [{"bearer": []}]
        assert "consultations:read" in operation_doc["description"]

        db.session.add(PluginState(plugin="throwaway_api", enabled=False))
        db.session.commit()
        switched_off = Api(client, token).get("/api/v1/throwaway/echo")
        assert switched_off.status_code == 404 and is_russian(error_of(switched_off)["message"])
