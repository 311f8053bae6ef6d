"""«Расписание» (SPEC D2, D3.6): doctors' schedule templates, the slot calendar, generation."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit, params
from core.access import can, require
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput
from core.models import Consultation, Role, ScheduleTemplate, Slot
from core.schedule import generate_slots, local_zone, overlapping_template, set_slot_closed, sync_future_slots
from core.workplace.views import blueprint, doctors_of

WEEKDAYS = (
    (1, _l("Пн")),
    (2, _l("Вт")),
    (3, _l("Ср")),
    (4, _l("Чт")),
    (5, _l("Пт")),
    (6, _l("Сб")),
    (7, _l("Вс")),
)
MONTHS = (
    None, _l("Январь"), _l("Февраль"), _l("Март"), _l("Апрель"), _l("Май"), _l("Июнь"),
    _l("Июль"), _l("Август"), _l("Сентябрь"), _l("Октябрь"), _l("Ноябрь"), _l("Декабрь"),
)
SLOT_LENGTHS = (10, 15, 20, 30, 40, 45, 60)
_BREAK = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s*$")
MAX_DAYS_AHEAD = 92


def _time(value: str, label) -> time:
    try:
        return time.fromisoformat(value.strip().zfill(5))
    except ValueError:
        raise InvalidInput(_l("Укажите время «%(label)s» в виде ЧЧ:ММ", label=label)) from None


def _date(value: str, label, required: bool = True) -> date | None:
    value = (value or "").strip()
    if not value and not required:
        return None
    day = params.to_date(value)
    if day is None:
        raise InvalidInput(_l("Укажите дату «%(label)s»", label=label))
    return day


def parse_breaks(text: str) -> list[list[str]]:
    """«13:00-14:00, 16:00-16:15» → [["13:00", "14:00"], ["16:00", "16:15"]]."""
    breaks = []
    for part in re.split(r"[,;\n]+", text or ""):
        if not part.strip():
            continue
        match = _BREAK.match(part)
        if not match:
            raise InvalidInput(_l("Перерывы укажите так: 13:00-14:00, 16:00-16:15"))
        begin, end = (_time(v, _("Перерыв")) for v in match.groups())
        if begin >= end:
            raise InvalidInput(_l("Перерыв должен заканчиваться позже, чем начинается"))
        breaks.append([begin.strftime("%H:%M"), end.strftime("%H:%M")])
    return breaks


def _own_template(template_id: int) -> ScheduleTemplate:
    principal = require("schedule.manage")
    template = db.session.get(ScheduleTemplate, template_id)
    if template is None or template.doctor_id != principal.id:
        abort(404)
    return template


def _fill(template: ScheduleTemplate, form) -> None:
    name = form.get("name", "").strip()[:200]
    if not name:
        raise InvalidInput(_l("Укажите название шаблона"))
    weekdays = sorted({int(v) for v in form.getlist("weekdays") if v in {"1", "2", "3", "4", "5", "6", "7"}})
    if not weekdays:
        raise InvalidInput(_l("Отметьте хотя бы один день недели"))
    start = _time(form.get("start_time", ""), _("Начало приёма"))
    end = _time(form.get("end_time", ""), _("Окончание приёма"))
    if start >= end:
        raise InvalidInput(_l("Приём должен заканчиваться позже, чем начинается"))
    raw_minutes = form.get("slot_minutes", "")
    if params.to_int(raw_minutes) not in SLOT_LENGTHS:
        raise InvalidInput(_l("Выберите длительность слота из списка"))
    valid_from = _date(form.get("valid_from", ""), _("Действует с"))
    valid_until = _date(form.get("valid_until", ""), _("Действует по"), required=False)
    if valid_until and valid_until < valid_from:
        raise InvalidInput(_l("Дата окончания действия раньше даты начала"))
    template.name = name
    template.weekdays = weekdays
    template.start_time = start
    template.end_time = end
    template.slot_minutes = int(raw_minutes)
    template.breaks = parse_breaks(form.get("breaks", ""))
    template.valid_from = valid_from
    template.valid_until = valid_until
    flags = form.getlist("active")
    template.active = not flags or "1" in flags


def _refuse_overlap(template: ScheduleTemplate) -> None:
    other = overlapping_template(template)
    if other is not None:
        raise InvalidInput(
            _l(
                "Шаблон пересекается с шаблоном «%(name)s»: у них есть общие дни недели и часы приёма "
                "в общий период действия. Измените дни, часы или период либо отключите один из шаблонов.",
                name=other.name,
            )
        )


def _week_start() -> date:
    chosen = params.to_date(request.args.get("week")) or datetime.now(local_zone()).date()
    return chosen - timedelta(days=chosen.isoweekday() - 1)


def _month_start() -> date:
    chosen = params.to_date(request.args.get("month")) or datetime.now(local_zone()).date()
    return chosen.replace(day=1)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def month_grid(doctor, first: date, now: datetime) -> list[list[dict]]:
    """The weeks (Monday first) that cover the month of ``first``: each day with how many
    slots of ``doctor`` are free (open, still ahead), booked, or closed."""
    zone = local_zone()
    start = first - timedelta(days=first.isoweekday() - 1)
    following = _next_month(first)
    end = following + timedelta(days=(7 - following.isoweekday() + 1) % 7)
    counts: dict[date, dict[str, int]] = {}
    if doctor is not None:
        rows = db.session.execute(
            sa.select(Slot.starts_at, Slot.blocked, Consultation.id)
            .outerjoin(Consultation, Consultation.slot_id == Slot.id)
            .where(
                Slot.doctor_id == doctor.id,
                Slot.starts_at >= datetime.combine(start, time(), zone),
                Slot.starts_at < datetime.combine(end, time(), zone),
            )
        )
        for starts_at, blocked, consultation_id in rows:
            day = counts.setdefault(starts_at.astimezone(zone).date(), {"free": 0, "booked": 0, "closed": 0})
            if consultation_id is not None:
                day["booked"] += 1
            elif blocked:
                day["closed"] += 1
            elif starts_at > now:
                day["free"] += 1
    today = now.astimezone(zone).date()
    weeks, day = [], start
    while day < end:
        week = []
        for _ in range(7):
            week.append({"day": day, "in_month": day.month == first.month, "today": day == today,
                         **counts.get(day, {"free": 0, "booked": 0, "closed": 0})})
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


@blueprint.route("/schedule")
def schedule():
    """Templates of the organisation's consultants and the calendar of one of them: a week
    of slots, or (``?view=month``) a month of days with their free and booked slots."""
    principal = require("workplace.use")
    doctors = doctors_of(principal.organisation_id)
    raw_doctor = request.args.get("doctor", "")
    doctor = next((d for d in doctors if str(d.id) == raw_doctor), None)
    if doctor is None:
        doctor = next((d for d in doctors if d.id == principal.id), doctors[0] if doctors else None)
    templates = list(
        db.session.scalars(
            sa.select(ScheduleTemplate)
            .where(ScheduleTemplate.doctor_id.in_([d.id for d in doctors] or [0]))
            .order_by(ScheduleTemplate.doctor_id, ScheduleTemplate.name)
        )
    )
    week = _week_start()
    zone = local_zone()
    days: dict[date, list] = {week + timedelta(days=i): [] for i in range(7)}
    booked: dict[int, Consultation] = {}
    if doctor is not None:
        slots = list(
            db.session.scalars(
                sa.select(Slot)
                .where(
                    Slot.doctor_id == doctor.id,
                    Slot.starts_at >= datetime.combine(week, time(), zone),
                    Slot.starts_at < datetime.combine(week + timedelta(days=7), time(), zone),
                )
                .order_by(Slot.starts_at)
            )
        )
        if slots:
            booked = {
                c.slot_id: c
                for c in db.session.scalars(
                    sa.select(Consultation).where(Consultation.slot_id.in_([s.id for s in slots]))
                )
            }
        for slot in slots:
            days.setdefault(slot.starts_at.astimezone(zone).date(), []).append(slot)
    # A colleague sees that a slot is taken, and whose it is only with the card (P8).
    busy = set(booked)
    booked = {slot_id: c for slot_id, c in booked.items() if can("consultation.view", c, principal)}
    now = utcnow()
    view = "month" if request.args.get("view") == "month" else "week"
    month = _month_start()
    return render_template(
        "workplace/schedule.html",
        doctors=doctors,
        doctor=doctor,
        templates=templates,
        week=week,
        days=days,
        booked=booked,
        busy=busy,
        now=now,
        view=view,
        month=month,
        previous_month=(month - timedelta(days=1)).replace(day=1),
        next_month=_next_month(month),
        weeks=month_grid(doctor, month, now) if view == "month" else [],
        month_names=MONTHS,
        weekdays=dict(WEEKDAYS),
        timedelta=timedelta,
        days_ahead=current_app.config.get("SCHEDULE_DAYS_AHEAD", 28),
        can_manage=Role.DOCTOR in principal.roles,
        own_calendar=can("schedule.manage_slots", doctor),
    )


def _template_form(template: ScheduleTemplate | None):
    principal = require("schedule.manage")
    is_new = template is None
    error = None
    if request.method == "POST":
        target = template or ScheduleTemplate(doctor_id=principal.id)
        try:
            _fill(target, request.form)
            _refuse_overlap(target)
        except InvalidInput as problem:
            db.session.rollback()
            error = str(problem.message)
        else:
            if is_new:
                db.session.add(target)
            db.session.flush()
            sync = None if is_new else sync_future_slots(target)
            data = {"weekdays": target.weekdays, "slot_minutes": target.slot_minutes}
            if sync is not None:
                data.update(slots_removed=sync.removed, slots_created=sync.created, booked_kept=sync.kept_booked)
            audit.record("schedule_template.created" if is_new else "schedule_template.changed", target, data=data)
            db.session.commit()
            flash(_("Шаблон расписания сохранён"), "success")
            if sync is not None and (sync.removed or sync.created or sync.kept_booked):
                flash(
                    _(
                        "Будущие свободные слоты приведены к шаблону: удалено %(removed)s, создано %(created)s. "
                        "Занятые слоты не изменены: %(kept)s.",
                        removed=sync.removed,
                        created=sync.created,
                        kept=sync.kept_booked,
                    ),
                    "success",
                )
            return redirect(url_for(".schedule"))
    today = datetime.now(local_zone()).date()
    return (
        render_template(
            "workplace/schedule_template.html",
            template=template,
            form=request.form if request.method == "POST" else None,
            weekdays=WEEKDAYS,
            slot_lengths=SLOT_LENGTHS,
            today=today,
            error=error,
        ),
        422 if error else 200,
    )


@blueprint.route("/schedule/templates/new", methods=["GET", "POST"])
def new_schedule_template():
    return _template_form(None)


@blueprint.route("/schedule/templates/<int:template_id>", methods=["GET", "POST"])
def edit_schedule_template(template_id: int):
    return _template_form(_own_template(template_id))


@blueprint.route("/schedule/templates/<int:template_id>/generate", methods=["POST"])
def generate_schedule_slots(template_id: int):
    """Create the template's slots ahead (existing ones stay as they are)."""
    template = _own_template(template_id)
    raw_days = request.form.get("days", "")
    if params.to_int(raw_days, 1, MAX_DAYS_AHEAD) is None:
        raise InvalidInput(_l("Укажите число дней от 1 до %(n)s", n=MAX_DAYS_AHEAD))
    if not template.active:
        raise InvalidInput(_l("Шаблон отключён: включите его, чтобы создать слоты"))
    today = datetime.now(local_zone()).date()
    created = generate_slots(template, today, int(raw_days))
    audit.record("schedule_template.slots_generated", template, data={"days": int(raw_days), "created": created})
    db.session.commit()
    flash(_("Создано слотов: %(n)s", n=created), "success")
    return redirect(url_for(".schedule", doctor=template.doctor_id))



def _slot_action(slot_id: int, closed: bool):
    """«Закрыть слот» / «Открыть слот» in the calendar: only a free, future slot of one's own."""
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        abort(404)
    require("schedule.manage_slots", slot.doctor)
    if slot.starts_at <= utcnow():
        raise InvalidInput(_l("Прошедший слот нельзя ни закрыть, ни открыть"))
    if not set_slot_closed(slot, closed):
        raise Conflict(_l("Слот занят: закрыть можно только свободный слот. Запись пациента не изменена."))
    audit.record("slot.closed" if closed else "slot.reopened", slot, data={"starts_at": slot.starts_at.isoformat()})
    db.session.commit()
    when = slot.starts_at.astimezone(local_zone())
    label = when.strftime("%d.%m.%Y %H:%M")
    flash(
        _("Слот %(when)s закрыт для записи", when=label) if closed else _("Слот %(when)s снова открыт для записи", when=label),
        "success",
    )
    return redirect(url_for(".schedule", doctor=slot.doctor_id, week=when.date().isoformat()))


@blueprint.route("/schedule/slots/<int:slot_id>/close", methods=["POST"])
def close_slot(slot_id: int):
    return _slot_action(slot_id, closed=True)


@blueprint.route("/schedule/slots/<int:slot_id>/reopen", methods=["POST"])
def reopen_slot(slot_id: int):
    return _slot_action(slot_id, closed=False)
