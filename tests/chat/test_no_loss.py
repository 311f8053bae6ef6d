"""No message lost, none duplicated, while connections drop (issue acceptance; SPEC D7, P4).

50 clients (a doctor and a patient in each of 25 chats) send 5,000 messages. About one
send in fifty is followed at once by a dropped connection, before the acknowledgement
arrives; the client reconnects, asks for everything after the last message it holds, and
resends with the same client id. Afterwards every chat holds every message exactly once,
in the order each sender sent them, and every client has seen all messages of its chat.

The clients run in two child processes of their own, so that the server under test does
not share its interpreter lock with fifty clients.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa

from core.db import db
from plugins.chat.models import Chat, ChatMessage
from core.testing import database_backends
from tests.chat.conftest import Browser, ChatSocket, make_cast


@pytest.fixture(params=database_backends()[-1:])
def database_backend(request) -> str:
    """This test is about delivery over dropping sockets, not about the database (the other
    chat tests run on both): one backend, PostgreSQL where it is available, keeps the suite short."""
    return request.param

CHATS = 25
PER_CLIENT = 100
DROP_EVERY = 50  # on average


class Peer:
    def __init__(self, browser: Browser, chat: int, name: str, seed: int):
        self.browser = browser
        self.chat = chat
        self.name = name
        self.random = random.Random(seed)
        self.seen: set[int] = set()
        self.lock = threading.Lock()
        self.drops = 0
        self.duplicates_acked = 0
        self.socket: ChatSocket | None = None
        self.error: BaseException | None = None

    def contiguous(self) -> int:
        with self.lock:
            n = 0
            while n + 1 in self.seen:
                n += 1
            return n

    def note(self, messages) -> None:
        with self.lock:
            self.seen.update(m["seq"] for m in messages if m["chat"] == self.chat)

    def connect(self) -> None:
        sock = ChatSocket(self.browser, connect=False)
        sock.sio.on("message", lambda m: self.note([m]), namespace="/chat")
        sock.connect()
        self.socket = sock
        self.sync()

    def sync(self) -> None:
        reply = self.socket.call("join", {"chat": self.chat, "after": self.contiguous()}, timeout=30)
        assert reply["ok"], reply
        self.note(reply["messages"])
        while reply.get("more"):
            reply = self.socket.call("history", {"chat": self.chat, "after": self.contiguous()}, timeout=30)
            self.note(reply["messages"])

    def reconnect(self) -> None:
        self.socket.close()
        self.drops += 1
        self.connect()

    def run(self) -> None:
        try:
            self.connect()
            for n in range(PER_CLIENT):
                data = {"chat": self.chat, "client_id": f"{self.name}-{n}", "text": f"{self.name} №{n}"}
                if self.random.randrange(DROP_EVERY) == 0:
                    # The connection dies right after the send leaves: no acknowledgement.
                    self.socket.sio.emit("send", data, namespace="/chat")
                    self.reconnect()
                while True:
                    try:
                        reply = self.socket.call("send", data, timeout=30)
                    except Exception:
                        self.reconnect()
                        continue
                    assert reply["ok"], reply
                    self.duplicates_acked += bool(reply["duplicate"])
                    self.note([reply["message"]])
                    break
        except BaseException as error:  # reported by the test
            self.error = error

    def finish(self, total: int) -> None:
        """Catch up as a client would; the other side (another process) may still be sending."""
        deadline = time.monotonic() + 60
        self.sync()
        while self.contiguous() < total and time.monotonic() < deadline:
            time.sleep(0.2)
            self.sync()


def run_peers(url: str, specs: list[tuple]) -> dict:
    """In a child process: run the peers in threads, report what each saw."""
    peers = [Peer(Browser(url, kind, person), chat, name, seed) for kind, person, chat, name, seed in specs]
    threads = [threading.Thread(target=peer.run) for peer in peers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    report = {}
    for peer in peers:
        if peer.error is None:
            try:
                peer.finish(2 * PER_CLIENT)
            except BaseException as error:
                peer.error = error
        report[peer.name] = {
            "seen": sorted(peer.seen), "drops": peer.drops, "duplicates": peer.duplicates_acked,
            "error": None if peer.error is None else repr(peer.error),
        }
        if peer.socket is not None:
            peer.socket.close()
    return report


def test_five_thousand_messages_with_dropped_connections(app, server, factory):
    casts = [make_cast(factory) for _ in range(CHATS)]
    specs = []
    for i, cast in enumerate(casts):
        specs.append(("staff", cast.doctor_id, cast.consultation_id, f"d{i}", i))
        specs.append(("patient", cast.account_id, cast.consultation_id, f"p{i}", 1000 + i))
    chat_of = {name: chat for _, _, chat, name, _ in specs}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        halves = [specs[0::2], specs[1::2]]  # each child holds one side of every chat
        reports = {}
        for report in pool.map(run_peers, [server.url] * 2, halves):
            reports.update(report)
    assert len(reports) == 2 * CHATS
    for name, report in reports.items():
        assert report["error"] is None, (name, report["error"])
    assert sum(r["drops"] for r in reports.values()) > 0
    assert sum(r["duplicates"] for r in reports.values()) > 0

    per_chat = 2 * PER_CLIENT
    db.session.expire_all()
    for cast in casts:
        chat = db.session.scalar(sa.select(Chat).where(Chat.consultation_id == cast.consultation_id))
        rows = db.session.execute(
            sa.select(ChatMessage.seq, ChatMessage.client_id).where(ChatMessage.chat_id == chat.id).order_by(ChatMessage.seq)
        ).all()
        # Every message exactly once, sequence without gaps.
        assert [seq for seq, _ in rows] == list(range(1, per_chat + 1))
        client_ids = [cid for _, cid in rows]
        assert len(set(client_ids)) == per_chat
        # In the order each sender sent them.
        for prefix in {cid.split("-")[0] for cid in client_ids}:
            numbers = [int(cid.split("-")[1]) for cid in client_ids if cid.startswith(prefix + "-")]
            assert numbers == list(range(PER_CLIENT))
    # Every client saw every message of its chat.
    for name, report in reports.items():
        assert report["seen"] == list(range(1, per_chat + 1)), name
        assert chat_of[name] in {c.consultation_id for c in casts}
