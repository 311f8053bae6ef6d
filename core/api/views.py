"""Endpoints of ``/api/v1``. Each asks ``core.access.require`` before touching data.

``@operation`` records what the OpenAPI document says of a view (schemas, scope, answers);
``core.api.openapi`` builds the document from these and the URL map, so a route cannot
exist without being described.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import NotFound, Unauthorized

from core import audit, lifecycle, registry_import
from core.access import can, require
from core.api import schemas as s
from core.api.base import _plain, consultation_or_404, json_body, load, operation
from core.api.auth import authenticate
from core.consultations import ConsultationDraft, create_consultation
from core.db import db
from core.documents import send_document
from core.errorpages import respond
from core.errors import InvalidInput, UserError
from core.extensions import csrf
from core.models import (
    CompletionReason,
    Consultation,
    ConsultationType,
    Document,
    MedicalProfile,
    Outcome,
    Patient,
    Role,
    User,
)
from core.plugins import hooks
from core.registry import audit_record_read, audit_search, find_by_identifier, search_by_surname
from core.routing import offered_types_filter
from core.schedule import free_slots
from core.worklists import organisation_query, worklist_query

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
# Machine clients send a bearer token, not a cookie: there is no cross-site form to forge.
csrf.exempt(blueprint)

DEFAULT_IMPORT_MAX_ROWS = 1000


def register_plugin_blueprint(app, plugin_blueprint: Blueprint) -> str:
    """Serve a plugin's endpoints under ``/api/v1`` as if nested in this blueprint.

    Registered with this blueprint's name as prefix (what Flask does for a nested blueprint,
    which a blueprint registered once per process cannot take any more): the endpoints are
    ``api.<plugin>.<view>``, so the token check, the JSON errors and the OpenAPI document
    apply to them as to the core's. Returns the blueprint's full name.
    """
    app.register_blueprint(
        plugin_blueprint,
        name_prefix=blueprint.name,
        url_prefix=blueprint.url_prefix + (plugin_blueprint.url_prefix or ""),
    )
    csrf.exempt(plugin_blueprint)
    return f"{blueprint.name}.{plugin_blueprint.name}"


@blueprint.before_request
def _token_only():
    # A staff session cookie does not authenticate here: only the bearer token does.
    authenticate()


@blueprint.errorhandler(Unauthorized)
def _unauthorized(error):
    response, status = respond(401, _("Нужен действующий токен доступа: заголовок Authorization: Bearer <токен>"))
    response.headers["WWW-Authenticate"] = 'Bearer realm="teleconsult"'
    return response, status


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return respond(404, _("Не найдено: такого объекта нет или он недоступен вашему токену"))


def _query_args(schema: Schema) -> dict:
    return load(schema, request.args.to_dict())


# --------------------------------------------------------------------------- documentation


@blueprint.get("/openapi.json")
@operation("Этот документ OpenAPI 3", action="api.docs")
def openapi():
    require("api.docs")
    from core.api.openapi import openapi_document

    return jsonify(openapi_document(current_app))


# --------------------------------------------------------------------------- registry


@blueprint.post("/registry/search")
@operation(
    "Поиск пациента в регистре",
    action="registry.search",
    body=s.RegistrySearchSchema,
    response=s.RegistrySearchResultSchema,
    errors=(401, 403, 422),
    description="По СНИЛС, полису ОМС или серии и номеру паспорта (точно) либо по фамилии (начало). "
    "Идентификаторы передаются только в теле запроса; в списке они замаскированы.",
)
def registry_search():
    principal = require("registry.search")
    args = load(s.RegistrySearchSchema(), json_body())
    if args.get("identifier"):
        result = find_by_identifier(args["identifier"], args.get("kind"))
    else:
        result = search_by_surname(args["surname"], limit=args["limit"], offset=args["offset"])
    audit_search(result, principal)
    data = s.RegistrySearchResultSchema().dump(result)  # before the commit expires the rows
    db.session.commit()
    return jsonify(data)


@blueprint.get("/registry/patients/<int:patient_id>")
@operation(
    "Запись регистра",
    action="registry.view_record",
    response=s.PatientRecordSchema,
    errors=(401, 403, 404),
    description="Одна запись (с плагином guardian — и её законные представители и дети). СНИЛС, полис и паспорт приходят полностью "
    "(как и e-mail и телефон) только токену организации, к которой прикреплён пациент; остальным — "
    "замаскированными (поля *_masked), как в списках. Каждое обращение записывается в журнал аудита.",
)
def registry_patient(patient_id: int):
    principal = require("registry.search")
    patient = db.session.get(Patient, patient_id)
    full = patient is not None and can("registry.view_record", patient, principal)
    audit_record_read(patient_id, found=patient is not None, full=full, principal=principal)
    if patient is None:
        db.session.commit()
        raise NotFound()
    data = (s.PatientRecordSchema() if full else s.PatientMaskedRecordSchema()).dump(patient)
    for extra in hooks().teleconsult_register_patient_record_fields(patient=patient):
        data.update(extra or {})
    db.session.commit()
    return jsonify(data)


@blueprint.post("/registry/import")
@operation(
    "Загрузка пациентов в регистр (пакет)",
    action="registry.import",
    body=s.RegistryImportDocSchema,
    response=s.RegistryImportResultSchema,
    errors=(401, 403, 409, 413, 422),
    description="Идемпотентно: запись находится по СНИЛС, иначе по полису ОМС. Пакет принимается целиком "
    "или не принимается вовсе: при любой ошибке ответ 422 с ошибками по номерам записей, ничего не записано.",
)
def registry_import_batch():
    principal = require("registry.import")
    batch = load(s.RegistryImportSchema(), json_body())
    limit = current_app.config.get("API_IMPORT_MAX_ROWS", DEFAULT_IMPORT_MAX_ROWS)
    if len(batch["patients"]) + len(batch["guardianships"]) > limit:
        raise UserError(_("Слишком большой пакет: не больше %(n)s записей в одном запросе", n=limit), status=413)
    if not batch["patients"] and not batch["guardianships"]:
        raise InvalidInput(_("Пакет пуст: передайте patients и/или guardianships"))

    rows, errors = _load_rows(s.PatientImportSchema(), batch["patients"])
    connection = db.session.connection()
    # Rows that passed the schema are matched too, so the report is complete in one go.
    plan = registry_import.resolve(
        connection, rows, may_update=lambda organisation_id: can("registry.update_record", organisation_id, principal)
    )
    errors.update(plan.errors)
    if errors:
        raise _batch_refused(errors, {})

    counts = registry_import.write(
        connection, plan, organisation_id=principal.organisation_id, source=principal.name[:100], want_ids=True
    )
    links = registry_import.LinkImport()
    if batch["guardianships"]:
        # Links of legal representatives are the business of a plugin (guardian).
        answer = hooks().teleconsult_registry_links_import(
            connection=connection, rows=batch["guardianships"], organisation_id=principal.organisation_id
        )
        if answer is None:
            message = _("Связи законных представителей этот сервер не принимает: раздел guardianships не поддерживается")
            raise InvalidInput(message, field_errors={"guardianships": [message]})
        if answer.errors:
            raise _batch_refused({}, answer.errors)  # the handler rolls the patients back too
        links = answer
    audit.record(
        "registry.imported",
        principal=principal,
        object_type="patients",
        data=counts.as_dict() | {"guardianships": links.written},
    )
    db.session.commit()
    return jsonify(
        {
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "patients": [
                {"index": index, "status": outcome.status, "id": outcome.patient_id}
                for index, outcome in sorted(plan.outcomes.items())
            ],
            "guardianships": [
                {"index": index, "status": status} for index, status in sorted(links.outcomes.items())
            ],
        }
    )


def _load_rows(schema: Schema, raw_rows: list) -> tuple[list[tuple[int, dict]], dict[int, dict]]:
    rows, errors = [], {}
    for index, raw in enumerate(raw_rows):
        try:
            rows.append((index, schema.load(raw)))
        except ValidationError as error:
            errors[index] = _plain(error.messages)
    return rows, errors


def _batch_refused(patient_errors: dict, link_errors: dict) -> InvalidInput:
    fields_: dict = {}
    if patient_errors:
        fields_["patients"] = {str(k): v for k, v in sorted(patient_errors.items())}
    if link_errors:
        fields_["guardianships"] = {str(k): v for k, v in sorted(link_errors.items())}
    count = len(patient_errors) + len(link_errors)
    return InvalidInput(
        _("Пакет не принят: ошибок в записях — %(n)s. Ничего не записано; исправьте записи и отправьте пакет снова.", n=count),
        field_errors=fields_,
    )


# --------------------------------------------------------------------------- dictionaries


@blueprint.get("/consultation-types")
@operation(
    "Типы консультаций и их профили",
    action="dictionary.view",
    response=s.ConsultationTypeSchema,
    many=True,
    errors=(401, 403),
)
def consultation_types():
    require("dictionary.view")
    # A route plugin switched off for the client's organisation hides its types (F2).
    types = db.session.scalars(
        sa.select(ConsultationType).where(offered_types_filter()).order_by(ConsultationType.sort_order, ConsultationType.name)
    ).all()
    data = s.ConsultationTypeSchema(many=True).dump(types)
    for item, ctype in zip(data, types, strict=True):
        item["profiles"] = s.ProfileSchema(many=True).dump([p for p in ctype.profiles if p.active])
    return jsonify(data)


@blueprint.get("/profiles")
@operation("Профили медицинской помощи", action="dictionary.view", response=s.ProfileSchema, many=True, errors=(401, 403))
def profiles():
    return _active_entries(MedicalProfile, s.ProfileSchema, MedicalProfile.name)


@blueprint.get("/completion-reasons")
@operation(
    "Причины завершения без заключения",
    action="dictionary.view",
    response=s.CompletionReasonSchema,
    many=True,
    errors=(401, 403),
)
def completion_reasons():
    return _active_entries(CompletionReason, s.CompletionReasonSchema, CompletionReason.sort_order)


def _active_entries(model, schema: type[Schema], *order):
    """A dictionary's active entries, in its order, for any client allowed to read it."""
    require("dictionary.view")
    rows = db.session.scalars(sa.select(model).where(model.active.is_(True)).order_by(*order)).all()
    return jsonify(schema(many=True).dump(rows))


@blueprint.get("/doctors")
@operation(
    "Врачи вашей организации",
    action="staff.directory",
    response=s.DoctorSchema,
    many=True,
    errors=(401, 403),
    description="Кандидаты в авторы и консультанты заявок.",
)
def doctors():
    principal = require("staff.directory")
    rows = db.session.scalars(
        sa.select(User)
        .where(
            User.organisation_id == principal.organisation_id,
            User.is_active.is_(True),
            User.roles.any(Role.code == Role.DOCTOR),
        )
        .order_by(User.last_name, User.first_name)
    ).all()
    return jsonify(s.DoctorSchema(many=True).dump(rows))


@blueprint.get("/doctors/<int:doctor_id>/free-slots")
@operation(
    "Свободные слоты врача-консультанта",
    action="schedule.free_slots",
    query=s.SlotQuerySchema,
    response=s.SlotSchema,
    many=True,
    errors=(401, 403, 404, 422),
)
def doctor_free_slots(doctor_id: int):
    require("staff.directory")  # 401/403 before the lookup: no oracle on staff ids
    doctor = db.session.get(User, doctor_id)
    if doctor is None or not doctor.has_role(Role.DOCTOR):
        raise NotFound()
    require("schedule.free_slots", doctor)
    args = _query_args(s.SlotQuerySchema())
    after = args.get("after") or datetime.now(timezone.utc)
    return jsonify(s.SlotSchema(many=True).dump(free_slots(doctor.id, after, limit=args["limit"])))


# --------------------------------------------------------------------------- consultations


@blueprint.post("/consultations")
@operation(
    "Подать заявку",
    action="consultation.create",
    body=s.ConsultationCreateSchema,
    response=s.ConsultationSchema,
    status=201,
    errors=(401, 403, 409, 422),
    description="Те же правила, что в мастере «Подать заявку»: тип, профиль, пациент, e-mail, консультант "
    "из организации автора, свободный слот в будущем.",
)
def consultation_create():
    principal = require("consultation.create")
    data = load(s.ConsultationCreateSchema(), json_body())
    consultation = create_consultation(ConsultationDraft(**data), principal)
    db.session.commit()
    return jsonify(s.ConsultationSchema().dump(consultation)), 201


@blueprint.get("/consultations")
@operation(
    "Заявки организации или списки врача",
    action="consultation.list",
    query=s.ConsultationListQuerySchema,
    response=s.ConsultationPageSchema,
    errors=(401, 403, 404, 422),
    description="Без worklist — все заявки вашей организации; с worklist=inbox|outbox|all и user_id — "
    "«Входящие», «Исходящие», «Заявки» врача. Поиск по началу фамилии пациента или номеру заявки.",
)
def consultation_list():
    principal = require("consultation.list")
    args = _query_args(s.ConsultationListQuerySchema())
    if args.get("worklist"):
        doctor = db.session.get(User, args["user_id"])
        if doctor is None or doctor.organisation_id != principal.organisation_id:
            raise NotFound()
        query = worklist_query(args["worklist"], doctor.id, args["search"], args["show_closed"])
    else:
        query = organisation_query(principal.organisation_id, args["search"], args["show_closed"])
    # worklist_query already limits to the doctor's lists; organisation scoping keeps
    # a doctor's consultations held elsewhere out of a machine client's view.
    query = _organisation_only(query, principal.organisation_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return jsonify(
        {"total": total, "page": page, "per_page": per_page, "items": s.ConsultationSchema(many=True).dump(items)}
    )


def _organisation_only(query: sa.Select, organisation_id: int | None) -> sa.Select:
    return query.where(Consultation.organisation_id == organisation_id)


@blueprint.get("/consultations/<int:consultation_id>")
@operation(
    "Заявка",
    action="consultation.view",
    response=s.ConsultationSchema,
    errors=(401, 403, 404),
)
def consultation_read(consultation_id: int):
    consultation = consultation_or_404(consultation_id)
    require("consultation.view", consultation)
    return jsonify(s.ConsultationSchema().dump(consultation))


@blueprint.get("/consultations/<int:consultation_id>/conclusion")
@operation(
    "Заключение заявки (файл)",
    action="document.view",
    file_types=("application/pdf", "image/jpeg", "image/png", "application/zip"),
    errors=(401, 403, 404),
    description="Документ заключения закрытой заявки: скан, загруженный врачом или МИС, или архив с подписанным "
    "заключением. Его имя, тип, размер и SHA-256 — в поле conclusion заявки. Каждое скачивание записывается в журнал аудита.",
)
def consultation_conclusion(consultation_id: int):
    consultation = consultation_or_404(consultation_id)
    require("consultation.view", consultation)
    document = db.session.get(Document, consultation.conclusion_document_id) if consultation.conclusion_document_id else None
    if document is None:
        raise UserError(_("У заявки нет документа заключения"), status=404)
    require("document.view", document)
    return send_document(document)


@blueprint.post("/consultations/<int:consultation_id>/complete")
@operation(
    "Завершение без заключения",
    action="consultation.complete",
    body=s.CompleteSchema,
    response=s.ConsultationSchema,
    errors=(401, 403, 404, 409, 422),
    description="Причина — из справочника completion-reasons. Заявка закрывается, чат становится только для чтения.",
)
def consultation_complete(consultation_id: int):
    consultation = consultation_or_404(consultation_id)
    principal = require("consultation.complete", consultation)
    data = load(s.CompleteSchema(), json_body())
    reason = db.session.get(CompletionReason, data["reason_id"])
    if reason is None or not reason.active:
        raise InvalidInput(_("Выберите причину из списка"), field_errors={"reason_id": [_("Выберите причину из списка")]})
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal, reason=reason, note=data.get("note"))
    db.session.commit()
    return jsonify(s.ConsultationSchema().dump(consultation))

