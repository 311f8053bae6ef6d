"""Marshmallow 4 schemas of the REST API (SPEC F4): requests are loaded, answers dumped.

Every error message is Russian (English through the catalogue): ``RussianSchema`` swaps
marshmallow's default messages for ours when a field is bound, per request, so the
client's locale applies.
"""

from __future__ import annotations

from datetime import date

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from core.params import INTEGER_MAX
from core.russian_schema import RussianSchema, _t
from core.validators import (
    InvalidIdentifier,
    mask_oms,
    mask_passport,
    mask_snils,
    normalize_oms,
    normalize_passport,
    normalize_snils,
)


def _identifier(normalizer):
    def check(value: str) -> None:
        try:
            normalizer(value)
        except InvalidIdentifier as error:
            raise ValidationError(str(error.message)) from None

    return check


def _length(maximum: int, minimum: int = 0):
    if minimum:
        return validate.Length(min=minimum, max=maximum, error=_t("Длина от %(a)s до %(b)s символов.", a=minimum, b=maximum))
    return validate.Length(max=maximum, error=_t("Не длиннее %(n)s символов.", n=maximum))


Id = lambda **kw: fields.Integer(  # noqa: E731
    strict=True, validate=validate.Range(min=1, max=INTEGER_MAX, error=_t("Ожидается положительный номер.")), **kw
)


# --------------------------------------------------------------------------- errors


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = fields.String(required=True, metadata={"description": "Сообщение для человека (по-русски)"})
    fields_ = fields.Dict(
        data_key="fields",
        metadata={"description": "Ошибки по полям; для пакетов — по номерам записей (с 0)"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# --------------------------------------------------------------------------- registry


class RegistrySearchSchema(RussianSchema):
    """Either an identifier (СНИЛС, полис ОМС, серия и номер паспорта) or a surname."""

    identifier = fields.String(validate=_length(40), metadata={"description": "СНИЛС, полис ОМС или паспорт"})
    kind = fields.String(
        validate=validate.OneOf(["snils", "oms", "passport"], error=_t("Вид документа: snils, oms или passport.")),
        metadata={"description": "Какой документ указан; без него вид определяется по числу цифр"},
    )
    surname = fields.String(validate=_length(100, 1), metadata={"description": "Фамилия (и имя) — поиск по началу"})
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=200, error=_t("От 1 до 200.")))
    offset = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, error=_t("Не меньше 0.")))

    @validates_schema
    def _one_way(self, data, **kwargs):
        if bool(data.get("identifier")) == bool(data.get("surname")):
            raise ValidationError(_t("Укажите либо identifier (СНИЛС, полис ОМС, паспорт), либо surname."), "_schema")


class PatientListItemSchema(Schema):
    """A person in a list: identifiers masked."""

    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    middle_name = fields.String(allow_none=True)
    birth_date = fields.Date()
    sex = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    snils_masked = fields.Function(lambda p: mask_snils(p.snils) if p.snils else None)
    oms_policy_masked = fields.Function(lambda p: mask_oms(p.oms_policy) if p.oms_policy else None)
    passport_masked = fields.Function(lambda p: mask_passport(p.passport) if p.passport else None)


class RegistrySearchResultSchema(Schema):
    kind = fields.String(metadata={"description": "snils | oms | passport | surname"})
    total = fields.Integer(metadata={"description": "Сколько найдено всего"})
    patients = fields.List(fields.Nested(PatientListItemSchema))


class PatientMaskedRecordSchema(PatientListItemSchema):
    """One registry record as a principal outside the patient's organisation sees it:
    identifiers masked, as in lists, and no contacts."""

    source = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class PatientRecordSchema(PatientMaskedRecordSchema):
    """One registry record with its identifiers in full (the patient's own organisation)."""

    snils = fields.String(allow_none=True, metadata={"description": "Только для организации прикрепления"})
    oms_policy = fields.String(allow_none=True, metadata={"description": "Только для организации прикрепления"})
    passport = fields.String(allow_none=True, metadata={"description": "Только для организации прикрепления"})
    email = fields.String(allow_none=True, metadata={"description": "Только для организации прикрепления"})
    phone = fields.String(allow_none=True, metadata={"description": "Только для организации прикрепления"})


class PatientImportSchema(RussianSchema):
    """One person pushed into the registry. СНИЛС or полис ОМС is required: they identify
    the person on the next import (upsert)."""

    last_name = fields.String(required=True, validate=_length(100, 1))
    first_name = fields.String(required=True, validate=_length(100, 1))
    middle_name = fields.String(allow_none=True, validate=_length(100))
    birth_date = fields.Date(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(["male", "female"], error=_t("Пол: male или female.")))
    snils = fields.String(allow_none=True, validate=_identifier(normalize_snils))
    oms_policy = fields.String(allow_none=True, validate=_identifier(normalize_oms))
    passport = fields.String(allow_none=True, validate=_identifier(normalize_passport))
    email = fields.String(
        allow_none=True,
        validate=[_length(200), validate.Email(error=_t("Укажите корректный адрес электронной почты."))],
    )
    phone = fields.String(allow_none=True, validate=_length(50))

    @validates("birth_date")
    def _birth_date(self, value: date, **kwargs):
        if value > date.today() or value.year < 1880:
            raise ValidationError(_t("Дата рождения вне допустимого диапазона."))

    @validates_schema
    def _identified(self, data, **kwargs):
        if not data.get("snils") and not data.get("oms_policy"):
            raise ValidationError(_t("Нужен СНИЛС или полис ОМС: по ним запись находится при следующем импорте."), "snils")

    @post_load
    def _normalize(self, data, **kwargs):
        for name, normalizer in (("snils", normalize_snils), ("oms_policy", normalize_oms), ("passport", normalize_passport)):
            if data.get(name):
                data[name] = normalizer(data[name])
        for name in ("last_name", "first_name", "middle_name"):
            if data.get(name):
                data[name] = data[name].strip()
        if "middle_name" in data and not data["middle_name"]:
            data["middle_name"] = None
        return data


class PersonReferenceSchema(RussianSchema):
    snils = fields.String(validate=_identifier(normalize_snils))
    oms_policy = fields.String(validate=_identifier(normalize_oms))

    @validates_schema
    def _identified(self, data, **kwargs):
        if not data.get("snils") and not data.get("oms_policy"):
            raise ValidationError(_t("Укажите СНИЛС или полис ОМС."), "_schema")

    @post_load
    def _normalize(self, data, **kwargs):
        if data.get("snils"):
            data["snils"] = normalize_snils(data["snils"])
        if data.get("oms_policy"):
            data["oms_policy"] = normalize_oms(data["oms_policy"])
        return data


class RegistryImportSchema(RussianSchema):
    patients = fields.List(fields.Raw(), load_default=list, metadata={"description": "Записи PatientImport"})
    guardianships = fields.List(
        fields.Raw(),
        load_default=list,
        metadata={"description": "Связи законных представителей; принимаются, когда подключён плагин guardian"},
    )


class RegistryImportDocSchema(Schema):
    """The documented shape of an import batch (records are validated one by one)."""

    patients = fields.List(fields.Nested(PatientImportSchema))
    guardianships = fields.List(
        fields.Dict(), metadata={"description": "Связи законных представителей (плагин guardian)"}
    )


class ImportRowSchema(Schema):
    index = fields.Integer()
    status = fields.String(metadata={"description": "created | updated | unchanged"})
    id = fields.Integer()


class RegistryImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    patients = fields.List(fields.Nested(ImportRowSchema))
    guardianships = fields.List(fields.Nested(ImportRowSchema))


# --------------------------------------------------------------------------- dictionaries


class ProfileSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    specialty = fields.String(allow_none=True)


class ConsultationTypeSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    route = fields.String()
    for_representative = fields.Boolean()
    attention_text = fields.String(allow_none=True)
    profiles = fields.List(fields.Nested(ProfileSchema))


class CompletionReasonSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class DoctorSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    position = fields.String(allow_none=True)
    specialty = fields.String(allow_none=True)


class SlotSchema(Schema):
    id = fields.Integer()
    doctor_id = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()


class SlotQuerySchema(RussianSchema):
    after = fields.AwareDateTime(metadata={"description": "Начиная с (ISO 8601 с часовым поясом); по умолчанию — сейчас"})
    limit = fields.Integer(strict=False, load_default=50, validate=validate.Range(min=1, max=200, error=_t("От 1 до 200.")))


# --------------------------------------------------------------------------- consultations


class ConsultationCreateSchema(RussianSchema):
    """The wizard's steps in one request (SPEC D3); the client names the author."""

    type_id = Id(required=True)
    profile_id = Id(required=True)
    patient_id = Id(required=True)
    consultant_id = Id(required=True)
    author_id = Id(required=True, metadata={"description": "Врач, подающий заявку (из вашей организации)"})
    slot_id = Id(required=True, metadata={"description": "Свободный слот врача-консультанта"})
    email = fields.String(required=True, validate=_length(200), metadata={"description": "E-mail пациента для уведомления"})
    comment = fields.String(allow_none=True, metadata={"description": "Комментарий, который увидит пациент"})
    representative_id = Id(allow_none=True)
    route_data = fields.Dict(load_default=dict, metadata={"description": "Дополнительные поля маршрута"})


class PersonRefSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()


class PatientRefSchema(PersonRefSchema):
    birth_date = fields.Date()


class ConsultantRefSchema(PersonRefSchema):
    specialty = fields.String(allow_none=True)


class ParticipantSchema(Schema):
    role = fields.String()
    name = fields.String(attribute="display_name")


class TypeRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class ConsultationSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    status_title = fields.Function(lambda c: _status_title(c.status))
    type = fields.Nested(TypeRefSchema)
    profile = fields.Nested(ProfileSchema)
    organisation_id = fields.Integer()
    patient = fields.Nested(PatientRefSchema)
    representative = fields.Nested(PatientRefSchema, allow_none=True)
    author = fields.Nested(PersonRefSchema)
    consultant = fields.Nested(ConsultantRefSchema)
    slot_id = fields.Integer(allow_none=True)
    scheduled_at = fields.DateTime(allow_none=True)
    email = fields.String()
    comment = fields.String(allow_none=True)
    route_data = fields.Dict(metadata={"description": "Поля заявки маршрута: схема <код маршрута>Application"})
    conclusion_data = fields.Dict(
        allow_none=True, metadata={"description": "Поля заключения маршрута: схема <код маршрута>Conclusion"}
    )
    outcome = fields.String(allow_none=True)
    outcome_reason = fields.Nested(CompletionReasonSchema, allow_none=True)
    outcome_note = fields.String(allow_none=True)
    conclusion = fields.Method("_conclusion", allow_none=True, metadata={"description": "Документ заключения: GET …/conclusion"})
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    participants = fields.List(fields.Nested(ParticipantSchema))

    def _conclusion(self, consultation) -> dict | None:
        if consultation.conclusion_document_id is None:
            return None
        from core.db import db
        from core.models import Document

        return ConclusionDocumentSchema().dump(db.session.get(Document, consultation.conclusion_document_id))


class ConclusionDocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "conclusion_scan | …"})
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


def _status_title(status: str) -> str:
    from core.lifecycle import STATUS_TITLES

    return str(STATUS_TITLES.get(status, status))


class ConsultationListQuerySchema(RussianSchema):
    class Meta:
        unknown = EXCLUDE

    search = fields.String(load_default="", validate=_length(100), metadata={"description": "Фамилия пациента (начало) или номер заявки"})
    show_closed = fields.Boolean(load_default=False, metadata={"description": "Показывать закрытые (замок)"})
    worklist = fields.String(
        validate=validate.OneOf(["inbox", "outbox", "all"], error=_t("Список: inbox, outbox или all.")),
        metadata={"description": "«Входящие», «Исходящие», «Заявки» врача user_id; без него — все заявки организации"},
    )
    user_id = fields.Integer(validate=validate.Range(min=1, max=INTEGER_MAX, error=_t("Ожидается положительный номер.")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000, error=_t("Страница от 1.")))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100, error=_t("От 1 до 100.")))

    @validates_schema
    def _doctor_for_worklist(self, data, **kwargs):
        if data.get("worklist") and not data.get("user_id"):
            raise ValidationError(_t("Для списка врача укажите user_id."), "user_id")


class ConsultationPageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(ConsultationSchema))


class CompleteSchema(RussianSchema):
    """«Завершение без заключения» (SPEC D9): a reason from the dictionary."""

    reason_id = Id(required=True, metadata={"description": "Причина из справочника completion-reasons"})
    note = fields.String(allow_none=True, validate=_length(2000))
