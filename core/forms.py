"""The base of the app's HTML forms."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """A form that reads what a browser submits, never a JSON body.

    Flask-WTF takes a JSON object as the form's data when the form part is empty; its
    numbers, lists and objects then reach fields that expect text and break their
    validators. No page posts JSON to these forms, so such a body is no submission.
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            if request.is_json and not request.form:
                return None
            return super().wrap_formdata(form, formdata)
