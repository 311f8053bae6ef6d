"""Errors a user can cause. Each carries a Russian message and an HTTP status.

Views and the API let them propagate; ``core.app`` renders them as a page, a flash or
JSON, and the request's transaction is rolled back so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Mapping


class UserError(Exception):
    status = 400

    def __init__(self, message, *, field_errors: Mapping[str, list] | None = None, status=None):
        super().__init__(str(message))
        self.message = message
        self.field_errors = dict(field_errors or {})
        if status is not None:
            self.status = status


class InvalidInput(UserError):
    status = 422


class Conflict(UserError):
    status = 409


class TransitionError(Conflict):
    """The consultation is not in a state that allows this step."""


def N_(text: str) -> str:
    """Marks a text for the catalogue; it is translated where it is shown."""
    return text


#: the title of each HTTP status a user may be shown: error pages, JSON errors, socket refusals
TITLES = {
    400: N_("Некорректный запрос"),
    401: N_("Требуется вход в систему"),
    403: N_("Доступ запрещён"),
    404: N_("Страница не найдена"),
    405: N_("Метод не поддерживается"),
    409: N_("Конфликт"),
    413: N_("Слишком большой запрос"),
    422: N_("Проверьте введённые данные"),
    429: N_("Слишком много запросов"),
    500: N_("Внутренняя ошибка"),
}
