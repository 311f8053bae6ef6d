"""Requests in the organisation's deferred-record journal from the portal (SPEC P7).

The patient (or a parent, for a child) leaves the personal data the guide lists; the
organisation's staff see the journal in the workplace and turn a request into an
application, which marks it «Зарегистрирована».
"""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from core import audit
from core.access import Principal
from core.db import db
from core.errors import Conflict, InvalidInput
from core.forms import Form
from core.models import MedicalProfile, Patient, PortalAccount, RecordRequest
from core.models.registry import normalize_name
from core.validators import ADULT_AGE, InvalidIdentifier, age_on, normalize_oms

STATUS_TITLES = {
    RecordRequest.NEW: _l("Принята, ожидает обработки"),
    RecordRequest.REGISTERED: _l("Зарегистрирована"),
    RecordRequest.REJECTED: _l("Отклонена"),
}

_NAME = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' -]*$")
_PHONE_DIGITS = re.compile(r"\D")


def _name(form, field) -> None:
    if field.data and not _NAME.match(field.data.strip()):
        raise ValidationError(_l("Используйте только буквы, пробел и дефис"))


def _oms(form, field) -> None:
    if not field.data:
        return
    try:
        field.data = normalize_oms(field.data)
    except InvalidIdentifier as error:
        raise ValidationError(str(error.message)) from None


def _birth_date(form, field) -> None:
    if field.data and not date(1900, 1, 1) <= field.data <= date.today():
        raise ValidationError(_l("Проверьте дату рождения"))


def _child_birth_date(form, field) -> None:
    _birth_date(form, field)
    if field.data and age_on(field.data, date.today()) >= ADULT_AGE:
        raise ValidationError(_l("Ребёнку должно быть меньше 18 лет"))


def normalize_phone(value: str) -> str | None:
    """``+7XXXXXXXXXX`` from «8 (921) 555-01-01», «+7 921 5550101» and the like."""
    digits = _PHONE_DIGITS.sub("", value or "")
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        return None
    return "+7" + digits


def _phone(form, field) -> None:
    if not field.data:
        return
    phone = normalize_phone(field.data)
    if phone is None:
        raise ValidationError(_l("Введите номер телефона из 10 цифр после +7"))
    field.data = phone


def _strip(value):
    return value.strip() if isinstance(value, str) else value


REQUIRED = _l("Заполните это поле")
NAME_LIMIT = Length(max=100, message=_l("Не больше 100 символов"))


class RecordRequestForm(Form):
    who = RadioField(
        _l("Для кого консультация"),
        choices=[SelectChoice("self", _l("Для себя")), SelectChoice("child", _l("Для ребёнка"))],
        default="self",
    )
    last_name = StringField(_l("Фамилия"), [DataRequired(REQUIRED), NAME_LIMIT, _name], filters=[_strip])
    first_name = StringField(_l("Имя"), [DataRequired(REQUIRED), NAME_LIMIT, _name], filters=[_strip])
    middle_name = StringField(_l("Отчество (при наличии)"), [Optional(), NAME_LIMIT, _name], filters=[_strip])
    birth_date = DateField(_l("Дата рождения"), [DataRequired(_l("Укажите дату рождения")), _birth_date])
    oms_policy = StringField(_l("Номер полиса ОМС"), [DataRequired(REQUIRED), _oms], filters=[_strip])
    phone = StringField(_l("Контактный телефон"), [DataRequired(REQUIRED), _phone], filters=[_strip])
    email = StringField(
        _l("Электронная почта"),
        [DataRequired(REQUIRED), Length(max=200), Email(_l("Проверьте адрес электронной почты"))],
        filters=[_strip],
    )
    child_last_name = StringField(_l("Фамилия ребёнка"), [Optional(), NAME_LIMIT, _name], filters=[_strip])
    child_first_name = StringField(_l("Имя ребёнка"), [Optional(), NAME_LIMIT, _name], filters=[_strip])
    child_middle_name = StringField(_l("Отчество ребёнка (при наличии)"), [Optional(), NAME_LIMIT, _name], filters=[_strip])
    child_birth_date = DateField(_l("Дата рождения ребёнка"), [Optional(), _child_birth_date])
    child_oms_policy = StringField(_l("Номер полиса ОМС ребёнка"), [Optional(), _oms], filters=[_strip])
    profile_id = SelectField(_l("К какому врачу (необязательно)"), coerce=int, default=0)
    comment = TextAreaField(
        _l("Комментарий (необязательно)"), [Optional(), Length(max=1000, message=_l("Не больше 1000 символов"))]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        profiles = db.session.scalars(
            sa.select(MedicalProfile).where(MedicalProfile.active.is_(True), MedicalProfile.specialty.is_not(None))
            .order_by(MedicalProfile.specialty)
        )
        self.profile_id.choices = [SelectChoice(0, _l("Не знаю, подскажите"))] + [
            SelectChoice(p.id, p.specialty) for p in profiles
        ]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.who.errors:  # not one of the two choices: WTForms' own text is English
            self.who.errors = [_l("Выберите, для кого консультация: для себя или для ребёнка")]
        if self.who.data == "child":
            for field in (self.child_last_name, self.child_first_name, self.child_birth_date, self.child_oms_policy):
                if not field.data and not field.errors:
                    field.errors = [*field.errors, REQUIRED]
                    valid = False
        return valid


def prefill(form: RecordRequestForm, own: Patient | None, account, child: Patient | None) -> None:
    """The data the portal already knows, so the patient only checks it."""
    person = own or account
    form.last_name.data = person.last_name
    form.first_name.data = person.first_name
    form.middle_name.data = person.middle_name
    form.birth_date.data = person.birth_date
    form.oms_policy.data = own.oms_policy if own is not None else None
    form.phone.data = account.phone or (own.phone if own is not None else None)
    form.email.data = account.email or (own.email if own is not None else None)
    if child is not None:
        form.who.data = "child"
        form.child_last_name.data = child.last_name
        form.child_first_name.data = child.first_name
        form.child_middle_name.data = child.middle_name
        form.child_birth_date.data = child.birth_date
        form.child_oms_policy.data = child.oms_policy


def create_request(form: RecordRequestForm, principal: Principal, children: list[Patient]) -> RecordRequest:
    """Store the validated form as a request in the journal of the right organisation.

    For a child the child's own organisation (where the child is attached) when the
    registry knows the child, else the representative's.
    """
    for_child = form.who.data == "child"
    organisation_id = principal.organisation_id
    if for_child:
        known = next((c for c in children if c.oms_policy == form.child_oms_policy.data), None)
        if known is not None and known.organisation_id:
            organisation_id = known.organisation_id
    if organisation_id is None:
        raise InvalidInput(
            _l("Вы не прикреплены к поликлинике в регистре пациентов. Обратитесь в регистратуру поликлиники.")
        )
    values = dict(
        organisation_id=organisation_id,
        account_id=principal.id,
        last_name=form.last_name.data,
        first_name=form.first_name.data,
        middle_name=form.middle_name.data or None,
        birth_date=form.birth_date.data,
        oms_policy=form.oms_policy.data,
        phone=form.phone.data,
        email=form.email.data,
        profile_id=form.profile_id.data or None,
        comment=(form.comment.data or "").strip() or None,
    )
    if for_child:
        values.update(
            child_last_name=form.child_last_name.data,
            child_first_name=form.child_first_name.data,
            child_middle_name=form.child_middle_name.data or None,
            child_birth_date=form.child_birth_date.data,
            child_oms_policy=form.child_oms_policy.data,
        )
    pending = db.session.scalar(
        sa.select(RecordRequest.id).where(
            RecordRequest.account_id == principal.id,
            RecordRequest.status == RecordRequest.NEW,
            RecordRequest.oms_policy == values["oms_policy"],
            (RecordRequest.child_oms_policy == values["child_oms_policy"])
            if for_child
            else RecordRequest.child_oms_policy.is_(None),
        )
    )
    if pending is not None:
        raise Conflict(
            _l("Такая заявка уже есть и ждёт обработки. Сотрудник поликлиники свяжется с вами.")
        )
    record = RecordRequest(**values)
    db.session.add(record)
    db.session.flush()
    audit.record(
        "record_request.created", record, principal=principal,
        data={"organisation_id": organisation_id, "for_child": for_child},
    )
    return record


def names_patient(row: RecordRequest, patient: Patient) -> bool:
    """Whether ``patient`` is the one the request is for: the requester's own registry
    record, or the child named in it (by OMS policy, else by name and birth date)."""
    if row.for_child:
        if row.child_oms_policy and patient.oms_policy == row.child_oms_policy:
            return True
        named = (normalize_name(row.child_last_name), normalize_name(row.child_first_name), row.child_birth_date)
        return (normalize_name(patient.last_name), normalize_name(patient.first_name), patient.birth_date) == named
    account = db.session.get(PortalAccount, row.account_id) if row.account_id else None
    if account is not None and account.patient is not None:
        return patient.id == account.patient.id
    return patient.oms_policy == row.oms_policy


def requests_of(principal: Principal) -> list[RecordRequest]:
    return list(
        db.session.scalars(
            sa.select(RecordRequest)
            .where(RecordRequest.account_id == principal.id)
            .order_by(RecordRequest.created_at.desc(), RecordRequest.id.desc())
        )
    )
