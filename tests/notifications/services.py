"""A local SMTP server and real Celery worker processes for the notification tests.

These run with a real Redis broker (database 6 of 127.0.0.1:6379, or
``TELECONSULT_TEST_REDIS``). In CI (``CI=true``) an unreachable Redis fails the run;
elsewhere the tests are skipped without it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.testing import free_port, in_ci
from tests.notifications.helpers import parse

REDIS_URL = os.environ.get("TELECONSULT_TEST_REDIS", "redis://127.0.0.1:6379/6")
AMQP_URL = os.environ.get("TELECONSULT_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
ROOT = Path(__file__).resolve().parents[2]


def redis_or_skip() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        if in_ci():
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable")
    return REDIS_URL


def rabbitmq_or_skip() -> str:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=3) as connection:
            # In CI the server may still be starting (.ci/run starts it detached).
            connection.ensure_connection(max_retries=10 if in_ci() else 1, interval_start=1, interval_step=1, interval_max=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect
        if in_ci():
            pytest.fail(f"RabbitMQ at {AMQP_URL} is required in CI: {error}")
        pytest.skip(f"RabbitMQ at {AMQP_URL} is not reachable")
    return AMQP_URL


def delete_amqp_queue(name: str) -> None:
    from kombu import Connection

    with Connection(AMQP_URL, connect_timeout=3) as connection:
        connection.default_channel.queue_delete(name)
        connection.default_channel.exchange_delete(name)  # Celery names it after the queue


def wait_for(predicate, timeout: float = 30, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


@dataclass
class Received:
    at: float
    recipient: str
    message: object  # email.message.EmailMessage


class RecordingHandler:
    """An aiosmtpd handler that keeps what it accepted, and can misbehave on purpose.

    ``stall``: recipients whose first transfer hangs after the data arrived, before the
    server answers; if the client vanishes meanwhile, the message is never accepted, as a
    real MTA discards a transaction that did not complete. ``lose_reply``: recipients whose
    first transfer is accepted (kept) but whose "250" never reaches the client, as when
    the connection breaks at that moment. ``refuse``: recipients mapped to the replies to
    give before accepting (``"451 ..."`` temporary, ``"550 ..."`` final).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.attempts: dict[str, list[float]] = defaultdict(list)
        self.stall: set[str] = set()
        self.stalled = threading.Event()
        self.stalled_message_id: str | None = None
        self.aborted: list[str] = []
        self.lose_reply: set[str] = set()
        self.refuse: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):
        recipient = envelope.rcpt_tos[0]
        message = parse(envelope.original_content)
        with self.lock:
            self.attempts[recipient].append(time.time())
            replies = self.refuse.get(recipient)
            if replies:
                return replies.pop(0)
            stall = recipient in self.stall
            self.stall.discard(recipient)
            lose_reply = recipient in self.lose_reply
            self.lose_reply.discard(recipient)
            if lose_reply:
                self.received.append(Received(time.time(), recipient, message))
        if lose_reply:
            self.stalled_message_id = message["Message-ID"]
            self.stalled.set()
            await asyncio.sleep(3600)  # the reply is never sent; the client gives up
        if stall:
            self.stalled_message_id = message["Message-ID"]
            self.stalled.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # the client went away: nothing was accepted
                self.aborted.append(recipient)
                raise
        with self.lock:
            self.received.append(Received(time.time(), recipient, message))
        return "250 2.0.0 OK"

    def messages(self, recipient: str | None = None) -> list:
        with self.lock:
            return [r.message for r in self.received if recipient in (None, r.recipient)]

    def count_by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for message in self.messages():
            counts[message["Message-ID"]] += 1
        return dict(counts)


class SmtpServer:
    def __init__(self, **kwargs) -> None:
        from aiosmtpd.controller import Controller

        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class Worker:
    """``teleconsult worker -B`` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 2) -> None:
        self.log_path = log_path
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "core.cli", "worker",
                "--pool", "prefork", "--concurrency", str(concurrency), "--beat",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the pool dies with it
        )
        wait_for(self._ready, 60, "the Celery worker to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("worker exited:\n" + self.log_path.read_text(errors="replace")[-4000:])
        return b" ready." in self.log_path.read_bytes()

    def kill(self) -> None:
        """SIGKILL the main process and its pool at once, as a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def children(self) -> list[int]:
        """The processes the worker started (its pool and the embedded beat)."""
        found = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def process_connected_to(self, port: int) -> int:
        """The pool process holding a TCP connection to ``port`` (the one sending)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in self.children():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) in inodes:
                        return pid
                except OSError:  # closed meanwhile
                    continue
        raise AssertionError(f"no process of the worker is connected to port {port}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, graceful: bool = True) -> None:
        """Warm shutdown (running tasks finish), or at once with ``graceful=False``."""
        if self.process.poll() is None and not graceful:
            self.kill()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def celery_settings(redis_url: str, smtp: SmtpServer, queue: str, **extra) -> dict:
    settings = {
        "TASKS_BACKEND": "celery",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": 30,
        "NOTIFICATIONS_EMAIL_TRANSPORT": "smtp",
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": smtp.port,
        "NOTIFICATIONS_SMTP_SECURITY": "none",
        # A worker starts DATA only while two timeouts of its lease are left: here 6 s.
        "NOTIFICATIONS_SMTP_TIMEOUT": 3,
        "NOTIFICATIONS_SEND_LEASE_SECONDS": 12,
        "NOTIFICATIONS_SWEEP_SECONDS": 0.5,
        "NOTIFICATIONS_RETRY_BASE_SECONDS": 1,
        "NOTIFICATIONS_CHANNELS": ["email"],
    }
    settings.update(extra)
    return settings


def worker_env(app, settings: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELECONSULT_")}
    env.update(
        {
            "TELECONSULT_ENV": "testing",
            "TELECONSULT_DATA_DIR": app.config["DATA_DIR"],
            "TELECONSULT_DATABASE_URL": app.config["DATABASE_URL"],
            "TELECONSULT_PLUGINS_ENABLED": json.dumps(["notifications"]),
            "PYTHONPATH": str(ROOT),
        }
    )
    for key, value in settings.items():
        env[f"TELECONSULT_{key}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env
