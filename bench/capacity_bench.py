"""How many live chat sockets one web process holds, in each async mode (docs/deployment.md, sizing).

    .venv/bin/python bench/capacity_bench.py                                  # 100 → 2,000
    .venv/bin/python bench/capacity_bench.py --steps 100,1000,2000,5000 --modes gevent
    .venv/bin/python bench/capacity_bench.py --modes threading,gevent,eventlet --no-bare

One web process per mode, as deployed: ``threading`` is gunicorn's ``gthread`` worker with
config/gunicorn.py as shipped (GUNICORN_THREADS, 50), ``gevent`` gunicorn's gevent worker
with the same file (GUNICORN_CONNECTIONS, 10,000), ``eventlet`` ``python -m core.serve
--async-mode eventlet``; on PostgreSQL (``TELECONSULT_BENCH_POSTGRES``, default the local
server), in the testing environment (plain HTTP on loopback). Beside each, a bare
python-socketio server in the same mode and server (bench/capacity_bare.py: join a room,
broadcast, acknowledge; no login, no database), and once a Node socket.io server with the
same protocol (bench/node_echo.js on /chat with --others, socket.io from node_modules).

The sockets come from ``--clients`` Node processes (bench/capacity_clients.js,
socket.io-client), opened at ``--rate`` sockets a second in all:
each is a logged-in tab (the sessions of ``--chats`` chats, a doctor and a patient each,
shared round robin), connects over websocket, joins its chat and sends a message every
``--interval`` seconds with an acknowledgement. The count ramps through ``--steps``; at
each step, after the sockets are opened and one interval has passed: sockets accepted
(connected and joined), refused, dropped, failed events; the round trip (send → ack)
p50/p99 over the step; the server's RSS (its process group) and the RSS per 1,000
sockets above the idle process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POSTGRES_ADMIN = os.environ.get("TELECONSULT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = uuid.uuid4().hex + uuid.uuid4().hex
USER_AGENT = "capacity-bench"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database: str, data_dir: str, chats: int) -> list[dict]:
    """Schema, reference data, ``chats`` consultations and a login session for each side."""
    os.environ.update(TELECONSULT_DATA_DIR=data_dir, TELECONSULT_DATABASE_URL=database)
    import sqlalchemy as sa
    from flask import session
    from flask_login import login_user

    from core import sessions as login_sessions
    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data
    from core.models import ConsentAcceptance, ConsentVersion, PortalAccount
    from core.testing import Factory
    from plugins.chat import sessions as chat_sessions

    # No registration e-mails for the benchmark's consultations (they are not its subject).
    app = create_app({"SECRET_KEY": SECRET, "NOTIFICATIONS_CHANNELS": []}, environment="testing")
    result = []
    with app.app_context():
        db.create_all()
        sync_reference_data()
        db.session.commit()
        factory = Factory(app)
        organisation = factory.organisation()
        consent = db.session.scalar(sa.select(ConsentVersion).order_by(ConsentVersion.version.desc()))
        doctors = [factory.doctor(organisation=organisation) for _ in range(max(1, chats // 10))]
        for n in range(chats):
            doctor = doctors[n % len(doctors)]
            patient = factory.patient(organisation=organisation)
            account = factory.commit(PortalAccount(
                identity_provider="esia", external_id=uuid.uuid4().hex, trust_level="confirmed",
                last_name=patient.last_name, first_name=patient.first_name,
            ))
            patient.portal_account_id = account.id
            factory.commit(patient)
            factory.commit(ConsentAcceptance(account_id=account.id, version_id=consent.id))
            consultation = factory.consultation(author=doctor, patient=patient)
            for person in (doctor, account):
                environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
                with app.test_request_context(environ_base=environ):
                    login_user(person)
                    login_sessions.start(person)
                    # what the first page of a tab adds (plugins.chat.sessions.ensure_token)
                    session[chat_sessions.TOKEN_KEY] = uuid.uuid4().hex
                    session[chat_sessions.ISSUED_KEY] = int(time.time())
                    db.session.commit()
                    value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
                result.append({"cookie": f"{app.config['SESSION_COOKIE_NAME']}={value}", "ua": USER_AGENT,
                               "chat": consultation.id})
        db.session.remove()
        db.engine.dispose()
    return result


def group_rss_kib(pid: int) -> int:
    """RSS of a process and its descendants (gunicorn's master and its worker)."""
    total, queue = 0, [pid]
    while queue:
        current = queue.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def start_server(kind: str, mode: str, port: int, env: dict, log_path: Path) -> subprocess.Popen:
    venv = Path(sys.executable).parent
    if kind == "node":
        argv = ["node", str(ROOT / "bench" / "node_echo.js"), str(port), "/chat", "--others"]
    elif kind == "chat":
        if mode == "eventlet":
            argv = [sys.executable, "-m", "core.serve", "--async-mode", "eventlet", "--port", str(port)]
        else:
            argv = [str(venv / "gunicorn"), "-c", "python:config.gunicorn", "--bind", f"127.0.0.1:{port}"]
        env = {**env, "TELECONSULT_SOCKETIO_ASYNC_MODE": mode}
    elif mode == "eventlet":
        argv = [sys.executable, str(ROOT / "bench" / "capacity_bare.py"), "eventlet", str(port)]
    else:
        worker = ["-k", "gthread", "--threads", "50"] if mode == "threading" else ["-k", "gevent",
                                                                                  "--worker-connections", "10000"]
        argv = [str(venv / "gunicorn"), *worker, "-w", "1", "--no-control-socket", "--chdir", str(ROOT / "bench"),
                "--bind", f"127.0.0.1:{port}", "capacity_bare:app"]
        env = {**env, "BARE_MODE": mode}
    handle = log_path.open("ab")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    handle.close()
    deadline = time.monotonic() + 300
    import urllib.request

    path = "/healthz" if kind == "chat" else "/socket.io/?EIO=4&transport=polling"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} {mode} exited:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{kind} {mode} did not answer")
        time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Clients:
    """``count`` Node client processes sharing the sessions round robin; ``open N`` opens
    N sockets in all, ``stats`` adds up their counters."""

    def __init__(self, url: str, sessions_file: Path, interval: float, count: int, rate: float) -> None:
        self.processes = [
            subprocess.Popen(
                ["node", str(ROOT / "bench" / "capacity_clients.js"), url, str(sessions_file),
                 str(int(interval * 1000)), str(rate / count), str(n), str(count)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
            )
            for n in range(count)
        ]

    def ask(self, command: str, total: int | None = None) -> dict:
        count = len(self.processes)
        for n, process in enumerate(self.processes):
            share = "" if total is None else f" {total // count + (1 if n < total % count else 0)}"
            process.stdin.write(command + share + "\n")
            process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for process in self.processes]
        merged = {"rtts": []}
        for answer in answers:
            for key, value in answer.items():
                merged[key] = merged.get(key, 0) + value if key != "rtts" else merged["rtts"] + value
        return merged

    def close(self) -> None:
        for process in self.processes:
            try:
                process.stdin.write("quit\n")
                process.stdin.flush()
                process.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(kind: str, mode: str, steps: list[int], interval: float, env: dict, sessions_file: Path,
        workdir: Path, clients_count: int, rate: float) -> list[dict]:
    port = free_port()
    server = start_server(kind, mode, port, env, workdir / f"{kind}-{mode}.log")
    rows = []
    try:
        time.sleep(2)
        idle = group_rss_kib(server.pid)
        clients = Clients(f"http://127.0.0.1:{port}", sessions_file, interval, clients_count, rate)
        try:
            clients.ask("stats")
            for step in steps:
                clients.ask("open", step)
                deadline = time.monotonic() + 120 + step / rate
                while True:  # every socket of the step answered (joined, refused or failed)
                    state = clients.ask("stats")
                    if state["connected"] + state["refused"] + state["errors"] + state["dropped"] >= step:
                        break
                    if time.monotonic() > deadline:
                        break
                    time.sleep(1)
                time.sleep(interval + 2)  # every socket sends at least once
                state = clients.ask("stats")
                rss = group_rss_kib(server.pid)
                connected = state["connected"]
                row = {
                    "server": kind, "mode": mode, "sockets": step, "accepted": connected,
                    "refused": state["refused"], "dropped": state["dropped"], "errors": state["errors"],
                    "p50_ms": percentile(state["rtts"], 0.5), "p99_ms": percentile(state["rtts"], 0.99),
                    "messages": len(state["rtts"]), "rss_mib": round(rss / 1024, 1),
                    "rss_per_1000_mib": round((rss - idle) / 1024 / connected * 1000, 1) if connected else None,
                    "server_alive": server.poll() is None, "load": round(os.getloadavg()[0], 1),
                }
                rows.append(row)
                log(json.dumps(row))
                if connected < step * 0.5 and step != steps[-1]:
                    log(f"{kind} {mode}: fewer than half the sockets accepted; the next steps are skipped")
                    break
        finally:
            clients.close()
    finally:
        stop(server)
    return rows


def fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="threading,gevent,eventlet")
    parser.add_argument("--steps", default="100,500,1000,2000", help="socket counts, up to 5000")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between two messages of a socket")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--clients", type=int, default=2, help="Node client processes")
    parser.add_argument("--rate", type=float, default=100.0, help="sockets opened per second, in all")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if max(steps) > 5000:
        parser.error("at most 5,000 sockets (the Node client's file descriptors, the machine's)")

    import sqlalchemy as sa

    name = f"teleconsult_capacity_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database = sa.engine.make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="teleconsult-capacity-"))
    rows = []
    try:
        started = time.monotonic()
        sessions = prepare(database, str(workdir / "data"), args.chats)
        sessions_file = workdir / "sessions.json"
        sessions_file.write_text(json.dumps(sessions))
        log(f"{args.chats} chats, {len(sessions)} sessions in {time.monotonic() - started:.0f} s")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELECONSULT_")}
        env.update(TELECONSULT_ENV="testing", TELECONSULT_DATABASE_URL=database, TELECONSULT_SECRET_KEY=SECRET,
                   TELECONSULT_DATA_DIR=str(workdir / "data"), TELECONSULT_LOG_LEVEL="WARNING",
                   PYTHONPATH=str(ROOT))
        servers = [(kind, mode) for mode in args.modes.split(",")
                   for kind in ("chat",) + (() if args.no_bare else ("bare",))]
        servers += [] if args.no_node else [("node", "node")]
        for kind, mode in servers:
            try:
                rows += run(kind, mode, steps, args.interval, env, sessions_file, workdir, args.clients, args.rate)
            except RuntimeError as error:
                log(f"{kind} {mode}: {error}")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    print("| server | mode | sockets | accepted | refused | dropped | errors | p50 ms | p99 ms | RSS MiB | RSS / 1,000 sockets MiB | load |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['server']} | {r['mode']} | {r['sockets']} | {r['accepted']} | {r['refused']} | {r['dropped']} | "
              f"{r['errors']} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['rss_mib'])} | "
              f"{fmt(r['rss_per_1000_mib'])} | {r['load']} |")


if __name__ == "__main__":
    main()
