"""Video tables: calls, their participants (with the host), in-call messages, quality samples.

The host of a call is one column of the call row (``host_participant_id``): taking the
host's place and handing it over are conditional UPDATEs of that one row, so two doctors
entering at once still give exactly one host, and a transfer demotes the old host in the
same statement (SPEC D8). No media is ever stored, only the figures of the summary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class VideoCall(db.Model):
    """One call (or waiting room) of a consultation, from the first ring to the hang-up."""

    __tablename__ = "video_calls"

    RINGING = "ringing"  # the doctor calls, nobody answered yet
    ACTIVE = "active"  # somebody is in the room
    ENDED = "ended"
    MISSED = "missed"
    DECLINED = "declined"
    LIVE = (RINGING, ACTIVE)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=RINGING)
    caller_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The current host, and who took the place first (may always take it back).
    host_participant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("video_participants.id", use_alter=True, ondelete="SET NULL")
    )
    owner_participant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("video_participants.id", use_alter=True, ondelete="SET NULL")
    )
    rang: Mapped[bool] = mapped_column(default=False)  # a call («Видеозвонок») or a wait («Войти в ВКС»)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ring_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # {"setup_ms": [...], "rtt_ms": {"p50", "p95"}, "loss": {"p50", "p95"}, "duration_s"}
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The consultation's id while the call is live, NULL after: a unique column, so a
    # consultation has at most one live call however many doctors press at once.
    live_key: Mapped[int | None] = mapped_column(unique=True)
    # The media backend carrying the call (plugins/video/media.py): "p2p" or "janus".
    media: Mapped[str] = mapped_column(sa.String(16), default="p2p", server_default="p2p")

    # The last sequence number given to an operation of the call's «Доска»: raised by one
    # UPDATE of this row per operation, so numbers have no gaps and commit in their order.
    board_seq: Mapped[int] = mapped_column(default=0, server_default="0")

    participants: Mapped[list[VideoParticipant]] = relationship(
        back_populates="call", foreign_keys="VideoParticipant.call_id", order_by="VideoParticipant.id"
    )

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class VideoParticipant(db.Model):
    """A person in a call: a staff user or a registry person (patient, representative)."""

    __tablename__ = "video_participants"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "user_id", "patient_id"),
        sa.CheckConstraint("(user_id IS NULL) <> (patient_id IS NULL)", name="exactly_one_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("video_calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"))
    name: Mapped[str] = mapped_column(sa.String(300), default="")
    # Muted by the host (only the owner unmutes), muted by themselves, broadcast paused.
    muted: Mapped[bool] = mapped_column(default=False)
    paused: Mapped[bool] = mapped_column(default=False)
    # The participant's own camera switch: the others' tiles show the name instead of video.
    camera_off: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Socket.IO connection of the participant while in the room (relay target).
    sid: Mapped[str | None] = mapped_column(sa.String(64))

    call: Mapped[VideoCall] = relationship(back_populates="participants", foreign_keys=[call_id])

    @property
    def side(self) -> str:
        return "staff" if self.user_id is not None else "patient"

    @property
    def in_room(self) -> bool:
        return self.joined_at is not None and self.left_at is None


class VideoMessage(db.Model):
    """A short message among the participants of a call («Чат» of the call window)."""

    __tablename__ = "video_messages"
    __table_args__ = (sa.UniqueConstraint("call_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("video_calls.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("video_participants.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(300), default="")
    client_id: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VideoQualitySample(db.Model):
    """Connection figures a client reported (every few seconds): the summary's source."""

    __tablename__ = "video_quality_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("video_calls.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("video_participants.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rtt_ms: Mapped[float | None]
    jitter_ms: Mapped[float | None]
    loss: Mapped[float | None]  # fraction of packets lost, 0..1
    fps: Mapped[float | None]
    score: Mapped[int | None]
    setup_ms: Mapped[int | None]  # accept → first decoded remote frame, reported once


class VideoCheck(db.Model):
    """The result of a pre-call check «Проверка связи» of one person in a consultation:
    which of the guide's causes applies (SPEC P5, D8; guide 000 §5.3, 002 §6.3), so that
    the doctor sees it before calling. No media, no address is stored: only the verdicts."""

    __tablename__ = "video_checks"
    __table_args__ = (sa.CheckConstraint("(user_id IS NULL) <> (patient_id IS NULL)", name="exactly_one_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"))
    # "ok", "refresh", "permission", "busy", "browser", "network" (plugins/video/precheck.py)
    cause: Mapped[str] = mapped_column(sa.String(16))
    adapters_warning: Mapped[bool] = mapped_column(default=False)
    camera: Mapped[str] = mapped_column(sa.String(16), default="")  # "ok" or the media error's kind
    microphone: Mapped[str] = mapped_column(sa.String(16), default="")
    network: Mapped[str] = mapped_column(sa.String(16), default="")  # "relay", "srflx", "blocked", "unknown"
    rtt_ms: Mapped[int | None]
    # Through the deployment's TURN (a relay-only loopback of the browser): kbit/s and % lost.
    throughput_kbps: Mapped[int | None]
    loss_pct: Mapped[float | None]
    browser: Mapped[str] = mapped_column(sa.String(40), default="")  # "Chrome 120"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def side(self) -> str:
        return "staff" if self.user_id is not None else "patient"


class VideoBoardOp(db.Model):
    """One operation on the call's shared whiteboard «Доска», in an append-only log.

    ``seq`` is the server's number (1, 2, 3… per call, no gaps); ``client_id`` is the
    sender's own id of the operation, unique per call, so that an operation sent again
    after a reconnect is stored once. Drawing kinds carry the shape in ``data``; ``erase``
    and ``undo`` name the operation they take off the board in ``target_seq``; ``clear``
    takes off everything before it. Nothing is ever updated or deleted.
    """

    __tablename__ = "video_board_ops"
    __table_args__ = (sa.UniqueConstraint("call_id", "seq", name="uq_video_board_ops_call_seq"),
                      sa.UniqueConstraint("call_id", "client_id", name="uq_video_board_ops_call_client"))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("video_calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    client_id: Mapped[str] = mapped_column(sa.String(64))
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("video_participants.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    target_seq: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
