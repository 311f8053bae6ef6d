"""Workplace pages. Every view asks ``core.access`` first."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.access import require

blueprint = Blueprint("workplace", __name__, url_prefix="/workplace")


@blueprint.before_request
def _staff_only():
    require("workplace.use")


@blueprint.route("/")
def index():
    return render_template("workplace/index.html")
