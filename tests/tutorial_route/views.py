"""«Завершить с планом контроля»: the route's own completion method, a conclusion form
without a document."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import lifecycle, routeforms
from core.access import require
from core.db import db
from core.errors import InvalidInput
from core.models import Consultation
from core.routing import route_for

blueprint = Blueprint("pressure", __name__, url_prefix="/pressure", template_folder="templates")


@blueprint.route("/<int:consultation_id>/complete", methods=["GET", "POST"])
def complete(consultation_id: int):
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        abort(404)
    principal = require("consultation.complete", consultation)
    schema = route_for(consultation.type).conclusion_schema
    typed, errors, error = {}, {}, None
    if request.method == "POST":
        typed = routeforms.read_form(schema, request.form, routeforms.CONCLUSION)
        try:
            lifecycle.complete(consultation, "pressure_plan", principal, conclusion_data=typed)
        except InvalidInput as problem:
            db.session.rollback()
            error, errors = str(problem.message), routeforms.field_messages(problem, routeforms.CONCLUSION)
        else:
            db.session.commit()
            flash(_("Консультация завершена с планом контроля"), "success")
            return redirect(url_for("workplace.application", consultation_id=consultation.id))
    fields = routeforms.form_fields(schema, typed, errors, routeforms.CONCLUSION)
    return render_template("pressure/complete.html", c=consultation, fields=fields, error=error), 422 if error else 200
