"""A throwaway plugin for the console tests: a page, a lifecycle hook, a console view and
the titles of its audit events."""

from flask import Blueprint
from flask_admin import BaseView, expose

from core import hookimpl

CALLS: list[int] = []
blueprint = Blueprint("throwaway", __name__, url_prefix="/throwaway")


@blueprint.route("/")
def page():
    return "throwaway page"


class ThrowawayAdmin(BaseView):
    """Deliberately checks nothing itself: the console's guard must hold it."""

    @expose("/")
    def index(self):
        return "throwaway console page"


@hookimpl
def teleconsult_register_blueprints(app):
    return [blueprint]


@hookimpl
def teleconsult_register_admin_views():
    return [ThrowawayAdmin(name="Проверка", endpoint="throwaway_admin", url="throwaway")]


@hookimpl
def teleconsult_consultation_created(consultation, actor):
    CALLS.append(consultation.id)


@hookimpl
def teleconsult_register_audit_titles():
    from core.audit import AuditTitles

    return AuditTitles(actions={"throwaway.poked": "Проверка: тычок"}, objects={"throwaway_things": "Проверочная вещь"})
