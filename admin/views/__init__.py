"""The console's views of the core's tables (SPEC A1), one module an area:
``dictionaries`` (consultation types, medical profiles, organisations, completion
reasons), ``people`` (users, roles), ``schedule`` (schedule templates), ``texts``
(consent, help) and ``audit`` (the log and the titles of its actions and objects).

``title_of``, ``audit_titles`` and ``plugin_audit_titles`` stay importable from here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.models import (
    AuditEvent,
    CompletionReason,
    ConsentVersion,
    ConsultationType,
    FaqEntry,
    MedicalProfile,
    Organisation,
    Role,
    ScheduleTemplate,
    User,
)

from admin.views.audit import AuditEventView, audit_titles, plugin_audit_titles, title_of
from admin.views.dictionaries import CompletionReasonView, ConsultationTypeView, MedicalProfileView, OrganisationView
from admin.views.people import RoleView, UserView
from admin.views.schedule import ScheduleTemplateView
from admin.views.texts import ConsentVersionView, FaqEntryView

__all__ = ["audit_titles", "core_views", "plugin_audit_titles", "title_of"]


def core_views():
    """The console's own views, in menu order."""
    routes = _l("Маршруты")
    people = _l("Пользователи")
    texts = _l("Тексты")
    return [
        ConsultationTypeView(ConsultationType, _l("Типы консультаций"), category=routes),
        MedicalProfileView(MedicalProfile, _l("Профили медицинской помощи"), category=routes),
        CompletionReasonView(CompletionReason, _l("Причины завершения"), category=routes),
        OrganisationView(Organisation, _l("Медицинские организации")),
        UserView(User, _l("Пользователи"), category=people),
        RoleView(Role, _l("Роли"), category=people),
        ScheduleTemplateView(ScheduleTemplate, _l("Шаблоны расписания"), category=people),
        ConsentVersionView(ConsentVersion, _l("Тексты согласия"), category=texts),
        FaqEntryView(FaqEntry, _l("Помощь (FAQ)"), category=texts),
        AuditEventView(AuditEvent, _l("Журнал аудита"), endpoint="audit", url="audit"),
    ]
