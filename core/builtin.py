"""The core's own hook implementations (default route, menus, roles, completion).

The default route, the main menus, the participant roles and completion without
conclusion. Registered first under the name ``core``; it cannot be switched off.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import consent, routeforms
from core.audit import CORE_TITLES
from core.markers import hookimpl
from core.lifecycle import CORE_OUTCOMES, CompletionMethod
from core.menus import MenuItem
from core.models import Outcome, ParticipantRole
from core.routespec import ConsultationTypeSpec, RouteSpec
from core.workplace.route_step import DETAILS


class DefaultConclusion(routeforms.RouteSchema):
    """The conclusion of a remote consultation: diagnosis (ICD-10 code and its text), the
    conclusion, recommendations, the date of the next contact. All optional, so that a
    scan alone still closes a consultation; a route of its own marks what it needs."""

    diagnosis_code = routeforms.icd10(_l("Диагноз: код по МКБ-10"))
    diagnosis_text = routeforms.text(_l("Диагноз"), hint=_l("Формулировка диагноза"))
    conclusion = routeforms.textarea(_l("Заключение"))
    recommendations = routeforms.textarea(_l("Рекомендации"))
    next_contact = routeforms.date(_l("Дата следующего контакта"), not_past=True)


DEFAULT_ROUTE = RouteSpec(
    code="default",
    title="Дистанционная консультация",
    types=(
        ConsultationTypeSpec(
            code="remote_patient",
            name="Дистанционная консультация пациента с врачом",
            sort_order=10,
        ),
        ConsultationTypeSpec(
            code="remote_representative",
            name="Дистанционная консультация законного представителя пациента с врачом",
            for_representative=True,
            sort_order=20,
        ),
    ),
    conclusion_schema=DefaultConclusion,
)


@hookimpl
def teleconsult_register_routes():
    return [DEFAULT_ROUTE]


@hookimpl
def teleconsult_register_menu_items(area):
    if area == "portal":
        # The patient's left menu (seed 000 §4.2, §4.3, §3).
        return [
            MenuItem(_l("Чат с врачом"), "portal.chats_list", order=10, icon="chat"),
            MenuItem(_l("Записаться на консультацию"), "portal.requests_list", order=20, icon="journal"),
            MenuItem(_l("Управление доступом"), "portal.access", order=30, icon="shield"),
        ]
    if area != "workplace":
        return []
    # The main menu of the workplace, in the order of the doctor guide (seed 002 §3.2).
    filing = ("doctor", "registrar")  # the registry files applications for callers too
    return [
        MenuItem(_l("Подать заявку"), "workplace.new_application", order=10, icon="plus", roles=filing),
        MenuItem(_l("Заявки"), "workplace.applications", order=30, icon="list"),
        MenuItem(_l("Входящие"), "workplace.inbox", order=40, icon="inbox"),
        MenuItem(_l("Исходящие"), "workplace.outbox", order=50, icon="send", roles=filing),
        MenuItem(_l("Журнал отложенной записи"), "workplace.record_requests", order=55, icon="journal"),
        MenuItem(_l("Пользователи"), "workplace.users", order=60, icon="users"),
        MenuItem(_l("Расписание"), "workplace.schedule", order=70, icon="calendar"),
        MenuItem(_l("Документы"), "workplace.documents", order=80, icon="file"),
        MenuItem(_l("Помощь"), "workplace.help", order=90, icon="help"),
    ]


@hookimpl
def teleconsult_register_completion_methods(consultation, principal):
    return [
        CompletionMethod(
            code="no_conclusion",
            title=_l("Завершение без заключения"),
            endpoint="workplace.complete_without_conclusion",
            outcome=Outcome.NO_CONCLUSION,
            order=90,
        )
    ]


@hookimpl
def teleconsult_register_outcomes():
    return list(CORE_OUTCOMES)


@hookimpl
def teleconsult_register_wizard_steps():
    return [DETAILS]


@hookimpl
def teleconsult_register_audit_titles():
    return CORE_TITLES


@hookimpl
def teleconsult_register_access_rules():
    return {"portal.chat": consent.portal_chat_rule}


@hookimpl
def teleconsult_register_participant_roles():
    # ParticipantRole is the core's list; plugins add their roles through the same hook.
    titles = {
        ParticipantRole.AUTHOR: _l("Автор заявки"),
        ParticipantRole.CONSULTANT: _l("Врач-консультант"),
        ParticipantRole.PATIENT: _l("Пациент"),
        ParticipantRole.OBSERVER: _l("Наблюдатель"),
    }
    return {role.value: titles[role] for role in ParticipantRole}
