"""The chat's Socket.IO rooms and the one way to emit to them."""

from __future__ import annotations

from flask import current_app

from core.access import Principal
from plugins.chat.models import ChatMember

NAMESPACE = "/chat"


def chat_room(consultation_id: int) -> str:
    return f"chat:{consultation_id}"


def staff_room(user_id: int) -> str:
    return f"staff:{user_id}"


def person_room(patient_id: int) -> str:
    return f"person:{patient_id}"


def login_room(token: str) -> str:
    return f"login:{token}"


def ward_room(child_id: int, representative_id: int) -> str:
    return f"ward:{child_id}:{representative_id}"


def personal_rooms(principal: Principal) -> list[str]:
    """Rooms every tab of a user joins: unread counters and read marks reach them all.

    A patient joins the room of each person they act for now, and for each child the room
    of their own member rows in that child's consultations (``ward_room``): when a link
    ends, the re-check leaves those rooms, so no counter of the child's chats arrives."""
    if principal.is_staff:
        return [staff_room(principal.id)]
    if principal.is_patient:
        ids = sorted(principal.patient_ids)
        return [person_room(pid) for pid in ids] + [
            ward_room(child, own) for own in ids for child in ids if child != own
        ]
    return []


def member_room(member: ChatMember, subject_id: int | None) -> str:
    """The room of a member's tabs; ``subject_id``: whom the consultation is about. A
    representative's row in a child's chat reaches them only while they act for the child."""
    if member.user_id is not None:
        return staff_room(member.user_id)
    if subject_id is None or member.patient_id == subject_id:
        return person_room(member.patient_id)
    return ward_room(subject_id, member.patient_id)


def emit(event: str, data, room: str, skip_sid=None) -> None:
    """To every socket of ``room`` on /chat, less ``skip_sid`` (a socket id or a list)."""
    current_app.extensions["socketio"].emit(event, data, to=room, namespace=NAMESPACE, skip_sid=skip_sid)
