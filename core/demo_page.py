"""/demo: the demo patients with their SNILS, OMS policy and passport, so the doctor guide
can be followed from its first step. Registered only in development with DEMO_DATA on."""

from __future__ import annotations

from flask import Blueprint, render_template

from core import demo
from core.access import require

blueprint = Blueprint("demo", __name__)


@blueprint.route("/demo")
def patients():
    require("demo.patients")
    return render_template("demo.html", patients=demo.demo_patients(), password=demo.DEMO_PASSWORD)
