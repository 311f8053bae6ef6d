"""The lists of chats follow the chat live in every open tab: «Чат с врачом» in the portal
(SPEC P3), «Входящие» and «Сообщения» in the workplace (SPEC D7). A blue circle with the
number of unread messages appears, changes and goes when they are read in another tab; a
chat closed elsewhere turns grey; a tab that connects gets the current numbers. The chat
window opens at the first unread message and counts as read only what it has shown."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from core import lifecycle
from core.access import principal_for_user
from core.db import db
from core.models import CompletionReason, Consultation, Outcome, Patient, User
from plugins.chat.models import Chat, ChatMember
from tests.chat.conftest import Browser, make_cast, wait_for

TIMEOUT = 10_000  # ms: how long a page may take to show what the server sent


def _complete(consultation_id: int) -> None:
    consultation = db.session.get(Consultation, consultation_id)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
    db.session.commit()


def _read_mark(consultation_id: int, **who) -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(ChatMember.last_read_seq)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(Chat.consultation_id == consultation_id, *(getattr(ChatMember, k) == v for k, v in who.items()))
    )


def _watch_errors(page, errors: list) -> None:
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Failed loads are told by their responses, where the browser's own favicon.ico is let be.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)


# --------------------------------------------------------------------------- counts on connect


def test_a_tab_gets_the_current_counts_when_it_connects(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor_user, patient = db.session.get(User, cast.doctor_id), db.session.get(Patient, cast.patient_id)
    second = factory.consultation(author=doctor_user, patient=patient).id
    strangers = make_cast(factory)
    _complete(strangers.consultation_id)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient_page = Browser(server.url, "patient", cast.account_id)
    doctor_socket = doctor.socket()
    sockets.append(doctor_socket)
    for chat, text in ((cast.consultation_id, "Первое"), (cast.consultation_id, "Второе"), (second, "Другой чат")):
        assert doctor_socket.send(chat, text)["ok"]
    _complete(second)

    # A list page names its items: it learns their numbers and which closed meanwhile,
    # and nothing about a stranger's chat it names.
    # (numbers beyond the integer range are refused by the request guard before any handler)
    asked = [cast.consultation_id, second, strangers.consultation_id, "x", -1, 2**31 - 1]
    list_tab = patient_page.socket(auth={"chats": asked})
    sockets.append(list_tab)
    counts = wait_for(lambda: list_tab.received("counts"))
    assert counts == [{"unread": {str(cast.consultation_id): 2, str(second): 1}, "closed": [second]}]

    # Read in one tab: a tab that connects afterwards (a reload, a reconnect) is told so.
    assert list_tab.call("read", {"chat": cast.consultation_id, "seq": 2})["unread"] == 0
    later = patient_page.socket()
    sockets.append(later)
    assert wait_for(lambda: later.received("counts")) == [{"unread": {str(second): 1}, "closed": []}]

    # The doctor wrote them all: nothing unread; a malformed list is ignored, not refused.
    doctor_tab = doctor.socket(auth={"chats": "all"})
    sockets.append(doctor_tab)
    assert wait_for(lambda: doctor_tab.received("counts")) == [{"unread": {}, "closed": []}]
    assert doctor_tab.connected


# --------------------------------------------------------------------------- the window's first page


def test_the_window_opens_at_the_first_unread_message_even_far_back(app, server, factory, sockets):
    cast = make_cast(factory)
    doctor = Browser(server.url, "staff", cast.doctor_id)
    patient = Browser(server.url, "patient", cast.account_id)
    patient_socket, doctor_socket = patient.socket(), doctor.socket()
    sockets += [patient_socket, doctor_socket]
    assert patient_socket.send(cast.consultation_id, "Здравствуйте")["ok"]  # seq 1, read by its sender
    for n in range(70):
        assert doctor_socket.send(cast.consultation_id, f"ответ {n}")["ok"]  # seq 2..71

    page = patient.get(f"/chat/{cast.consultation_id}").text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', page)]
    # A little of what was read, then a page from the first unread one on.
    assert seqs[0] == 1 and seqs[1:] == list(range(2, 52))
    assert re.search(r'<li class="unread-divider"[^>]*>[^<]*</li>\s*<li class="msg[^"]*" data-seq="2"', page)
    assert 'class="chat-older" hidden' in page
    assert 'data-my-read="1"' in page

    # Few unread: the latest page, the divider before the first of them.
    assert patient_socket.call("read", {"chat": cast.consultation_id, "seq": 68})["ok"]
    page = patient.get(f"/chat/{cast.consultation_id}").text
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', page)]
    assert seqs == list(range(22, 72))
    assert re.search(r'<li class="unread-divider"[^>]*>[^<]*</li>\s*<li class="msg[^"]*" data-seq="69"', page)
    # The doctor has read everything: no divider.
    assert "unread-divider" not in doctor.get(f"/chat/{cast.consultation_id}").text


# --------------------------------------------------------------------------- in Chromium


def test_the_portal_list_follows_the_chat_live(server, factory, browser, sockets):
    """«Чат с врачом» open in one tab: the doctor writes, the circle appears with 1; the chat
    opened in a second tab reads it, the circle goes; the doctor completes, the item greys."""
    cast = make_cast(factory)
    context = browser.new_context()
    errors: list = []
    listing = context.new_page()
    _watch_errors(listing, errors)
    listing.goto(f"{server.url}/_test/login/patient/{cast.account_id}")
    listing.goto(f"{server.url}/portal/chats")
    item = listing.locator(f'[data-consultation="{cast.consultation_id}"]')
    badge = item.locator("[data-badge]")
    expect(badge).to_have_count(0)
    listing.wait_for_function("() => window.TeleconsultChatBadges && document.querySelector('[data-consultation-list]')")

    doctor_socket = Browser(server.url, "staff", cast.doctor_id).socket()
    sockets.append(doctor_socket)
    # The page counts from the moment its socket is up (the counts it is sent on connecting).
    wait_for(lambda: _page_connected(listing))
    assert doctor_socket.send(cast.consultation_id, "Как вы себя чувствуете?")["ok"]
    expect(badge).to_have_text("1", timeout=TIMEOUT)
    expect(badge).to_have_attribute("aria-label", "Непрочитанных сообщений: 1")
    assert doctor_socket.send(cast.consultation_id, "Померьте давление, пожалуйста")["ok"]
    expect(badge).to_have_text("2", timeout=TIMEOUT)

    chat = context.new_page()
    _watch_errors(chat, errors)
    chat.goto(f"{server.url}/chat/{cast.consultation_id}")
    expect(chat.locator(".chat-messages .msg.theirs")).to_have_count(2)
    expect(badge).to_have_count(0, timeout=TIMEOUT)  # read in the other tab: gone in this one

    expect(item).not_to_have_class(re.compile(r"\bclosed\b"))
    expect(item.locator("[data-closed-note]")).to_be_hidden()
    _complete(cast.consultation_id)
    expect(item).to_have_class(re.compile(r"\bclosed\b"), timeout=TIMEOUT)
    expect(item.locator("[data-closed-note]")).to_be_visible()
    expect(item.locator("[data-status]")).to_have_text("Закрыта")
    expect(chat.locator(".chat-closed-note")).to_be_visible(timeout=TIMEOUT)
    assert errors == []


def test_the_doctors_inbox_follows_the_chat_live(server, factory, browser, sockets):
    """The same in «Входящие»: the patient writes, the circle appears in the row; the doctor
    reads in another tab, it goes; completed elsewhere, the row turns grey."""
    cast = make_cast(factory)
    context = browser.new_context()
    errors: list = []
    inbox = context.new_page()
    _watch_errors(inbox, errors)
    inbox.goto(f"{server.url}/_test/login/staff/{cast.doctor_id}")
    inbox.goto(f"{server.url}/workplace/inbox")
    row = inbox.locator(f'tr[data-consultation="{cast.consultation_id}"]')
    badge = row.locator("[data-badge]")
    expect(row).to_be_visible()
    expect(badge).to_have_count(0)
    wait_for(lambda: _page_connected(inbox))

    patient_socket = Browser(server.url, "patient", cast.account_id).socket()
    sockets.append(patient_socket)
    assert patient_socket.send(cast.consultation_id, "Доктор, у меня вопрос")["ok"]
    expect(badge).to_have_text("1", timeout=TIMEOUT)
    expect(badge).to_have_attribute("title", "Непрочитанные сообщения")
    # The circle stands beside the patient's name, as the page draws it.
    assert row.locator(".patient-link + [data-badge]").count() == 1

    chat = context.new_page()
    _watch_errors(chat, errors)
    chat.goto(f"{server.url}/chat/{cast.consultation_id}")
    expect(chat.locator(".chat-messages .msg.theirs")).to_have_count(1)
    expect(badge).to_have_count(0, timeout=TIMEOUT)

    _complete(cast.consultation_id)
    expect(row).to_have_class(re.compile(r"\bclosed\b"), timeout=TIMEOUT)
    expect(row.locator("[data-status]")).to_have_text("Закрыта")
    expect(row.locator("[data-status]")).to_have_class(re.compile(r"\bstatus-closed\b"))
    assert errors == []


def test_a_list_that_lost_its_connection_catches_up_on_reconnecting(server, factory, browser, sockets):
    """What happened while a list was cut off (messages, the completion) shows as soon as it
    is back, from the counts it is sent on connecting: here the chat plugin's own list."""
    cast = make_cast(factory)
    doctor_socket = Browser(server.url, "staff", cast.doctor_id).socket()
    sockets.append(doctor_socket)
    page = browser.new_context().new_page()
    errors: list = []
    _watch_errors(page, errors)
    page.goto(f"{server.url}/_test/login/patient/{cast.account_id}")
    page.goto(f"{server.url}/chat/")
    item = page.locator(f'[data-consultation="{cast.consultation_id}"]')
    badge = item.locator("[data-badge]")
    wait_for(lambda: _page_connected(page))
    assert doctor_socket.send(cast.consultation_id, "Первое")["ok"]
    expect(badge).to_have_text("1", timeout=TIMEOUT)

    page.evaluate("() => TeleconsultChatBadges.socket.disconnect()")
    wait_for(lambda: not _page_connected(page))
    assert doctor_socket.send(cast.consultation_id, "Второе")["ok"]
    assert doctor_socket.send(cast.consultation_id, "Третье")["ok"]
    _complete(cast.consultation_id)
    assert badge.inner_text() == "1" and "closed" not in item.get_attribute("class")  # nothing came meanwhile

    page.evaluate("() => TeleconsultChatBadges.socket.connect()")
    expect(badge).to_have_text("3", timeout=TIMEOUT)
    expect(badge).to_have_attribute("aria-label", "Непрочитанных сообщений: 3")
    expect(item).to_have_class(re.compile(r"\bclosed\b"))
    expect(item.locator("[data-closed-note]")).to_be_visible()
    assert errors == []


def test_the_window_opens_at_the_first_unread_and_reads_only_what_it_shows(server, factory, browser, sockets):
    cast = make_cast(factory)
    patient_socket = Browser(server.url, "patient", cast.account_id).socket()
    doctor_socket = Browser(server.url, "staff", cast.doctor_id).socket()
    sockets += [patient_socket, doctor_socket]
    for n in range(8):
        assert patient_socket.send(cast.consultation_id, f"Вопрос {n}")["ok"]  # seq 1..8, read
    long_text = "Подробный ответ врача. " * 12
    for n in range(30):
        assert doctor_socket.send(cast.consultation_id, f"{n + 1}. {long_text}")["ok"]  # seq 9..38
    last = 38

    context = browser.new_context(viewport={"width": 1000, "height": 700})
    errors: list = []
    listing = context.new_page()
    _watch_errors(listing, errors)
    listing.goto(f"{server.url}/_test/login/patient/{cast.account_id}")
    listing.goto(f"{server.url}/portal/chats")
    badge = listing.locator(f'[data-consultation="{cast.consultation_id}"] [data-badge]')
    expect(badge).to_have_text("30")

    chat = context.new_page()
    _watch_errors(chat, errors)
    chat.goto(f"{server.url}/chat/{cast.consultation_id}")
    divider = chat.locator(".chat-messages .unread-divider")
    expect(divider).to_have_text("Непрочитанные сообщения")
    expect(divider).to_be_in_viewport()
    expect(chat.locator('.msg[data-seq="9"]')).to_be_in_viewport()
    expect(chat.locator(f'.msg[data-seq="{last}"]')).not_to_be_in_viewport()

    # What was on screen is read, the rest is not: the circle in the list says how many remain.
    shown = wait_for(lambda: (_read_mark(cast.consultation_id, patient_id=cast.patient_id) or 0) > 8 and
                     _read_mark(cast.consultation_id, patient_id=cast.patient_id))
    assert 9 <= shown < last - 1
    expect(chat.locator(f'.msg[data-seq="{shown}"]')).to_be_in_viewport()
    expect(chat.locator(f'.msg[data-seq="{shown + 2}"]')).not_to_be_in_viewport()
    expect(badge).to_have_text(str(last - shown), timeout=TIMEOUT)

    chat.locator(".chat-messages").evaluate("list => { list.scrollTop = list.scrollHeight; }")
    expect(badge).to_have_count(0, timeout=TIMEOUT)
    assert _read_mark(cast.consultation_id, patient_id=cast.patient_id) == last
    assert errors == []


def test_the_lists_work_without_the_chat_plugin(make_app):
    """Switched off (or not installed), the lists load no script, and still work."""
    from core.models import PluginState
    from core.testing import PASSWORD, Factory

    app = make_app()
    client = app.test_client()
    with app.app_context():
        factory = Factory(app)
        doctor = factory.doctor(login="nochat")
        consultation_id = factory.consultation(author=doctor).id
    client.login("nochat", PASSWORD)
    html = client.get("/workplace/inbox").get_data(as_text=True)
    assert "/chat/static/chat/badges.js" in html and "socket.io.min.js" in html
    with app.app_context():
        db.session.add(PluginState(plugin="chat", enabled=False))
        db.session.commit()
    page = client.get("/workplace/inbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-consultation="{consultation_id}"' in html
    assert "/chat/" not in html and "socket.io" not in html  # only the core's own page script

    bare = make_app(plugins=[]).test_client()
    bare.login("nochat", PASSWORD)
    html = bare.get("/workplace/inbox").get_data(as_text=True)
    assert f'data-consultation="{consultation_id}"' in html and "/chat/" not in html and "socket.io" not in html


def _page_connected(page) -> bool:
    """Whether the list page's socket is up (the page keeps it; tests only look)."""
    return page.evaluate("() => !!(window.TeleconsultChatBadges && window.TeleconsultChatBadges.socket"
                         " && window.TeleconsultChatBadges.socket.connected)")
