"""Chat tables: one chat per consultation, its members with read marks, its messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow


class Chat(db.Model):
    """The chat of one consultation (SPEC D7, P3). Read-only once ``closed_at`` is set."""

    __tablename__ = "chat_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    # The sequence number of the last message; each message takes the next one under a
    # row lock, so within a chat the commit order is the sequence order.
    last_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    members: Mapped[list[ChatMember]] = relationship(
        back_populates="chat", cascade="all, delete-orphan", order_by="ChatMember.id"
    )

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class ChatMember(db.Model):
    """A member: a staff user or a registry person (patient, representative)."""

    __tablename__ = "chat_members"
    __table_args__ = (
        sa.UniqueConstraint("chat_id", "user_id", "patient_id"),
        sa.CheckConstraint("(user_id IS NULL) <> (patient_id IS NULL)", name="exactly_one_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_chats.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patients.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(30))
    # Everything up to this sequence number has been read by the member.
    last_read_seq: Mapped[int] = mapped_column(default=0)

    chat: Mapped[Chat] = relationship(back_populates="members")

    @property
    def side(self) -> str:
        return "staff" if self.user_id is not None else "patient"


class ChatMessage(db.Model):
    """A text, a file or a system notice. ``client_id`` makes a resend idempotent."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        sa.UniqueConstraint("chat_id", "seq", name="uq_chat_messages_chat_seq"),
        sa.UniqueConstraint("chat_id", "client_id", name="uq_chat_messages_chat_client"),
    )

    TEXT = "text"
    FILE = "file"
    SYSTEM = "system"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_chats.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(10), default=TEXT)
    sender_member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("chat_members.id", ondelete="SET NULL")
    )
    sender_side: Mapped[str] = mapped_column(sa.String(10))  # staff | patient | system
    sender_name: Mapped[str] = mapped_column(sa.String(300), default="")
    client_id: Mapped[str | None] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatRevokedLogin(db.Model):
    """A login whose sockets must stop: the user logged out (checked on every event)."""

    __tablename__ = "chat_revoked_logins"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
