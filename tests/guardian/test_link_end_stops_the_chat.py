"""Ending a legal representation ends the representative's view of the child's chat at
once (issue 12, the Low finding; SPEC D5, P3): the lists and the open sockets follow the
access policy within seconds (the chat's re-check, ``CHAT_RECHECK_SECONDS``), and so they
do after a new consent version."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from core.db import db, utcnow
from core.models import ConsentVersion
from plugins.guardian.models import Guardianship
from tests.chat.conftest import Browser, make_account, wait_for

WAIT = 15  # generous: the re-check runs every CHAT_RECHECK_SECONDS (2 s by default)


def _family(factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation=organisation, specialty="педиатр")
    parent = factory.patient(organisation=organisation, last_name="Морозова", first_name="Елена")
    account = make_account(factory, parent)
    child = factory.patient(organisation=organisation, last_name="Морозов", first_name="Тимофей", birth_date=date(2018, 3, 4))
    link = Guardianship(representative_id=parent.id, child_id=child.id, basis=Guardianship.ESIA, source="esia")
    factory.commit(link)
    for_child = factory.consultation(
        author=doctor, patient=child, representative_id=parent.id, type_code="remote_representative"
    )
    own = factory.consultation(author=doctor, patient=parent)
    return dict(doctor=doctor, account=account, link=link, for_child=for_child.id, own=own.id)


def _unread_for(sock, chat_id):
    return [event for event in sock.received("unread") if event["chat"] == chat_id]


def test_ending_a_link_takes_the_childs_chat_off_the_representatives_lists_and_sockets(server, factory, sockets):
    family = _family(factory)
    child_chat, own_chat = family["for_child"], family["own"]
    parent = Browser(server.url, "patient", family["account"].id)
    doctor = Browser(server.url, "staff", family["doctor"].id)
    assert f'data-consultation="{child_chat}"' in parent.get("/chat/").text
    list_socket = parent.socket(auth={"chats": [child_chat, own_chat]})
    window = parent.socket()
    doctor_socket = doctor.socket()
    sockets += [list_socket, window, doctor_socket]
    assert window.call("join", {"chat": child_chat})["ok"] is True
    doctor_socket.call("join", {"chat": child_chat})
    doctor_socket.send(child_chat, "Как температура?")
    wait_for(lambda: _unread_for(list_socket, child_chat), timeout=WAIT)
    wait_for(lambda: window.received("message"), timeout=WAIT)

    link = db.session.get(Guardianship, family["link"].id)
    link.ended_at = utcnow()  # as an operator or the next ESIA login does
    db.session.commit()

    wait_for(lambda: {"chat": child_chat} in list_socket.received("access_lost"), timeout=WAIT)
    wait_for(lambda: {"chat": child_chat} in window.received("access_lost"), timeout=WAIT)
    unread_before, messages_before = len(_unread_for(list_socket, child_chat)), len(window.received("message"))
    doctor_socket.send(child_chat, "Это уже не для представителя")
    doctor_socket.send(own_chat, "А это вам")  # the socket itself still works: its own chat
    wait_for(lambda: _unread_for(list_socket, own_chat), timeout=WAIT)
    assert len(_unread_for(list_socket, child_chat)) == unread_before
    assert len(window.received("message")) == messages_before
    assert window.call("history", {"chat": child_chat})["ok"] is False

    # Pages and a new tab: no title, number or circle of the child's consultation.
    for path in ("/chat/", "/portal/chats"):
        page = parent.get(path).text
        assert f'data-consultation="{child_chat}"' not in page and f'data-consultation="{own_chat}"' in page
    fresh = parent.socket(auth={"chats": [child_chat, own_chat]})
    sockets.append(fresh)
    counts = wait_for(lambda: fresh.received("counts"), timeout=WAIT)[0]
    assert str(child_chat) not in counts["unread"] and str(own_chat) in counts["unread"]


def test_a_new_consent_version_stops_the_counters_of_the_open_sockets(server, factory, sockets):
    family = _family(factory)
    parent = Browser(server.url, "patient", family["account"].id)
    doctor = Browser(server.url, "staff", family["doctor"].id)
    list_socket = parent.socket(auth={"chats": [family["own"]]})
    doctor_socket = doctor.socket()
    sockets += [list_socket, doctor_socket]
    wait_for(lambda: list_socket.received("counts"), timeout=WAIT)
    newest = db.session.scalar(sa.select(sa.func.max(ConsentVersion.version)))
    factory.commit(ConsentVersion(version=newest + 1, title="Согласие, редакция 2", text="Текст", published_at=utcnow()))
    wait_for(lambda: {"all": True} in list_socket.received("access_lost"), timeout=WAIT)
    doctor_socket.send(family["own"], "До принятия новой редакции")
    doctor_socket.send(family["for_child"], "И в чате ребёнка")
    # The doctor's own socket hears its messages: the broadcast is over by then.
    doctor_socket.call("join", {"chat": family["own"]})
    doctor_socket.call("history", {"chat": family["own"]})
    assert list_socket.received("unread") == []
