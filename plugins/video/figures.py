"""The video plugin's figures on the operator's dashboard: calls per day and their
connection quality (hook ``teleconsult_register_dashboard_figures``)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from admin.figures import DashboardScope, Figure, cell_of, median
from core.db import db
from core.models import Consultation
from plugins.video.models import VideoCall, VideoParticipant
from plugins.video.quality import mark, score

MARKS = ("excellent", "good", "poor")


def _calls(scope: DashboardScope):
    patient_joined = (
        sa.select(VideoParticipant.id)
        .where(VideoParticipant.call_id == VideoCall.id, VideoParticipant.patient_id.is_not(None),
               VideoParticipant.joined_at.is_not(None))
        .exists()
    )
    return db.session.execute(
        sa.select(VideoCall.created_at, VideoCall.status, VideoCall.summary, patient_joined.label("held"))
        .join(Consultation, Consultation.id == VideoCall.consultation_id)
        .where(scope.within(VideoCall.created_at), scope.of_organisation(Consultation.organisation_id))
    ).all()


def calls_per_day(scope: DashboardScope, calls) -> Figure:
    return Figure(
        code="video_calls",
        title=_("Видеозвонки по дням"),
        columns=(_("День"), _("Всего звонков"), _("Состоялись"), _("Пропущены"), _("Отклонены")),
        rows=tuple(scope.per_day(
            [c.created_at for c in calls],
            [c.created_at for c in calls if c.held],
            [c.created_at for c in calls if c.status == VideoCall.MISSED],
            [c.created_at for c in calls if c.status == VideoCall.DECLINED],
        )),
        chart="line",
        order=50,
    )


def _mark_of(summary: dict) -> str | None:
    if not summary or not summary.get("samples"):
        return None
    rtt = (summary.get("rtt_ms") or {}).get("p95")
    loss = (summary.get("loss") or {}).get("p95")
    if rtt is None and loss is None:
        return None
    return mark(score(rtt, None, loss))


def call_quality(scope: DashboardScope, calls) -> Figure:
    """The mark of each ended call from its summary (p95 of round-trip time and loss)."""
    titles = {"excellent": _("Отличное"), "good": _("Хорошее"), "poor": _("Плохое")}
    ended = [c for c in calls if c.status == VideoCall.ENDED and c.held]
    marks = [_mark_of(c.summary or {}) for c in ended]
    rows = [(titles[m], marks.count(m)) for m in MARKS] + [(_("Нет данных"), marks.count(None))]
    setup = median([float(v) for c in ended for v in ((c.summary or {}).get("setup_ms") or [])
                    if isinstance(v, int | float)])
    duration = median([float(c.summary["duration_s"]) for c in ended
                       if isinstance((c.summary or {}).get("duration_s"), int | float)])
    parts = []
    if duration is not None:
        parts.append(_("медиана длительности: %(minutes)s мин", minutes=cell_of(duration / 60)))
    if setup is not None:
        parts.append(_("медиана установки связи: %(seconds)s с", seconds=cell_of(setup / 1000)))
    return Figure(
        code="video_quality",
        title=_("Качество связи состоявшихся видеозвонков"),
        columns=(_("Качество связи"), _("Звонки")),
        rows=tuple(rows),
        chart="doughnut",
        note=_sentence("; ".join(parts)),
        order=60,
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def figures(scope: DashboardScope) -> list[Figure]:
    calls = _calls(scope)
    return [calls_per_day(scope, calls), call_quality(scope, calls)]
