"""Connection quality: the figures clients report, the mark, the per-call summary.

Clients read ``getStats()`` every 2 s and send round-trip time, jitter, packet loss and
frames per second; the server keeps the samples of a call and, when it ends, a summary
(set-up time, duration, p50/p95 of RTT and loss). Never any media.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import SYSTEM
from core.db import db, utcnow
from core.errors import InvalidInput
from plugins.video.models import VideoCall, VideoParticipant, VideoQualitySample

LIMITS = {"rtt_ms": 60_000.0, "jitter_ms": 60_000.0, "loss": 1.0, "fps": 240.0, "setup_ms": 600_000.0}


def score(rtt_ms: float | None, jitter_ms: float | None, loss: float | None) -> int:
    """0..100 in the manner of LiveKit's: loss weighs most, then delay and jitter.
    Excellent above 80, good above 40, else poor."""
    value = 100.0
    value -= min(60.0, (loss or 0.0) * 100 * 6)  # 10 % lost costs 60 points
    value -= min(30.0, max(0.0, (rtt_ms or 0.0) - 150) / 10)
    value -= min(20.0, max(0.0, (jitter_ms or 0.0) - 30) / 3)
    return max(0, round(value))


def mark(value: int) -> str:
    return "excellent" if value > 80 else "good" if value > 40 else "poor"


def _figure(data: dict, name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(_l("Неверные показатели связи"))
    if not 0 <= value <= LIMITS[name]:
        raise InvalidInput(_l("Неверные показатели связи"))
    return float(value)


def record(call: VideoCall, me: VideoParticipant, data: dict) -> dict:
    figures = {name: _figure(data, name) for name in LIMITS}
    value = score(figures["rtt_ms"], figures["jitter_ms"], figures["loss"])
    setup = figures.pop("setup_ms")
    db.session.add(VideoQualitySample(call_id=call.id, participant_id=me.id, score=value,
                                      setup_ms=round(setup) if setup is not None else None, **figures))
    return {"score": value, "mark": mark(value)}


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return round(ordered[index], 4)


def summarise(call: VideoCall) -> dict:
    rows = list(db.session.execute(
        sa.select(VideoQualitySample.rtt_ms, VideoQualitySample.loss, VideoQualitySample.setup_ms)
        .where(VideoQualitySample.call_id == call.id)
    ))
    rtt = [r.rtt_ms for r in rows if r.rtt_ms is not None]
    loss = [r.loss for r in rows if r.loss is not None]
    setup = [r.setup_ms for r in rows if r.setup_ms is not None]
    start = call.accepted_at or call.created_at
    summary = {
        "duration_s": round(((call.ended_at or utcnow()) - start).total_seconds(), 1),
        "setup_ms": setup,
        "rtt_ms": {"p50": _percentile(rtt, 50), "p95": _percentile(rtt, 95)},
        "loss": {"p50": _percentile(loss, 50), "p95": _percentile(loss, 95)},
        "samples": len(rows),
    }
    call.summary = summary
    audit.record("video.ended", call, consultation_id=call.consultation_id, principal=SYSTEM, data=summary)
    return summary
