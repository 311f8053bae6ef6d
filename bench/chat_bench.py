"""Chat benchmark: ack round trip and fan-out, beside bare Socket.IO servers.

    .venv/bin/python bench/chat_bench.py [--clients 50] [--messages 40] [--database URL]

Servers, each in a process of its own, the same python-socketio clients (in two client
processes) against each:

- **chat**: this project's /chat namespace in threading mode (Werkzeug, simple-websocket),
  as ``core.serve`` runs it: every ``send`` is authorised, stored (sequence number,
  idempotency by client id), acknowledged, broadcast to the chat room and counted for the
  members' tabs outside it;
- **p-sio**: a bare python-socketio server in the same async mode and HTTP server, whose
  ``send`` broadcasts to the room and acknowledges, storing nothing (python-socketio's
  defaults: a new thread per event);
- **p-sio, own thread**: the same with ``async_handlers=False``, the way the chat runs its
  events (one after another in the connection's thread);
- **node**: a minimal Node socket.io server doing the same (bench/node_echo.js; needs
  ``npm ci`` for the socket.io devDependency; ``--skip-node`` to leave it out).

Each server is warmed up with a short closed-loop pass first. Then:

- **closed loop**: each of ``--clients`` clients (a doctor and a patient in each of
  clients/2 chats) sends ``--messages`` messages one after another, waiting for each ack;
  msgs/s is messages over the wall time of the pass;
- **open loop**: the clients send at a fixed rate, ``--load`` × the bare python-socketio
  server's closed-loop rate, each message due at its time; latency counts from when a
  message was due, so a server that falls behind shows it (no coordinated omission);
- **fan-out**: 100 clients in one room, one sender; the time until all 100 got each
  message.

The target reads: chat ≥ 0.7 × p-sio msgs/s in the closed loop, and at 0.7 × p-sio's rate
offered, the chat keeps up with p99 ≤ 50 ms. A script, not a test: figures depend on the
machine; run it on a quiet one. The servers' output goes to a file, copied to the
temporary folder when ``CHAT_BENCH_KEEP_LOG`` is set.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, log_path: str | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + (Path(log_path).read_text() if log_path else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


# --------------------------------------------------------------------------- servers


def bare_server(port: int, async_handlers: bool = True) -> None:
    """python-socketio, threading mode, served by Werkzeug like the chat."""
    import socketio
    from werkzeug.serving import run_simple

    sio = socketio.Server(async_mode="threading", async_handlers=async_handlers)

    @sio.on("join")
    def join(sid, data):
        sio.enter_room(sid, f"room:{data['chat']}")
        return {"ok": True, "messages": []}

    @sio.on("send")
    def send(sid, data):
        sio.emit("message", data, to=f"room:{data['chat']}")
        return {"ok": True, "message": data}

    from core.testing import _NoDelayRequestHandler

    run_simple("127.0.0.1", port, socketio.WSGIApp(sio), threaded=True, request_handler=_NoDelayRequestHandler)


def chat_server(port: int) -> None:
    from core.app import create_app
    from core.extensions import socketio
    from core.testing import enable_test_login

    from core.heap import settle_heap

    app = create_app(environment="testing")
    enable_test_login(app)
    from core.testing import _NoDelayRequestHandler

    settle_heap()

    # The same HTTP server as the bare one: Werkzeug, threaded, TCP_NODELAY.
    socketio(app).run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False,
                      request_handler=_NoDelayRequestHandler)


def prepare_database(data_dir: str, database: str | None, clients: int, fanout: int) -> dict:
    """Schema, reference data, the chats and the people of the benchmark."""
    os.environ["TELECONSULT_DATA_DIR"] = data_dir
    if database:
        os.environ["TELECONSULT_DATABASE_URL"] = database
    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data
    import sqlalchemy as sa

    from core import lifecycle
    from core.access import principal_for_user
    from core.models import ConsentAcceptance, ConsentVersion, PortalAccount
    from core.testing import Factory

    app = create_app(environment="testing")
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_reference_data()
        db.session.commit()
        factory = Factory(app)
        organisation = factory.organisation()
        consent = db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.version.desc()))
        people = []
        for _ in range(max(1, clients // 2) + 1):
            doctor = factory.doctor(organisation=organisation)
            patient = factory.patient(organisation=organisation)
            account = factory.commit(PortalAccount(
                identity_provider="esia", external_id=uuid.uuid4().hex, trust_level="confirmed", last_name=patient.last_name,
                first_name=patient.first_name,
            ))
            patient.portal_account_id = account.id
            factory.commit(patient)
            factory.commit(ConsentAcceptance(account_id=account.id, version_id=consent.id))  # SPEC P2
            consultation = factory.consultation(author=doctor, patient=patient)
            lifecycle.start(consultation, principal_for_user(doctor))  # as after the first message
            db.session.commit()
            people.append((consultation.id, doctor.id, account.id))
        db.session.remove()
        db.engine.dispose()
    return {"pairs": people[:-1], "fanout": people[-1]}


# --------------------------------------------------------------------------- clients


class Client:
    def __init__(self, url: str, login: tuple[str, int] | None):
        import requests
        import socketio

        self.received = 0
        self.times: dict[str, float] = {}
        self.lock = threading.Lock()
        headers = {}
        if login:
            http = requests.Session()
            http.get(f"{url}/_test/login/{login[0]}/{login[1]}", timeout=10).raise_for_status()
            headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in http.cookies),
                       "User-Agent": http.headers["User-Agent"]}
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message", self._message, namespace=self.namespace(login))
        self.namespace_name = self.namespace(login)
        self.sio.connect(url, namespaces=[self.namespace_name], headers=headers, transports=["websocket"], wait_timeout=20)
        self.on_message = None

    @staticmethod
    def namespace(login) -> str:
        return "/chat" if login else "/"

    def _message(self, data):
        with self.lock:
            self.received += 1
        if self.on_message:
            self.on_message(data)

    def call(self, event, data):
        return self.sio.call(event, data, namespace=self.namespace_name, timeout=30)

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:
            pass


def close_all(clients) -> None:
    """Disconnect at once; websocket-client may wait long for a server's close frame
    (Werkzeug ends the socket without one), so give them 5 s in all."""
    closers = [threading.Thread(target=client.close, daemon=True) for client in clients]
    for closer in closers:
        closer.start()
    deadline = time.monotonic() + 5
    for closer in closers:
        closer.join(max(0.0, deadline - time.monotonic()))


def round_trip_worker(url: str, specs: list, messages: int, start_at: float, interval: float | None) -> dict:
    """In a client process: connect, join, then send one message at a time, each after the
    ack of the one before (closed loop) or each at its due time (open loop, ``interval``
    seconds between a client's messages; a message due while the previous one waits for
    its ack goes as soon as the ack is in, and its latency counts from its due time)."""
    clients = [(Client(url, login), chat) for login, chat in specs]
    for client, chat in clients:
        assert client.call("join", {"chat": chat, "after": 0})["ok"]
    latencies: list[float] = []
    ends: list[float] = []
    lock = threading.Lock()

    def run(index, client, chat):
        own = []
        offset = (interval or 0) * index / max(1, len(specs))  # spread the clients over an interval
        for n in range(messages):
            if interval is None:
                due = time.time()
            else:
                due = start_at + offset + n * interval
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
            reply = client.call("send", {"chat": chat, "client_id": uuid.uuid4().hex, "text": f"сообщение {n}"})
            own.append(time.time() - due)
            assert reply["ok"], reply
        with lock:
            latencies.extend(own)
            ends.append(time.time())

    while time.time() < start_at:
        time.sleep(0.005)
    threads = [threading.Thread(target=run, args=(i, *pair)) for i, pair in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_all([client for client, _ in clients])
    return {"latencies": latencies, "end": max(ends)}


def round_trip(url: str, specs: list, messages: int, rate: float | None = None) -> dict:
    """Closed loop (``rate`` None) or open loop at ``rate`` messages a second in all."""
    halves = [specs[0::2], specs[1::2]]
    start_at = time.time() + 3 + len(specs) * 0.05
    # Each client's interval, when the whole crowd offers ``rate``; the two client
    # processes interleave their clients, so their offsets spread over the interval.
    interval = len(specs) / rate if rate else None
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(round_trip_worker, url, half, messages, start_at + (k * interval / len(specs) if interval else 0), interval)
                   for k, half in enumerate(halves)]
        results = [f.result() for f in futures]
    latencies = [x for r in results for x in r["latencies"]]
    return _figures(latencies, max(r["end"] for r in results) - start_at)


def _figures(latencies, elapsed) -> dict:
    ordered = sorted(latencies)
    return {
        "msgs_per_s": len(ordered) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "count": len(ordered),
    }


def fan_out(url: str, sender_login, listener_logins: list, chat: int, messages: int) -> dict:
    """One sender, 100 listeners in the room: time until the last listener has each message."""
    listeners = [Client(url, login) for login in listener_logins]
    for client in listeners:
        assert client.call("join", {"chat": chat, "after": 0})["ok"]
    sender = Client(url, sender_login)
    assert sender.call("join", {"chat": chat, "after": 0})["ok"]
    arrivals: dict[str, list[float]] = {}
    lock = threading.Lock()

    def arrived(data):
        with lock:
            arrivals.setdefault(data["text"], []).append(time.perf_counter())

    for client in listeners:
        client.on_message = arrived
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(messages):
        text = f"всем {n}"
        sent[text] = time.perf_counter()
        assert sender.call("send", {"chat": chat, "client_id": uuid.uuid4().hex, "text": text})["ok"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if all(len(arrivals.get(t, [])) >= len(listeners) for t in sent):
                break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    spans = [max(arrivals[t][: len(listeners)]) - sent[t] for t in sent if len(arrivals.get(t, [])) >= len(listeners)]
    close_all([*listeners, sender])
    figures = _figures(spans or [float("nan")], elapsed)
    figures["deliveries_per_s"] = len(spans) * len(listeners) / elapsed
    figures["complete"] = len(spans) == messages
    return figures


# --------------------------------------------------------------------------- main


def _start(command, log, env=None, cwd=None) -> tuple[subprocess.Popen, str]:
    """Start ``command(port)`` on a free port and wait until it listens."""
    port = free_port()
    process = subprocess.Popen(command(port), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    wait_port(port, process, log.name)
    return process, f"http://127.0.0.1:{port}"


def _python(call: str):
    """A Python server of this module: ``call`` with ``{port}`` in it."""
    return lambda port: [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                         f"from bench.chat_bench import *; {call.format(port=port)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=40, help="per client, round trip")
    parser.add_argument("--load", type=float, default=0.7, help="open loop: offered rate, × the bare server's closed-loop rate")
    parser.add_argument("--fanout", type=int, default=100, help="listeners in the fan-out room")
    parser.add_argument("--fanout-messages", type=int, default=20)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file)")
    parser.add_argument("--skip-node", action="store_true")
    args = parser.parse_args()

    node = shutil.which("node")
    if not args.skip_node and not (node and (ROOT / "node_modules" / "socket.io").is_dir()):
        sys.exit("the Node baseline needs node and `npm ci` (or pass --skip-node)")
    data_dir = tempfile.mkdtemp(prefix="chat-bench-")
    os.environ["TELECONSULT_ENV"] = "testing"
    os.environ.setdefault("TELECONSULT_LOG_LEVEL", "WARNING")
    people = prepare_database(data_dir, args.database, args.clients, args.fanout)
    pairs = people["pairs"]
    chat_specs = []
    for consultation_id, doctor_id, account_id in pairs:
        chat_specs += [(("staff", doctor_id), consultation_id), (("patient", account_id), consultation_id)]
    chat_specs = chat_specs[: args.clients]
    fan_chat, fan_doctor, fan_account = people["fanout"]
    fan_listeners = [("staff", fan_doctor) if i % 2 else ("patient", fan_account) for i in range(args.fanout)]

    servers = {}
    processes = []
    # The servers' output goes to a file (a pipe nobody reads would block them when full).
    server_log = open(os.path.join(data_dir, "servers.log"), "w")
    results: dict[str, dict] = {}
    try:
        env = {**os.environ, "TELECONSULT_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        for name, command in (
            ("chat", _python("chat_server({port})")),
            ("p-sio", _python("bare_server({port})")),
            ("p-sio, own thread", _python("bare_server({port}, async_handlers=False)")),
        ):
            process, servers[name] = _start(command, server_log, env=env)
            processes.append(process)
        if not args.skip_node:
            process, servers["node"] = _start(lambda port: [node, str(ROOT / "bench" / "node_echo.js"), str(port)], server_log, cwd=ROOT)
            processes.append(process)

        def specs_for(name):
            return [(login if name == "chat" else None, chat) for login, chat in chat_specs]

        for name, url in servers.items():
            round_trip(url, specs_for(name), 5)  # warm-up: connections, code paths, caches
            results[name] = {"closed": round_trip(url, specs_for(name), args.messages)}
        offered = args.load * results["p-sio"]["closed"]["msgs_per_s"]
        for name, url in servers.items():
            results[name]["open"] = round_trip(url, specs_for(name), args.messages, rate=offered)
            authed = name == "chat"
            listeners = fan_listeners if authed else [None] * args.fanout
            results[name]["fan_out"] = fan_out(url, ("staff", fan_doctor) if authed else None, listeners, fan_chat, args.fanout_messages)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        server_log.close()
        if os.environ.get("CHAT_BENCH_KEEP_LOG"):
            print("server output:", shutil.copy(server_log.name, tempfile.gettempdir()))
        shutil.rmtree(data_dir, ignore_errors=True)

    database = "PostgreSQL" if args.database and args.database.startswith("postgresql") else "SQLite"
    print(f"\nChat benchmark: {len(chat_specs)} clients × {args.messages} messages (ack round trip); open loop at "
          f"{offered:.0f} msgs/s ({args.load} × p-sio); fan-out to {args.fanout} listeners × {args.fanout_messages} "
          f"messages; threading mode; {database}\n")
    print(f"{'':<20}{'closed loop':^30}{'open loop':^30}{'fan-out to ' + str(args.fanout):^32}")
    print(f"{'server':<20}" + f"{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}" * 2 + f"{'deliv./s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in results.items():
        closed, open_, fan = result["closed"], result["open"], result["fan_out"]
        print(f"{name:<20}"
              f"{closed['msgs_per_s']:>10.0f}{closed['p50_ms']:>10.1f}{closed['p99_ms']:>10.1f}"
              f"{open_['msgs_per_s']:>10.0f}{open_['p50_ms']:>10.1f}{open_['p99_ms']:>10.1f}"
              f"{fan['deliveries_per_s']:>12.0f}{fan['p50_ms']:>10.1f}{fan['p99_ms']:>10.1f}")
    chat = results["chat"]
    print()
    for name in [n for n in results if n != "chat"]:
        other = results[name]
        print(f"chat / {name}: closed-loop msgs/s {chat['closed']['msgs_per_s'] / other['closed']['msgs_per_s']:.2f}, "
              f"fan-out {chat['fan_out']['deliveries_per_s'] / other['fan_out']['deliveries_per_s']:.2f}")
    ratio = chat["closed"]["msgs_per_s"] / results["p-sio"]["closed"]["msgs_per_s"]
    kept_up = chat["open"]["msgs_per_s"] >= 0.95 * offered
    met = ratio >= 0.7 and kept_up and chat["open"]["p99_ms"] <= 50
    print(f"target (closed loop ≥ 0.7 × p-sio; at {args.load} × p-sio offered, kept up with p99 ≤ 50 ms): "
          f"{'met' if met else 'NOT met'} (ratio {ratio:.2f}, open-loop p99 {chat['open']['p99_ms']:.0f} ms"
          f"{'' if kept_up else ', fell behind'})")


if __name__ == "__main__":
    main()
