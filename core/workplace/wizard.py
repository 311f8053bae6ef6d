"""«Подать заявку», tab «Общие» (SPEC D3, D5; seed 002 §4.1-4.5, §5.1-5.5).

The wizard's state is a server-side draft (``WizardDraft``) named by a random id in the
session: database ids and what the doctor typed, never a patient identifier, nothing of
it in the cookie or in URLs. Every step may be revisited; no application exists before
the last «Сохранить».
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit, params, registry, wizard_steps
from core.access import current_principal, require
from core.consultations import COMMENT_MAX_LENGTH, ConsultationDraft, create_consultation, normalize_email
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput, UserError
from core.models import (
    ConsultationType,
    MedicalProfile,
    Patient,
    RecordRequest,
    Slot,
    User,
    WizardDraft,
)
from core.models.registry import normalize_name
from core.plugins import switched_off
from core.portal import record_requests
from core.routing import offered_types_filter, type_keywords, type_offered
from core.schedule import free_slots, local_zone
from core.validators import (
    IdentifierKind,
    InvalidIdentifier,
    normalize_oms,
    normalize_passport,
    normalize_snils,
)
from core.wizard_steps import WizardStep
from core.workplace.schedule_views import WEEKDAYS
from core.workplace.views import blueprint, doctors_of

# The session names the draft; the draft itself is a database row (WizardDraft).
STATE = "wizard_draft"
DRAFT_LIFETIME = timedelta(days=1)
# The core's steps; plugin steps (core.wizard_steps, the core's own «details» among them)
# are placed among them for each draft by ``sequence``.
STEPS = ("type", "profile", "patient", "confirm", "email", "consultant", "slot")
STEP_TITLES = {
    "type": _l("Тип консультации"),
    "profile": _l("Профиль"),
    "patient": _l("Поиск пациента"),
    "confirm": _l("Проверка ФИО"),
    "email": _l("Электронная почта"),
    "consultant": _l("Врач-консультант"),
    "slot": _l("Время консультации"),
}
IDENTIFIER_KINDS = (
    (IdentifierKind.SNILS, _l("СНИЛС")),
    (IdentifierKind.OMS, _l("Номер полиса ОМС")),
    (IdentifierKind.PASSPORT, _l("Серия и номер паспорта")),
)
# A fourth way, for a patient whose documents the registry lacks (seed 002 §4.2 «Внимание!»).
NAME_SEARCH = "name"
NORMALIZERS = {
    IdentifierKind.SNILS: normalize_snils,
    IdentifierKind.OMS: normalize_oms,
    IdentifierKind.PASSPORT: normalize_passport,
}
# What each step needs from the earlier ones.
REQUIRES = {
    "type": (),
    "profile": ("type_id",),
    "patient": ("type_id", "profile_id"),
    "confirm": ("type_id", "profile_id", "candidate_id"),
    "email": ("type_id", "profile_id", "patient_id"),
    "consultant": ("type_id", "profile_id", "patient_id", "email"),
    "slot": ("type_id", "profile_id", "patient_id", "email", "consultant_id"),
}
# What each core step keeps in the draft.
CORE_PROVIDES = {
    "type": ("type_id",),
    "profile": ("profile_id",),
    "patient": ("candidate_id",),
    "confirm": ("patient_id",),
    "email": ("email",),
    "consultant": ("consultant_id",),
    "slot": (),
}


def _draft() -> WizardDraft | None:
    """The current user's live draft named by the session, if any."""
    draft_id = session.get(STATE)
    if not isinstance(draft_id, str):
        return None
    # Held for the request: the session's identity map keeps objects only while referenced.
    draft = g.get("teleconsult_wizard_draft")
    if draft is None or draft.id != draft_id or draft not in db.session:
        draft = g.teleconsult_wizard_draft = db.session.get(WizardDraft, draft_id)
    if draft is None or draft.user_id != current_principal().id or draft.expires_at <= utcnow():
        return None
    return draft


def state() -> dict:
    draft = _draft()
    return dict(draft.data) if draft is not None else {}


def save_state(values: dict) -> None:
    """Keep ``values`` in the user's draft (the request's transaction; the wizard's views
    commit it). Empty values remove the draft."""
    draft = _draft()
    if not values:
        if draft is not None:
            db.session.delete(draft)
        session.pop(STATE, None)
        return
    now = utcnow()
    if draft is None:
        # Drafts given up on are swept whenever someone starts a new one.
        db.session.execute(sa.delete(WizardDraft).where(WizardDraft.expires_at <= now))
        draft = g.teleconsult_wizard_draft = WizardDraft(
            id=secrets.token_urlsafe(32), user_id=current_principal().id, created_at=now
        )
        db.session.add(draft)
        session[STATE] = draft.id
    draft.data = dict(values)
    draft.expires_at = now + DRAFT_LIFETIME


def update_state(**changes) -> dict:
    values = dict(state())
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    save_state(values)
    return values


def added_steps() -> dict[str, WizardStep]:
    """Steps of the plugins switched on for the viewer's organisation, by code."""
    off = switched_off()
    return {step.code: step for plugin, step in wizard_steps.registered() if plugin not in off}


def sequence(values: dict) -> list[str]:
    """The steps of this draft in order: the core's, and each plugin step that applies
    right after the step it follows."""
    ctype = db.session.get(ConsultationType, values["type_id"]) if isinstance(values.get("type_id"), int) else None
    order = list(STEPS)
    placed: dict[str, int] = {}
    for step in added_steps().values():
        if step.after not in order or not step.shown_for(values, ctype):
            continue
        anchor = order.index(step.after)
        # Several steps after one anchor keep their registration order.
        position = anchor + 1 + placed.get(step.after, 0)
        placed[step.after] = placed.get(step.after, 0) + 1
        placed.setdefault(step.code, 0)
        order.insert(position, step.code)
    return order


def requirements(order: list[str]) -> dict[str, tuple[str, ...]]:
    """What each step needs of the draft: a core step its own keys plus what the plugin
    steps before it provide; a plugin step what its predecessor needed and provides."""
    added = added_steps()
    result: dict[str, tuple[str, ...]] = {}
    from_plugins: tuple[str, ...] = ()
    previous: tuple[str, ...] = ()
    for code in order:
        if code in REQUIRES:
            result[code] = REQUIRES[code] + from_plugins
            previous = result[code] + CORE_PROVIDES[code]
        else:
            # A plugin step never needs what it provides itself (the guardian's child step
            # provides the ``patient_id`` a representative's «confirm» leaves out).
            result[code] = tuple(key for key in previous if key not in added[code].provides)
            from_plugins += added[code].provides
            previous = previous + added[code].provides
    return result


def first_missing_step(values: dict, wanted: str, order: list[str] | None = None) -> str:
    order = order or sequence(values)
    needs = requirements(order)
    for index, step in enumerate(order[: order.index(wanted) + 1]):
        if any(key not in values for key in needs[step]):
            return order[max(index - 1, 0)]
    return wanted


def next_step(current: str, values: dict | None = None) -> str:
    order = sequence(state() if values is None else values)
    index = order.index(current) if current in order else -1
    return order[min(index + 1, len(order) - 1)]


def go_next(current: str):
    """Redirect to the step after ``current`` in this draft's sequence (for plugin steps)."""
    return _go(next_step(current))


def render_step(step: str, status: int = 200, **context):
    """Render a step's page with the wizard's common state (for plugin steps)."""
    return _render(step, status, **context)


def fold(text: str) -> str:
    return normalize_name(text)


def matching_types(search: str) -> list[ConsultationType]:
    """Active types whose name or one of whose profiles matches (case-insensitive, «ё» = «е»).

    Folding is done in Python: the list is short and SQLite's lower() ignores Cyrillic.
    """
    types = db.session.scalars(
        sa.select(ConsultationType)
        .where(offered_types_filter())
        .order_by(ConsultationType.sort_order, ConsultationType.name)
    ).all()
    words = fold(search).split()
    if not words:
        return list(types)

    def matches(ctype: ConsultationType) -> bool:
        haystack = " ".join(
            [fold(ctype.name)]
            + [fold(word) for word in type_keywords(ctype)]
            + [fold(p.name) + " " + fold(p.specialty) for p in ctype.profiles if p.active]
        )
        return all(word in haystack for word in words)

    return [t for t in types if matches(t)]


def attention_notes(shown: list[ConsultationType]) -> list[ConsultationType]:
    """Types whose «ВНИМАНИЕ!» pointer goes beside ``shown`` (seed 002 §4.1, §5.1).

    A type with an attention text is the one a route marks as right for a condition; every
    shown type of the same audience (patients, or legal representatives) points to it. The
    note therefore stays when the search hides the type it points to.
    """
    audiences = {t.for_representative for t in shown}
    if not audiences:
        return []
    marked = db.session.scalars(
        sa.select(ConsultationType)
        .where(offered_types_filter(), ConsultationType.attention_text.is_not(None))
        .order_by(ConsultationType.sort_order, ConsultationType.name)
    )
    return [t for t in marked if t.attention_text.strip() and t.for_representative in audiences]


def type_profiles(ctype: ConsultationType, search: str = "") -> list[MedicalProfile]:
    profiles = [p for p in ctype.profiles if p.active] or list(
        db.session.scalars(sa.select(MedicalProfile).where(MedicalProfile.active.is_(True)).order_by(MedicalProfile.name))
    )
    words = fold(search).split()
    if words and not all(w in fold(ctype.name) for w in words):
        chosen = [p for p in profiles if all(w in fold(p.name) + " " + fold(p.specialty) for w in words)]
        return chosen or profiles
    return profiles


def _render(step: str, status: int = 200, **context):
    values = state()
    ctype = db.session.get(ConsultationType, values["type_id"]) if "type_id" in values else None
    profile = db.session.get(MedicalProfile, values["profile_id"]) if "profile_id" in values else None
    patient = db.session.get(Patient, values["patient_id"]) if "patient_id" in values else None
    representative = (
        db.session.get(Patient, values["representative_id"]) if "representative_id" in values else None
    )
    consultant = db.session.get(User, values["consultant_id"]) if "consultant_id" in values else None
    request_row = (
        db.session.get(RecordRequest, values["record_request_id"]) if "record_request_id" in values else None
    )
    order = sequence(values)
    reachable = [s for s in order if first_missing_step(values, s, order) == s]
    added = added_steps()
    index = order.index(step) if step in order else 0
    return (
        render_template(
            added[step].template if step in added else f"workplace/wizard/{step}.html",
            step=step,
            steps=order,
            step_titles={**STEP_TITLES, **{code: s.title for code, s in added.items()}},
            reachable=reachable,
            prev_step=order[max(index - 1, 0)],
            values=values,
            ctype=ctype,
            profile=profile,
            patient=patient,
            representative=representative,
            consultant=consultant,
            record_request=request_row,
            **context,
        ),
        status,
    )


def _still_valid(values: dict) -> dict:
    """Forget what no longer exists (a type switched off, a doctor gone) since it was chosen."""
    # One small query each (not whole objects with their relationships): every step asks.
    checks = {
        "type_id": (ConsultationType.id, offered_types_filter()),
        "profile_id": (MedicalProfile.id, MedicalProfile.active.is_(True)),
        "candidate_id": (Patient.id, sa.true()),
        "patient_id": (Patient.id, sa.true()),
        "consultant_id": (User.id, User.is_active.is_(True)),
    }
    ids = {key: values[key] for key in checks if isinstance(values.get(key), int)}
    live = {
        key: db.session.scalar(sa.select(column).where(column == ids[key], condition)) is not None
        for key, (column, condition) in checks.items()
        if key in ids
    }
    stale = [key for key in checks if key in values and not live.get(key, False)]
    if stale:
        values = {k: v for k, v in values.items() if k not in stale}
        save_state(values)
    return values


def _go(step: str):
    return redirect(url_for("workplace.new_application", step=step))


@blueprint.route("/new", defaults={"step": None}, methods=["GET"])
@blueprint.route("/new/<step>", methods=["GET", "POST"])
def new_application(step: str | None):
    require("consultation.create")
    values = _still_valid(state())
    order = sequence(values)
    if step is None:
        if request.args.get("restart") == "1":
            save_state({})
            values = {}
            order = sequence(values)
        # Resume where the doctor left off (a half-filled wizard is kept, never saved).
        step = next((s for s in reversed(order) if first_missing_step(values, s, order) == s), "type")
        db.session.commit()
        return _go(step)
    added = added_steps()
    if step not in order:
        if step not in HANDLERS and step not in added:
            abort(404)
        db.session.commit()
        return _go(first_missing_step(values, order[-1], order))
    allowed = first_missing_step(values, step, order)
    if allowed != step:
        db.session.commit()
        return _go(allowed)
    try:
        response = HANDLERS[step](values) if step in HANDLERS else _added_step(added[step], values)
    except UserError as error:
        db.session.rollback()
        context = _context(step, values) if step in HANDLERS else _added_context(added[step], values)
        return _render(step, error.status, error=str(error.message), error_fields=error.field_errors, **context)
    db.session.commit()  # the draft as the step left it
    return response


def _added_context(step: WizardStep, values: dict) -> dict:
    return step.context(values) if step.context else {}


def _added_step(step: WizardStep, values: dict):
    if request.method == "POST":
        return step.submit(values)
    return _render(step.code, **_added_context(step, values))


@blueprint.route("/new/restart", methods=["POST"])
def restart_application():
    require("consultation.create")
    save_state({})
    db.session.commit()
    return _go("type")


def _context(step: str, values: dict) -> dict:
    """What a step's template needs besides the common state."""
    if step == "type":
        search = request.values.get("q", values.get("search", ""))[:100]
        types = matching_types(search)
        return {"types": types, "search": search, "attention": attention_notes(types)}
    if step == "profile":
        ctype = db.session.get(ConsultationType, values["type_id"])
        return {"profiles": type_profiles(ctype, values.get("search", ""))}
    if step == "patient":
        ids = values.get("matches") or []
        by_id = {p.id: p for p in db.session.scalars(sa.select(Patient).where(Patient.id.in_(ids)))} if ids else {}
        return {
            "kinds": IDENTIFIER_KINDS,
            "kind": request.form.get("kind", IdentifierKind.SNILS),
            "name_search": NAME_SEARCH,
            "form": request.form,
            "matches": [by_id[i] for i in ids if i in by_id],
            "matches_total": values.get("matches_total", len(ids)),
        }
    if step == "confirm":
        return {"candidate": db.session.get(Patient, values["candidate_id"])}
    if step == "email" and request.method == "POST":
        # A refused e-mail is shown again as typed; only a valid one is kept in the draft.
        return {"typed": {"email": request.form.get("email", "")[:200], "comment": request.form.get("comment", "")}}
    if step == "consultant":
        return {"doctors": doctors_of(current_principal().organisation_id)}
    if step == "slot":
        return _slot_week(values["consultant_id"])
    return {}


def _slot_week(consultant_id: int) -> dict:
    """A week of the consultant's free time (``?week=`` any day of it; by default the week
    of the first free slot), as a grid of seven days, with the weeks before and after."""
    zone, now = local_zone(), utcnow()
    today = now.astimezone(zone).date()
    this_week = today - timedelta(days=today.isoweekday() - 1)
    first = free_slots(consultant_id, now, limit=1)
    chosen = params.to_date(request.args.get("week")) or (first[0].starts_at.astimezone(zone).date() if first else today)
    week = max(chosen - timedelta(days=chosen.isoweekday() - 1), this_week)
    begins = datetime.combine(week, time(), zone)
    days: dict = {week + timedelta(days=i): [] for i in range(7)}
    for slot in free_slots(consultant_id, max(now, begins), limit=300, before=begins + timedelta(days=7)):
        days[slot.starts_at.astimezone(zone).date()].append(slot)
    return {
        "days": days,
        "any_free": bool(first),
        "week": week,
        "week_end": week + timedelta(days=6),
        "prev_week": week - timedelta(days=7) if week > this_week else None,
        "next_week": week + timedelta(days=7),
        "weekdays": dict(WEEKDAYS),
    }


# --------------------------------------------------------------------------- steps


def _type_step(values: dict):
    if request.method == "POST":
        raw = request.form.get("type_id", "")
        ctype = params.row(ConsultationType, raw)
        if not type_offered(ctype):
            raise InvalidInput(_l("Выберите тип консультации из списка"))
        changes = {"type_id": ctype.id, "search": request.form.get("q", "")[:100]}
        if values.get("type_id") != ctype.id:
            # Another type: the profile and (for a representative's type) the person change
            # too, and another route asks for other details.
            changes.update(profile_id=None, candidate_id=None, patient_id=None, representative_id=None)
            previous = db.session.get(ConsultationType, values["type_id"]) if isinstance(values.get("type_id"), int) else None
            if previous is None or previous.route != ctype.route:
                changes.update(route_data=None)
            person = values.get("request_adult_id") if ctype.for_representative else values.get("request_person_id")
            if person is not None:
                changes["candidate_id"] = person
        update_state(**changes)
        return go_next("type")
    return _render("type", **_context("type", values))


def _profile_step(values: dict):
    if request.method == "POST":
        ctype = db.session.get(ConsultationType, values["type_id"])
        raw = request.form.get("profile_id", "")
        profile = params.row(MedicalProfile, raw)
        if profile is None or profile not in type_profiles(ctype):
            raise InvalidInput(_l("Выберите профиль медицинской помощи"))
        update_state(profile_id=profile.id)
        return go_next("patient" if "candidate_id" in state() else "profile")
    return _render("profile", **_context("profile", values))


def _patient_step(values: dict):
    if request.method == "POST":
        require("registry.search")
        if "choose" in request.form:
            return _choose_match(values, request.form.get("choose", ""))
        kind = request.form.get("kind", "")
        if kind == NAME_SEARCH:
            found = _find_by_name()
        elif kind in {k for k, _title in IDENTIFIER_KINDS}:
            found = _find_by_identifier(kind)
        else:
            raise InvalidInput(_l("Выберите, по какому документу искать пациента"))
        registry.audit_search(found)
        if not found.patients:
            update_state(matches=None)
            return _render(
                "patient",
                404,
                error=_("Пациент не найден в регистре. Проверьте номер или попробуйте другой документ."),
                **_context("patient", values),
            )
        if len(found.patients) == 1:
            update_state(candidate_id=found.patients[0].id, matches=None, patient_id=None, representative_id=None)
            return go_next("patient")
        # Several records (namesakes born the same day): the doctor tells them apart by
        # the masked identifiers and picks one; only ids stay in the draft.
        update_state(matches=[p.id for p in found.patients], matches_total=found.total)
        return _go("patient")
    return _render("patient", **_context("patient", values))


def _find_by_identifier(kind: str) -> registry.SearchResult:
    value = request.form.get("identifier", "").strip()[:40]
    if not value:
        raise InvalidInput(_l("Введите номер документа пациента"))
    try:
        # Checked against the kind the doctor chose, so the message names that document.
        normalized = NORMALIZERS[kind](value)
    except InvalidIdentifier as problem:
        raise InvalidInput(problem.message) from None
    return registry.find_by_identifier(normalized, kind)


def _find_by_name() -> registry.SearchResult:
    last_name = request.form.get("last_name", "").strip()[:100]
    first_name = request.form.get("first_name", "").strip()[:100]
    if not last_name:
        raise InvalidInput(_l("Введите фамилию пациента"))
    raw_date = request.form.get("birth_date", "").strip()
    birth_date = None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            birth_date = datetime.strptime(raw_date, pattern).date()
            break
        except ValueError:
            continue
    if birth_date is None:
        raise InvalidInput(_l("Укажите дату рождения пациента в виде ДД.ММ.ГГГГ"))
    return registry.find_by_name(last_name, first_name, birth_date)


def _choose_match(values: dict, raw: str):
    chosen = next((pid for pid in values.get("matches", ()) if str(pid) == raw), None)
    if chosen is None:
        raise InvalidInput(_l("Выберите пациента из списка найденных"))
    update_state(candidate_id=chosen, matches=None, matches_total=None, patient_id=None, representative_id=None)
    return go_next("patient")


def _confirm_step(values: dict):
    context = _context("confirm", values)
    candidate = context["candidate"]
    if candidate is None:
        update_state(candidate_id=None)
        return _go("patient")
    if request.method == "POST":
        ctype = db.session.get(ConsultationType, values["type_id"])
        if ctype.for_representative:
            # The person found acts for the patient; whom they act for is asked by the
            # step of the plugin that knows legal representatives (it provides
            # ``patient_id``), kept while the same representative is confirmed again.
            same = values.get("representative_id") == candidate.id
            update_state(representative_id=candidate.id, patient_id=values.get("patient_id") if same else None)
        else:
            update_state(patient_id=candidate.id, representative_id=None)
        update_state(email_suggestion=state().get("request_email") or candidate.email or None)
        return go_next("confirm")
    return _render("confirm", **context)


def _email_step(values: dict):
    if request.method == "POST":
        email = request.form.get("email", "").strip()[:200]
        comment = request.form.get("comment", "").strip()
        if len(comment) > COMMENT_MAX_LENGTH:
            raise InvalidInput(_l("Комментарий не длиннее %(n)s символов", n=COMMENT_MAX_LENGTH))
        update_state(email=normalize_email(email), comment=comment or None)
        return go_next("email")
    return _render("email", **_context("email", values))


def _consultant_step(values: dict):
    if request.method == "POST":
        raw = request.form.get("consultant_id", "")
        doctors = _context("consultant", values)["doctors"]
        doctor = next((d for d in doctors if str(d.id) == raw), None)
        if doctor is None:
            raise InvalidInput(_l("Выберите врача-консультанта из списка"))
        update_state(consultant_id=doctor.id)
        return go_next("consultant")
    return _render("consultant", **_context("consultant", values))


def _slot_step(values: dict):
    if request.method == "POST":
        raw = request.form.get("slot_id", "")
        slot = params.row(Slot, raw)
        if slot is None or slot.doctor_id != values["consultant_id"]:
            raise InvalidInput(_l("Выбранный слот не найден"))
        if slot.starts_at <= utcnow():
            raise InvalidInput(_l("Нельзя записать на прошедшее время"))
        principal = current_principal()
        draft = ConsultationDraft(
            type_id=values["type_id"],
            profile_id=values["profile_id"],
            patient_id=values["patient_id"],
            representative_id=values.get("representative_id"),
            consultant_id=values["consultant_id"],
            email=values["email"],
            comment=values.get("comment"),
            slot_id=slot.id,
            route_data=values.get("route_data") or {},
        )
        try:
            consultation = create_consultation(draft, principal)
            unmarked = _mark_record_request(values.get("record_request_id"), consultation, principal)
            db.session.commit()
        except sa.exc.IntegrityError:
            # The unique slot constraint met at commit time: someone was faster.
            db.session.rollback()
            raise Conflict(_l("Это время только что занял другой врач: выберите другое время")) from None
        save_state({})
        flash(
            _(
                "Заявка %(number)s создана и поставлена в расписание на %(when)s",
                number=consultation.number,
                when=slot.starts_at.astimezone(local_zone()).strftime("%d.%m.%Y %H:%M"),
            ),
            "success",
        )
        if unmarked:
            flash(unmarked, "error")
        return redirect(url_for("workplace.application", consultation_id=consultation.id))
    return _render("slot", **_context("slot", values))


def _mark_record_request(request_id: int | None, consultation, principal) -> str | None:
    """A request of the deferred-record journal becomes «оформлена» with its application (P7)
    when the application is for the person the request names; otherwise the request stays
    in the journal and the returned text tells the doctor why."""
    if request_id is None:
        return None
    row = db.session.get(RecordRequest, request_id)
    if row is None or row.status != RecordRequest.NEW or row.organisation_id != principal.organisation_id:
        raise Conflict(_l("Заявка из журнала отложенной записи уже оформлена или недоступна"))
    if not record_requests.names_patient(row, consultation.patient):
        return _(
            "Заявка из журнала отложенной записи осталась в журнале: она подана для другого пациента, "
            "а консультация оформлена на %(name)s.",
            name=consultation.patient.full_name,
        )
    row.status = RecordRequest.REGISTERED
    row.consultation_id = consultation.id
    row.handled_by_id = principal.id
    row.handled_at = utcnow()
    audit.record(
        "record_request.registered",
        row,
        principal=principal,
        consultation_id=consultation.id,
        data={"consultation_id": consultation.id},
    )
    return None


HANDLERS = {
    "type": _type_step,
    "profile": _profile_step,
    "patient": _patient_step,
    "confirm": _confirm_step,
    "email": _email_step,
    "consultant": _consultant_step,
    "slot": _slot_step,
}


def start_from_record_request(row: RecordRequest) -> None:
    """Prefill the wizard from a journal request: the person found by the OMS policy, the
    e-mail, the comment and the profile the patient asked for."""
    values: dict = {"record_request_id": row.id, "request_email": row.email}
    if row.comment:
        values["comment"] = row.comment
    if row.profile_id:
        values["wanted_profile_id"] = row.profile_id
    policy = row.child_oms_policy if row.for_child and row.child_oms_policy else row.oms_policy
    person = db.session.scalar(sa.select(Patient).where(Patient.oms_policy == policy)) if policy else None
    if person is not None:
        values["request_person_id"] = values["candidate_id"] = person.id
    if row.for_child:
        adult = db.session.scalar(sa.select(Patient).where(Patient.oms_policy == row.oms_policy))
        if adult is not None:
            values["request_adult_id"] = adult.id
    save_state(values)

