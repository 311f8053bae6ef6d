"""What every console view of the core's tables shares: one label per attribute name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin.base import ConsoleModelView, yes_no

# One label per attribute name, the same on every view.
LABELS = {
    "name": _l("Название"),
    "code": _l("Код"),
    "route": _l("Маршрут"),
    "for_representative": _l("Для законного представителя"),
    "profiles": _l("Профили медицинской помощи"),
    "attention_text": _l("Текст «ВНИМАНИЕ!»"),
    "active": _l("Активен"),
    "sort_order": _l("Порядок"),
    "specialty": _l("Специальность"),
    "short_name": _l("Краткое название"),
    "oid": _l("OID (ФРМО)"),
    "address": _l("Адрес"),
    "created_at": _l("Создан"),
    "login": _l("Логин"),
    "last_name": _l("Фамилия"),
    "first_name": _l("Имя"),
    "middle_name": _l("Отчество"),
    "organisation": _l("Медицинская организация"),
    "organisation.short_name": _l("Медицинская организация"),
    "roles": _l("Роли"),
    "roles.name": _l("Роль"),
    "position": _l("Должность"),
    "email": _l("Электронная почта"),
    "phone": _l("Телефон"),
    "is_active": _l("Активна"),
    "failed_logins": _l("Неудачных попыток входа"),
    "locked_until": _l("Заблокирована до"),
    "last_login_at": _l("Последний вход"),
    "doctor": _l("Врач"),
    "doctor.last_name": _l("Врач"),
    "weekdays": _l("Дни недели"),
    "start_time": _l("Начало"),
    "end_time": _l("Окончание"),
    "slot_minutes": _l("Длительность слота, мин"),
    "breaks": _l("Перерывы"),
    "valid_from": _l("Действует с"),
    "valid_until": _l("Действует по"),
    "version": _l("Редакция"),
    "title": _l("Заголовок"),
    "text": _l("Текст"),
    "published_at": _l("Опубликована"),
    "audience": _l("Для кого"),
    "question": _l("Вопрос"),
    "answer": _l("Ответ"),
    "published": _l("Опубликован"),
    "at": _l("Время"),
    "actor_type": _l("Тип субъекта"),
    "actor_id": _l("ID пользователя"),
    "actor_name": _l("Пользователь"),
    "action": _l("Действие"),
    "object_type": _l("Объект"),
    "object_id": _l("ID объекта"),
    "consultation_id": _l("ID заявки"),
    "data": _l("Подробности"),
    "client_address": _l("IP-адрес"),
    "profiles.name": _l("Профиль"),
}


class DictionaryView(ConsoleModelView):
    column_labels = LABELS
    column_formatters = {
        "active": yes_no,
        "for_representative": yes_no,
        "published": yes_no,
        "is_active": yes_no,
    }
