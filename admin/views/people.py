"""The console's users and roles (SPEC A1)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import PasswordField
from wtforms.validators import Length, Optional, ValidationError

from core import audit, params
from core.access import current_principal
from core.db import db
from core.models import Role, User

from admin.views.labels import LABELS, DictionaryView

class PasswordSetField(PasswordField):
    """Sets the password through ``User.set_password``; never written to the model as is."""

    def populate_obj(self, obj, name):
        pass


def _full_name(view, context, model, name):
    return model.full_name


class UserView(DictionaryView):
    column_list = (
        "login", "last_name", "organisation", "roles", "position", "is_active", "locked_until", "last_login_at",
    )
    column_labels = {**LABELS, "last_name": _l("ФИО")}
    column_formatters = {**DictionaryView.column_formatters, "last_name": _full_name}
    column_details_list = (
        "login", "last_name", "organisation", "roles", "position", "specialty",
        "email", "phone", "is_active", "locked_until", "failed_logins", "last_login_at", "created_at",
    )
    column_formatters_export = {"last_name": lambda view, context, model, name: model.full_name}
    column_export_list = column_details_list
    can_export = True
    form_columns = (
        "login", "last_name", "first_name", "middle_name", "organisation", "roles", "position",
        "specialty", "email", "phone", "new_password", "is_active", "locked_until", "failed_logins",
    )
    form_extra_fields = {
        "new_password": PasswordSetField(
            _l("Новый пароль"),
            validators=[Optional(), Length(min=8, max=200, message=_l("Пароль: от 8 до 200 символов"))],
            description=_l("Оставьте пустым, чтобы не менять пароль."),
        )
    }
    column_searchable_list = ("login", "last_name", "first_name", "email", "position")
    column_filters = ("is_active", "organisation.short_name", "roles.name", "locked_until", "last_login_at")
    column_default_sort = "last_name"

    def validate_model(self, form, model, is_created):
        if model.id is not None and model.id == current_principal().id:
            if not model.is_active or not model.has_role(Role.OPERATOR):
                raise ValidationError(
                    _l("Нельзя заблокировать свою учётную запись или снять с себя роль оператора")
                )
        password = form.new_password.data
        if is_created and not password:
            raise ValidationError(_l("Задайте пароль новому пользователю"))
        model.login = (model.login or "").strip()
        if password:
            model.set_password(password)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if form.new_password.data:
            audit.record("admin.users.password_set", model)

    @action("lock", _l("Заблокировать"), _l("Заблокировать выбранные учётные записи?"))
    def action_lock(self, ids):
        self._set_lock(ids, locked=True)

    @action("unlock", _l("Разблокировать"), _l("Разблокировать выбранные учётные записи?"))
    def action_unlock(self, ids):
        self._set_lock(ids, locked=False)

    def _set_lock(self, ids, locked: bool) -> None:
        users = db.session.scalars(sa.select(User).where(User.id.in_(params.ids(ids)))).all()
        if locked and any(user.id == current_principal().id for user in users):
            flash(_("Нельзя заблокировать свою учётную запись или снять с себя роль оператора"), "error")
            users = [user for user in users if user.id != current_principal().id]
        for user in users:
            user.is_active = not locked
            if not locked:
                user.locked_until = None
                user.failed_logins = 0
            audit.record("admin.users.locked" if locked else "admin.users.unlocked", user)
        db.session.commit()
        count = len(users)
        if locked:
            flash(ngettext("Заблокирована %(num)d учётная запись", "Заблокировано учётных записей: %(num)d", count))
        else:
            flash(ngettext("Разблокирована %(num)d учётная запись", "Разблокировано учётных записей: %(num)d", count))


class RoleView(DictionaryView):
    column_list = ("code", "name")
    form_columns = ("code", "name")

    def edit_form(self, obj=None):
        # The access policy knows roles by code: a code is fixed once created.
        form = super().edit_form(obj)
        del form.code
        return form
    column_searchable_list = ("code", "name")
    column_filters = ("code",)
