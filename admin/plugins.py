"""The plugins page: what is loaded, where it came from, and the operator's switches.

A switch is a ``core.models.PluginState`` row, for the whole deployment (no organisation)
or for one organisation (overrides the deployment's for its staff and patients). The
next request sees it: ``core.plugins`` reads the switches on every request.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit, params
from core.access import current_principal
from core.db import db
from core.errors import Conflict, UserError
from core.models import Organisation, PluginState
from core.plugins import CORE_PLUGIN, forget_switches, plugin_manager

from admin.base import SecureBaseView

STATES = {"on": True, "off": False}


def origin_of(info) -> str:
    if info.name == CORE_PLUGIN:
        return _("Ядро")
    if info.distribution and info.builtin:
        return _("Встроенный (%(dist)s %(version)s)", dist=info.distribution, version=info.version)
    if info.distribution:
        return _("Установлен пакетом %(dist)s %(version)s", dist=info.distribution, version=info.version)
    return _("Подключён при запуске приложения")


class PluginsView(SecureBaseView):
    def __init__(self) -> None:
        super().__init__(_l("Плагины"), endpoint="admin_plugins", url="plugins")

    @expose("/")
    def index(self):
        pm = plugin_manager()
        rows = db.session.scalars(sa.select(PluginState)).all()
        deployment = {r.plugin: r.enabled for r in rows if r.organisation_id is None}
        per_org: dict[str, list[tuple[Organisation, bool]]] = {}
        organisations = db.session.scalars(sa.select(Organisation).order_by(Organisation.short_name)).all()
        by_id = {o.id: o for o in organisations}
        for r in rows:
            if r.organisation_id is not None and r.organisation_id in by_id:
                per_org.setdefault(r.plugin, []).append((by_id[r.organisation_id], r.enabled))
        plugins = [
            {
                "name": info.name,
                "description": _("Ядро платформы: маршрут по умолчанию, главное меню, завершение без заключения")
                if info.name == CORE_PLUGIN
                else info.description,
                "origin": origin_of(info),
                "switchable": info.name != CORE_PLUGIN,
                "enabled": deployment.get(info.name, True),
                "organisations": sorted(per_org.get(info.name, []), key=lambda p: p[0].short_name),
            }
            for info in pm.info.values()
        ]
        return self.render(
            "teleconsult_admin/plugins.html", plugins=plugins, organisations=organisations
        )

    @expose("/switch", methods=["POST"])
    def switch(self):
        pm = plugin_manager()
        name = request.form.get("plugin", "")
        if name not in pm.optional_plugins():
            raise UserError(_("Такого плагина нет или его нельзя выключить"), status=400)
        state = request.form.get("state", "")
        raw_org = request.form.get("organisation_id", "")
        organisation = None
        if raw_org:
            organisation = params.row(Organisation, raw_org)
            if organisation is None:
                raise UserError(_("Выберите медицинскую организацию из списка"), status=400)
        if state not in STATES and not (state == "inherit" and organisation is not None):
            raise UserError(_("Неизвестное состояние переключателя"), status=400)

        row = db.session.scalar(
            sa.select(PluginState).where(
                PluginState.plugin == name,
                PluginState.organisation_id.is_(None)
                if organisation is None
                else PluginState.organisation_id == organisation.id,
            )
        )
        principal = current_principal()
        data = {"plugin": name, "organisation_id": organisation.id if organisation else None, "state": state}
        if state == "inherit":
            if row is not None:
                audit.record("admin.plugins.switched", row, data=data)
                db.session.delete(row)
        else:
            if row is None:
                row = PluginState(plugin=name, organisation_id=organisation.id if organisation else None)
                db.session.add(row)
            row.enabled = STATES[state]
            row.updated_by_id = principal.id
            audit.record("admin.plugins.switched", row, data=data)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another operator added the same switch at the same moment (unique index).
            db.session.rollback()
            raise Conflict(_("Переключатель только что изменил другой оператор, обновите страницу")) from None
        forget_switches()
        where = organisation.short_name if organisation else _("всего развёртывания")
        messages = {
            "on": _("Плагин «%(name)s» включён для %(where)s", name=name, where=where),
            "off": _("Плагин «%(name)s» выключен для %(where)s", name=name, where=where),
            "inherit": _(
                "Для %(where)s плагин «%(name)s» работает как для всего развёртывания",
                name=name,
                where=where,
            ),
        }
        flash(messages[state], "success")
        return redirect(url_for(".index"))
