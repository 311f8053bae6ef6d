"""Errors as pages or JSON, in Russian, with the request's transaction rolled back."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import N_, TITLES, UserError
from core.menus import login_options

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def respond(status: int, message: str, field_errors: dict | None = None):
    db.session.rollback()
    if wants_json():
        payload = {"error": {"status": status, "message": message}}
        if field_errors:
            payload["error"]["fields"] = {k: [str(m) for m in v] if isinstance(v, list) else v for k, v in field_errors.items()}
        return jsonify(payload), status
    title = _(TITLES.get(status, N_("Ошибка")))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(UserError)
    def _user_error(error: UserError):
        return respond(error.status, str(error.message), error.field_errors)

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return respond(400, _("Форма устарела или отправлена не с этого сайта. Обновите страницу и повторите."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        if status == 401 and not wants_json():
            db.session.rollback()
            target = "auth.login"
            if request.blueprint == "portal":
                target = next((option.endpoint for option in login_options("portal")), target)
            return redirect(url_for(target, next=request.full_path if request.method == "GET" else None))
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            if limit and (request.content_length or 0) <= limit:
                # Within the size limit: Werkzeug refused the number of parts or a field.
                return respond(413, _("Слишком много файлов или полей в одном запросе: отправьте их частями"))
            if limit and request.mimetype == "multipart/form-data":
                # Refused before a byte of the body is read: several files that are each
                # within DOCUMENT_MAX_SIZE but over the request's limit together, or one
                # huge file; both are told what fits.
                return respond(413, _(
                    "Слишком много файлов за один раз: вместе не больше %(total)s МБ, каждый не больше "
                    "%(one)s МБ. Отправьте их частями.",
                    total=f"{round(limit / 1048576, 1):g}", one=f"{round(app.config['DOCUMENT_MAX_SIZE'] / 1048576, 1):g}",
                ))
            return respond(413, _("Слишком большой запрос"))
        return respond(status, _(TITLES.get(status, N_("Ошибка"))))

    # Two requests writing the same rows at once: the database lets one through and the
    # other's transaction is rolled back whole; its client is told to try again.
    @app.errorhandler(StaleDataError)
    def _stale(error):
        log.warning("concurrent update refused: %s", type(error).__name__)
        return respond(409, _("Заявку только что изменил кто-то другой; загрузите её заново и повторите"))

    @app.errorhandler(sa.exc.IntegrityError)
    def _integrity(error):
        log.warning("write refused by a constraint: %s", type(error.orig).__name__)
        return respond(409, _("Данные изменились одновременно с вашим запросом; повторите его"))

    @app.errorhandler(sa.exc.OperationalError)
    def _operational(error):
        # SQLite's writer lock held past the timeout; PostgreSQL's deadlock and
        # serialization failures (SQLSTATE 40P01, 40001) roll one transaction back.
        locked = "database is locked" in str(error.orig)
        if not locked and getattr(error.orig, "sqlstate", None) not in ("40001", "40P01"):
            return _unexpected(error)
        log.warning("concurrent write refused: %s", type(error.orig).__name__)
        return respond(409, _("Данные сейчас изменяет другой запрос; повторите через несколько секунд"))

    @app.errorhandler(sa.exc.DataError)
    def _data(error):
        # What the database refuses to store (a number past its column's range, a text
        # longer than its column) is bad input that a check let through.
        log.warning("value refused by the database: %s", type(error.orig).__name__)
        return respond(422, _("Значение не подходит: слишком длинное или вне допустимого диапазона"))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return respond(500, _("Внутренняя ошибка. Мы уже знаем о ней; попробуйте позже."))
