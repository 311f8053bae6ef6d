"""Audit events: every change to consultations, participants, documents and signatures.

``record`` adds the event to the current transaction, so an event exists exactly when
the change it describes was committed.

Actions (``consultation.created``) and object types (table names) are codes; the audit
log shows their Russian titles. The core's titles are ``CORE_TITLES``; a plugin adds
its own through the hook ``teleconsult_register_audit_titles`` and the console
(``admin.views.audit.plugin_audit_titles``) merges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from core.access import Principal, current_principal
from core.db import db, utcnow
from core.models import AuditEvent

# Never stored in an audit event, whatever a caller passes (patient identifiers).
SENSITIVE_KEYS = {"snils", "passport", "oms_policy", "policy", "password", "token"}


_INSERT = sa.insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)


def _clean(data: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key.lower() in SENSITIVE_KEYS:
            continue
        if isinstance(value, dict):
            value = _clean(value)
        elif not isinstance(value, str | int | float | bool | list | type(None)):
            value = str(value)
        clean[key] = value
    return clean


def record(
    action: str,
    obj: Any = None,
    *,
    consultation_id: int | None = None,
    data: dict[str, Any] | None = None,
    principal: Principal | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
) -> int:
    """Record ``action`` (``"consultation.created"``) on ``obj`` by ``principal``; the
    event's id."""
    principal = principal or current_principal()
    if obj is not None:
        if getattr(obj, "id", None) is None:
            db.session.flush()
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
        if consultation_id is None and object_type == "consultations":
            consultation_id = obj.id
        if consultation_id is None:
            consultation_id = getattr(obj, "consultation_id", None)
    # A plain INSERT in the session's transaction, its statement compiled once: an event
    # is written on every request that reads personal data too, and the unit of work of
    # an ORM object would cost more than the lookup it records.
    return db.session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor_type": principal.kind,
            "actor_id": principal.id,
            "actor_name": principal.name,
            "action": action,
            "object_type": object_type or "",
            "object_id": object_id,
            "consultation_id": consultation_id,
            "data": _clean(data),
            "client_address": request.remote_addr if has_request_context() else None,
        },
    ).scalar_one()


# --------------------------------------------------------------------------- titles


@dataclass(frozen=True)
class AuditTitles:
    """Titles of audit codes: ``actions`` by action, ``objects`` by object type."""

    actions: Mapping[str, Any] = field(default_factory=dict)
    objects: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, other: AuditTitles) -> AuditTitles:
        return AuditTitles({**self.actions, **other.actions}, {**self.objects, **other.objects})


CORE_TITLES = AuditTitles(
    actions={
        "consultation.created": _l("Заявка создана"),
        "consultation.scheduled": _l("Консультация назначена на время"),
        "consultation.started": _l("Консультация начата"),
        "consultation.completed": _l("Консультация завершена"),
        "participant.added": _l("Участник добавлен в заявку"),
        "document.uploaded": _l("Документ загружен"),
        "document.downloaded": _l("Документ скачан"),
        "consent.accepted": _l("Согласие принято"),
        "record_request.created": _l("Запрос на отложенную запись создан"),
        "record_request.registered": _l("Отложенная запись оформлена"),
        "record_request.rejected": _l("Запрос на отложенную запись отклонён"),
        "schedule_template.created": _l("Шаблон расписания создан"),
        "schedule_template.changed": _l("Шаблон расписания изменён"),
        "schedule_template.slots_generated": _l("Слоты расписания созданы"),
        "registry.imported": _l("Регистр пациентов загружен"),
        "api_token.created": _l("Ключ доступа к API выдан"),
        "api_token.revoked": _l("Ключ доступа к API отозван"),
        "auth.login": _l("Вход в систему"),
        "auth.logout": _l("Выход из системы"),
        "auth.login_failed": _l("Неудачная попытка входа"),
        "auth.locked": _l("Учётная запись заблокирована после неудачных попыток входа"),
        "auth.login_refused_locked": _l("Вход в заблокированную учётную запись отклонён"),
        "registry.searched": _l("Поиск в регистре пациентов"),
        "registry.record_viewed": _l("Просмотр записи регистра пациентов"),
        "slot.closed": _l("Слот расписания закрыт"),
        "slot.reopened": _l("Слот расписания открыт"),
        "registry.patient_created": _l("Пациент добавлен в регистр"),
    },
    objects={
        "consultations": _l("Заявка"),
        "consultation_participants": _l("Участник заявки"),
        "consultation_types": _l("Тип консультации"),
        "documents": _l("Документ"),
        "patients": _l("Пациент"),
        "portal_accounts": _l("Учётная запись пациента"),
        "users": _l("Пользователь"),
        "roles": _l("Роль"),
        "organisations": _l("Медицинская организация"),
        "medical_profiles": _l("Профиль медицинской помощи"),
        "completion_reasons": _l("Причина завершения"),
        "schedule_templates": _l("Шаблон расписания"),
        "slots": _l("Слот расписания"),
        "consent_versions": _l("Текст согласия"),
        "consent_acceptances": _l("Принятое согласие"),
        "faq_entries": _l("Вопрос FAQ"),
        "record_requests": _l("Запрос на отложенную запись"),
        "plugin_states": _l("Переключатель плагина"),
        "api_tokens": _l("Ключ доступа к API"),
        "audit_events": _l("Журнал аудита"),
        "staff": _l("Сотрудник"),
        "patient": _l("Пациент"),
    },
)
