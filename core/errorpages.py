"""Errors as pages or JSON, in Russian, with the request's transaction rolled back."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import UserError

def N_(text: str) -> str:
    """Marks a text for the catalogue; it is translated where it is shown."""
    return text


TITLES = {
    400: N_("Некорректный запрос"),
    401: N_("Требуется вход в систему"),
    403: N_("Доступ запрещён"),
    404: N_("Страница не найдена"),
    405: N_("Метод не поддерживается"),
    409: N_("Конфликт"),
    413: N_("Слишком большой файл"),
    422: N_("Проверьте введённые данные"),
    429: N_("Слишком много запросов"),
    500: N_("Внутренняя ошибка"),
}


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
            if request.blueprint == "portal" and "esia.login" in app.view_functions:
                target = "esia.login"
            return redirect(url_for(target, next=request.full_path if request.method == "GET" else None))
        if status == 413:
            return respond(413, _("Файл слишком большой"))
        return respond(status, _(TITLES.get(status, N_("Ошибка"))))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return respond(500, _("Внутренняя ошибка. Мы уже знаем о ней; попробуйте позже."))
