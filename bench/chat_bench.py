"""Chat benchmark: ack round trip and fan-out, beside bare Socket.IO servers.

    .venv/bin/python bench/chat_bench.py [--clients 50] [--messages 20] [--database URL]

Three servers, each in a process of its own, the same python-socketio clients (in two
client processes) against each:

- **chat**: this project's /chat namespace in threading mode (Werkzeug, simple-websocket):
  every ``send`` is authorised, stored (sequence number, idempotency check), broadcast to
  the chat room and to the members' unread counters, then acknowledged;
- **python-socketio**: a bare python-socketio server in the same async mode and HTTP
  server, whose ``send`` broadcasts to the room and acknowledges, storing nothing;
- **node**: a minimal Node socket.io server doing the same (bench/node_echo.js; needs
  ``npm ci`` for the socket.io devDependency).

Round trip: each of ``--clients`` clients (a doctor and a patient in each of clients/2
chats) sends ``--messages`` messages one after another, waiting for each ack. Fan-out: 100
clients in one room, one sender; the time until all 100 got each message. Prints msgs/s,
p50 and p99 and the ratios; the target is chat ≥ 0.7 × python-socketio msgs/s with
p99 ≤ 50 ms. A script, not a test: figures depend on the machine. The servers' output
goes to a file, copied to the temporary folder when ``CHAT_BENCH_KEEP_LOG`` is set.
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


def bare_server(port: int) -> None:
    """python-socketio, threading mode, served by Werkzeug like the chat."""
    import socketio
    from werkzeug.serving import run_simple

    sio = socketio.Server(async_mode="threading")

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

    app = create_app(environment="testing")
    enable_test_login(app)
    from core.testing import _NoDelayRequestHandler

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
    from core.models import PortalAccount
    from core.testing import Factory

    app = create_app(environment="testing")
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_reference_data()
        db.session.commit()
        factory = Factory(app)
        organisation = factory.organisation()
        people = []
        for _ in range(max(1, clients // 2) + 1):
            doctor = factory.doctor(organisation=organisation)
            patient = factory.patient(organisation=organisation)
            account = factory.commit(PortalAccount(
                esia_oid=uuid.uuid4().hex, trust_level="confirmed", last_name=patient.last_name,
                first_name=patient.first_name,
            ))
            patient.portal_account_id = account.id
            factory.commit(patient)
            consultation = factory.consultation(author=doctor, patient=patient)
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


def round_trip_worker(url: str, specs: list, messages: int, start_at: float) -> list[float]:
    """In a client process: connect, join, then send one message at a time."""
    clients = [(Client(url, login), chat) for login, chat in specs]
    for client, chat in clients:
        assert client.call("join", {"chat": chat, "after": 0})["ok"]
    latencies: list[float] = []
    lock = threading.Lock()

    def run(client, chat):
        own = []
        for n in range(messages):
            started = time.perf_counter()
            reply = client.call("send", {"chat": chat, "client_id": uuid.uuid4().hex, "text": f"сообщение {n}"})
            own.append(time.perf_counter() - started)
            assert reply["ok"], reply
        with lock:
            latencies.extend(own)

    while time.time() < start_at:
        time.sleep(0.01)
    threads = [threading.Thread(target=run, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_all([client for client, _ in clients])
    return latencies


def round_trip(url: str, specs: list, messages: int) -> dict:
    halves = [specs[0::2], specs[1::2]]
    start_at = time.time() + 3 + len(specs) * 0.05
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(round_trip_worker, url, half, messages, start_at) for half in halves]
        results = [f.result() for f in futures]
    latencies = [x for r in results for x in r]
    # Every client sends back to back, all at once: throughput is clients / mean latency.
    return _figures(latencies, sum(latencies) / len(specs))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per client, round trip")
    parser.add_argument("--fanout", type=int, default=100, help="listeners in the fan-out room")
    parser.add_argument("--fanout-messages", type=int, default=20)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file)")
    parser.add_argument("--skip-node", action="store_true")
    args = parser.parse_args()

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
    try:
        port = free_port()
        env = {**os.environ, "TELECONSULT_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
        processes.append(subprocess.Popen(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
             f"from bench.chat_bench import chat_server; chat_server({port})"],
            env=env, stdout=server_log, stderr=subprocess.STDOUT, text=True,
        ))
        wait_port(port, processes[-1], server_log.name)
        servers["chat"] = f"http://127.0.0.1:{port}"

        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
             f"from bench.chat_bench import bare_server; bare_server({port})"],
            env=env, stdout=server_log, stderr=subprocess.STDOUT, text=True,
        ))
        wait_port(port, processes[-1], server_log.name)
        servers["python-socketio"] = f"http://127.0.0.1:{port}"

        node = shutil.which("node")
        if node and not args.skip_node and (ROOT / "node_modules" / "socket.io").is_dir():
            port = free_port()
            processes.append(subprocess.Popen(
                [node, str(ROOT / "bench" / "node_echo.js"), str(port)], cwd=ROOT,
                stdout=server_log, stderr=subprocess.STDOUT, text=True,
            ))
            wait_port(port, processes[-1], server_log.name)
            servers["node"] = f"http://127.0.0.1:{port}"
        else:
            print("node socket.io baseline skipped (node or `npm ci` missing)")

        results = {}
        for name, url in servers.items():
            authed = name == "chat"
            specs = [(login if authed else None, chat) for login, chat in chat_specs]
            results[name] = {"round_trip": round_trip(url, specs, args.messages)}
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
    print(f"\nChat benchmark: {len(chat_specs)} clients × {args.messages} messages (ack round trip), "
          f"fan-out to {args.fanout} listeners × {args.fanout_messages} messages; threading mode; {database}\n")
    print(f"{'server':<18}{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}   {'fan-out deliveries/s':>22}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in results.items():
        rt, fo = result["round_trip"], result["fan_out"]
        print(f"{name:<18}{rt['msgs_per_s']:>10.0f}{rt['p50_ms']:>10.1f}{rt['p99_ms']:>10.1f}   "
              f"{fo['deliveries_per_s']:>22.0f}{fo['p50_ms']:>10.1f}{fo['p99_ms']:>10.1f}")
    bare = results["python-socketio"]["round_trip"]
    chat = results["chat"]["round_trip"]
    ratio = chat["msgs_per_s"] / bare["msgs_per_s"]
    print(f"\nchat / python-socketio msgs/s: {ratio:.2f}")
    print(f"chat / python-socketio fan-out: {results['chat']['fan_out']['deliveries_per_s'] / results['python-socketio']['fan_out']['deliveries_per_s']:.2f}")
    if "node" in results:
        print(f"chat / node msgs/s: {chat['msgs_per_s'] / results['node']['round_trip']['msgs_per_s']:.2f}")
        print(f"python-socketio / node msgs/s: {bare['msgs_per_s'] / results['node']['round_trip']['msgs_per_s']:.2f}")
    met = ratio >= 0.7 and chat["p99_ms"] <= 50
    print(f"target (≥ 0.7 of python-socketio msgs/s, p99 ≤ 50 ms): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
