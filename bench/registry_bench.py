"""Registry and worklist benchmark on SQLite and PostgreSQL, through real requests
(SPEC D3, D4; issue acceptance).

Loads ``--patients`` registry patients (``core.demo_data.generate_people``; 1,000,000 by
default) and ``--consultations`` consultations (100,000) with their chats into a temporary
SQLite file and a temporary PostgreSQL database (created and dropped here), builds the app
with every installed plugin, and sends it real requests through the WSGI stack (Flask's
test client). The server time of a request is taken around the WSGI call: routing, the
token or session, the plugin switches, the access policy, the view, templates, plugin
hooks, the audit event and the commit. Beside each, raw SQL for the same reads on a bare
DBAPI connection:

* snils, policy        ``POST /api/v1/registry/search`` ``{"identifier", "kind"}``
* snils (wizard)       ``POST /workplace/new/patient``: «Поиск пациента» in «Подать заявку»
* surname              ``POST /api/v1/registry/search`` ``{"surname"}``: count + first 50
* inbox                ``GET /workplace/inbox`` of a busy consultant: the rendered page of
                       20 rows with the chat plugin's unread badges
* booking              ``POST /api/v1/consultations`` with a free slot: validation,
                       participants, the chat, audit events, hooks, commit. The e-mail to the
                       patient is handed to the task backend, as to Celery in production,
                       and not sent inside the request.

Targets on PostgreSQL: lookups p95 ≤ 5 ms, «Входящие» p95 ≤ 100 ms, surname p95 ≤ 50 ms.

    .venv/bin/python bench/registry_bench.py                      # both databases, full size
    .venv/bin/python bench/registry_bench.py --patients 50000 --consultations 5000
    .venv/bin/python bench/registry_bench.py --backends postgresql --only snils --repeat 5000
    TELECONSULT_BENCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (default)

``--only`` keeps the timing to some operations (e.g. to profile one with
``py-spy record -o profile.svg -- .venv/bin/python bench/registry_bench.py ...``).
Not a test: it prints figures; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POSTGRES_ADMIN = os.environ.get(
    "TELECONSULT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGETS_MS = {"snils": 5, "policy": 5, "surname": 50, "inbox": 100}
ORGANISATIONS = 20
DOCTORS_PER_ORGANISATION = 10
BUSY_SHARE = 0.04  # the busy doctor is the consultant of 4 % of all consultations
# «Входящие» shows 20 a page: the busy doctor has at least three pages open at any size.
MIN_BUSY_OPEN = 60
INBOX_ROWS = 20
OPERATIONS = ("snils", "policy", "snils (wizard)", "surname", "inbox", "booking")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return p50 * 1000, p95 * 1000


def timed(run: Callable[[], object], repeat: int, warmup: int = 5) -> tuple[float, float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


# --------------------------------------------------------------------------- databases


class Database:
    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            self.admin = None
        else:
            self.name = f"teleconsult_bench_{uuid.uuid4().hex[:8]}"
            self.admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
            self.url = sa.engine.make_url(POSTGRES_ADMIN).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


# --------------------------------------------------------------------------- loading

CHAT_TABLES = ("chat_chats", "chat_members", "chat_messages")


def _chunks(rows: list, size: int = 20000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _load_chats(connection, consult_rows: list[dict], now: datetime) -> None:
    """The chat plugin's rows as the app would have made them: a chat per consultation, its
    members, and three messages (patient, consultant, patient). The consultant has read an
    open consultation's chat only up to the first one, so «Входящие» shows unread badges."""
    from core.db import db

    tables = db.metadata.tables
    chats, members, messages = [], [], []
    member_id = message_id = 0
    for row in consult_rows:
        chat_id = row["id"]
        closed = row["status"] == "closed"
        chats.append({"id": chat_id, "consultation_id": chat_id, "last_seq": 3, "created_at": now,
                      "closed_at": row["closed_at"]})
        ids = {}
        for role, user_id, patient_id in (
            ("author", row["author_id"], None),
            ("consultant", row["consultant_id"], None),
            ("patient", None, row["patient_id"]),
        ):
            if (user_id, patient_id) in ids:
                continue  # the author consults the patient himself: one member
            member_id += 1
            ids[(user_id, patient_id)] = member_id
            read = 3 if closed or role == "author" else (1 if role == "consultant" else 2)
            members.append({"id": member_id, "chat_id": chat_id, "user_id": user_id, "patient_id": patient_id,
                            "role": role, "last_read_seq": read})
        patient = ids[(None, row["patient_id"])]
        consultant = ids[(row["consultant_id"], None)]
        for seq, sender, side in ((1, patient, "patient"), (2, consultant, "staff"), (3, patient, "patient")):
            message_id += 1
            messages.append({"id": message_id, "chat_id": chat_id, "seq": seq, "kind": "text",
                             "sender_member_id": sender, "sender_side": side, "sender_name": "",
                             "text": "Добрый день", "data": {}, "created_at": now})
    for name, rows in zip(CHAT_TABLES, (chats, members, messages), strict=True):
        for chunk in _chunks(rows):
            connection.execute(sa.insert(tables[name]), chunk)


def load(people: list[dict], consultations: int, seed: int) -> dict:
    """Fill the database through SQL Core executemany; returns what the timings need."""
    from core.db import db, utcnow
    from core.models import ConsultationType, Organisation, Role, User
    from core.models.registry import normalize_name

    rng = random.Random(seed)
    now = utcnow()
    engine = db.engine
    tables = db.metadata.tables

    with engine.begin() as connection:
        organisation_ids = connection.execute(
            sa.insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
            [{"name": f"Поликлиника № {i}", "short_name": f"П-{i}", "created_at": now} for i in range(1, ORGANISATIONS + 1)],
        ).scalars().all()
        doctor_role = connection.execute(sa.select(Role.id).where(Role.code == Role.DOCTOR)).scalar_one()
        password_hash = "scrypt:bench"  # nobody logs in here
        doctor_rows = []
        for organisation_id in organisation_ids:
            for j in range(DOCTORS_PER_ORGANISATION):
                doctor_rows.append(
                    {
                        "login": f"doctor{organisation_id}_{j}",
                        "password_hash": password_hash,
                        "last_name": f"Врачев{organisation_id}_{j}",
                        "first_name": "Иван",
                        "organisation_id": organisation_id,
                        "specialty": "терапевт",
                        "is_active": True,
                        "failed_logins": 0,
                        "created_at": now,
                    }
                )
        doctor_ids = connection.execute(
            sa.insert(User).returning(User.id, sort_by_parameter_order=True), doctor_rows
        ).scalars().all()
        connection.execute(
            sa.insert(tables["user_roles"]), [{"user_id": i, "role_id": doctor_role} for i in doctor_ids]
        )
        ctype = connection.execute(
            sa.select(ConsultationType.id).where(ConsultationType.code == "remote_patient")
        ).scalar_one()
        profile = connection.execute(
            sa.select(tables["consultation_type_profiles"].c.profile_id).where(
                tables["consultation_type_profiles"].c.type_id == ctype
            )
        ).scalars().first()

    log(f"loading {len(people):,} patients")
    started = time.monotonic()
    patients = tables["patients"]
    for chunk in _chunks(people):
        rows = [
            {
                **person,
                "last_name_norm": normalize_name(person["last_name"]),
                "organisation_id": organisation_ids[int(rng.random() * ORGANISATIONS)],
                "source": "bench",
                "created_at": now,
                "updated_at": now,
            }
            for person in chunk
        ]
        with engine.begin() as connection:
            connection.execute(sa.insert(patients), rows)
    log(f"patients loaded in {time.monotonic() - started:.0f} s")

    per_org = {
        organisation_id: doctor_ids[i * DOCTORS_PER_ORGANISATION : (i + 1) * DOCTORS_PER_ORGANISATION]
        for i, organisation_id in enumerate(organisation_ids)
    }
    busy = doctor_ids[0]
    busy_org = organisation_ids[0]
    slot_clock = {d: 0 for d in doctor_ids}
    origin = (now - timedelta(days=400)).replace(second=0, microsecond=0)
    slots, consult_rows, participants = [], [], []
    started = time.monotonic()
    for n in range(1, consultations + 1):
        if rng.random() < BUSY_SHARE:
            organisation_id, consultant = busy_org, busy
        else:
            organisation_id = organisation_ids[int(rng.random() * ORGANISATIONS)]
            consultant = rng.choice(per_org[organisation_id])
        author = rng.choice(per_org[organisation_id])
        patient_id = 1 + int(rng.random() * len(people))
        slot_clock[consultant] += 1
        starts = origin + timedelta(minutes=20 * slot_clock[consultant])
        closed = starts < now - timedelta(days=2) and rng.random() < 0.92
        slots.append({"id": n, "doctor_id": consultant, "starts_at": starts, "ends_at": starts + timedelta(minutes=20), "blocked": False})
        consult_rows.append(
            {
                "id": n,
                "type_id": ctype,
                "profile_id": profile,
                "organisation_id": organisation_id,
                "patient_id": patient_id,
                "author_id": author,
                "consultant_id": consultant,
                "slot_id": n,
                "scheduled_at": starts,
                "email": "bench@example.ru",
                "route_data": {},
                "status": "closed" if closed else "scheduled",
                "outcome": "no_conclusion" if closed else None,
                "created_at": starts - timedelta(days=1),
                "closed_at": starts + timedelta(minutes=20) if closed else None,
                "updated_at": now,
                "version": 1,
            }
        )
        for role, user_id, person_id in (("author", author, None), ("consultant", consultant, None), ("patient", None, patient_id)):
            participants.append(
                {"consultation_id": n, "user_id": user_id, "patient_id": person_id, "role": role, "added_at": now}
            )
    busy_rows = [c for c in consult_rows if c["consultant_id"] == busy]
    for row in sorted(busy_rows, key=lambda c: c["scheduled_at"], reverse=True)[:MIN_BUSY_OPEN]:
        row.update(status="scheduled", outcome=None, closed_at=None)
    # Free future slots of the busy doctor, for the booking timings.
    future = max(origin + timedelta(minutes=20 * slot_clock[busy]), now) + timedelta(days=1)
    free_slot_ids = []
    for k in range(4000):
        free_slot_ids.append(consultations + 1 + k)
        starts = future + timedelta(minutes=20 * k)
        slots.append({"id": consultations + 1 + k, "doctor_id": busy, "starts_at": starts, "ends_at": starts + timedelta(minutes=20), "blocked": False})
    with engine.begin() as connection:
        for chunk in _chunks(slots):
            connection.execute(sa.insert(tables["slots"]), chunk)
        for chunk in _chunks(consult_rows):
            connection.execute(sa.insert(tables["consultations"]), chunk)
        for chunk in _chunks(participants):
            connection.execute(sa.insert(tables["consultation_participants"]), chunk)
        _load_chats(connection, consult_rows, now)
        if engine.dialect.name == "postgresql":
            for table in ("slots", "consultations", "consultation_participants", *CHAT_TABLES):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    log(f"{consultations:,} consultations loaded in {time.monotonic() - started:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # The steady state autovacuum keeps a live database in: statistics and visibility map.
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    busy_open = sum(1 for c in consult_rows if c["consultant_id"] == busy and c["status"] != "closed")
    return {
        "busy": busy,
        "busy_org": busy_org,
        "busy_total": sum(1 for c in consult_rows if c["consultant_id"] == busy),
        "busy_open": busy_open,
        "busy_org_doctors": per_org[busy_org],
        "type_id": ctype,
        "profile_id": profile,
        "free_slots": free_slot_ids,
    }


# --------------------------------------------------------------------------- timings


class ServerTime:
    """WSGI middleware: how long the app itself took for the last request (the test
    client's own work of building the request and reading the answer is left out)."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last = self.last_cpu = 0.0
        self.statements = self.last_statements = 0

    def count_statement(self, *_args) -> None:
        self.statements += 1

    def __call__(self, environ, start_response):
        self.statements = 0
        started, started_cpu = time.perf_counter(), time.thread_time()
        iterable = self.wsgi_app(environ, start_response)
        try:
            body = [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        self.last = time.perf_counter() - started
        self.last_cpu = time.thread_time() - started_cpu
        self.last_statements = self.statements
        return body


def timed_request(timer: ServerTime, send: Callable[[], object], repeat: int, warmup: int = 5) -> tuple[float, ...]:
    """p50 and p95 of the server's wall time, the p50 of its CPU time (on a shared machine
    the wall time also holds waits for a CPU, the CPU time does not) and the SQL statements
    a request sends, on average."""
    for _ in range(warmup):
        send()
    samples, cpu, statements = [], [], 0
    for _ in range(repeat):
        send()
        samples.append(timer.last)
        cpu.append(timer.last_cpu)
        statements += timer.last_statements
    return (*percentiles(samples), percentiles(cpu)[0], statements / repeat)


def expect(response, status: int, what: str):
    if response.status_code != status:
        raise RuntimeError(f"{what}: HTTP {response.status_code}, expected {status}: {response.get_data(as_text=True)[:500]}")
    return response


def measure(app, people: list[dict], context: dict, repeat: int, seed: int, only: set[str]) -> dict[str, dict]:
    from core.api.auth import create_token
    from core.db import db
    from core.models import ConsultationType, User
    from core.testing import TeleconsultClient, login_session

    timer = ServerTime(app.wsgi_app)
    app.wsgi_app = timer
    app.test_client_class = TeleconsultClient
    # The patient's e-mail goes to the task backend (Celery in production), not out
    # from inside the request.
    app.extensions["teleconsult.task_backend"] = lambda name, kwargs, organisation_id=None: None
    rng = random.Random(seed + 1)
    busy = context["busy"]
    with app.app_context():
        _token, value = create_token("МИС бенчмарка", context["busy_org"], ["registry:read", "consultations:write"])
        db.session.commit()
        doctor = db.session.get(User, busy)
        api = app.test_client()
        web = app.test_client()
        login_session(web, doctor)
        ctype = db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))
        type_id, profile_id = ctype.id, ctype.profiles[0].id
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", timer.count_statement)
    headers = {"Authorization": f"Bearer {value}"}
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    sample = [people[int(rng.random() * len(people))] for _ in range(repeat * 2)]
    prefixes = [p["last_name"].lower().replace("ё", "е")[: rng.choice((3, 4, 5, 20))] for p in sample]
    snils = iter([p["snils"] for p in sample] * 3)
    policies = iter([p["oms_policy"] for p in sample] * 2)
    surnames = iter(prefixes * 2)
    results: dict[str, dict] = {}

    raw = engine.raw_connection()
    cursor = raw.cursor()

    def sql(statement: str, *params):
        cursor.execute(statement.replace("?", mark), params)
        return cursor.fetchall()

    def search(body: dict):
        response = api.post("/api/v1/registry/search", json=body, headers=headers)
        return expect(response, 200, "registry search")

    if "snils" in only:
        results["snils"] = {
            "app": timed_request(timer, lambda: search({"identifier": next(snils), "kind": "snils"}), repeat),
            "raw": timed(lambda: sql("SELECT * FROM patients WHERE snils = ?", next(snils)), repeat),
        }
    if "policy" in only:
        results["policy"] = {
            "app": timed_request(timer, lambda: search({"identifier": next(policies), "kind": "oms"}), repeat),
            "raw": timed(lambda: sql("SELECT * FROM patients WHERE oms_policy = ?", next(policies)), repeat),
        }
    if "snils (wizard)" in only:
        expect(web.post_form("/workplace/new/type", {"type_id": type_id}), 302, "wizard type")
        expect(web.post_form("/workplace/new/profile", {"profile_id": profile_id}), 302, "wizard profile")
        wizard_snils = iter([p["snils"] for p in sample] * 2)

        def wizard_lookup():
            response = web.post_form("/workplace/new/patient", {"kind": "snils", "identifier": next(wizard_snils)})
            return expect(response, 302, "wizard patient search")

        results["snils (wizard)"] = {
            "app": timed_request(timer, wizard_lookup, repeat),
            "raw": results.get("snils", {}).get("raw") or timed(
                lambda: sql("SELECT * FROM patients WHERE snils = ?", next(snils)), repeat
            ),
        }

    def raw_surname():
        prefix = next(surnames)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # a range of the byte-ordered index
        where, params = "last_name_norm >= ? AND last_name_norm < ?", (prefix, upper)
        sql(f"SELECT count(*) FROM patients WHERE {where}", *params)
        sql(f"SELECT * FROM patients WHERE {where} ORDER BY last_name_norm, first_name, id LIMIT 50", *params)

    if "surname" in only:
        results["surname"] = {
            "app": timed_request(timer, lambda: search({"surname": next(surnames)}), repeat),
            "raw": timed(raw_surname, repeat),
        }

    def inbox_page():
        response = expect(web.get("/workplace/inbox"), 200, "«Входящие»")
        return response

    if "inbox" in only:
        page = inbox_page().get_data(as_text=True)
        rows = page.count('<tr class="')
        badges = page.count('class="badge')
        if rows != INBOX_ROWS:
            raise RuntimeError(f"«Входящие» shows {rows} rows, expected {INBOX_ROWS}")
        log(f"«Входящие»: {rows} rows, {badges} unread badges")

        def raw_inbox():
            where = "c.consultant_id = ? AND c.status != 'closed'"
            sql(f"SELECT count(*) FROM consultations c JOIN patients p ON p.id = c.patient_id WHERE {where}", busy)
            ids = [row[0] for row in sql(
                "SELECT c.id, c.*, p.last_name, p.first_name, p.middle_name FROM consultations c "
                f"JOIN patients p ON p.id = c.patient_id WHERE {where} "
                f"ORDER BY c.scheduled_at DESC, c.id DESC LIMIT {INBOX_ROWS}", busy)]
            marks = ", ".join([mark] * len(ids))
            cursor.execute(
                "SELECT ch.consultation_id, count(m.id) FROM chat_chats ch "
                "JOIN chat_members cm ON cm.chat_id = ch.id "
                "JOIN chat_messages m ON m.chat_id = ch.id AND m.seq > cm.last_read_seq AND m.sender_member_id != cm.id "
                f"WHERE ch.consultation_id IN ({marks}) AND cm.user_id = {mark} GROUP BY ch.consultation_id",
                (*ids, busy),
            )
            cursor.fetchall()

        results["inbox"] = {"app": timed_request(timer, inbox_page, repeat), "raw": timed(raw_inbox, repeat)}

    if "booking" in only:
        free = iter(context["free_slots"])
        patient_ids = iter(rng.sample(range(1, len(people) + 1), repeat * 2 + 20))
        author = context["busy_org_doctors"][1]

        def book():
            body = {
                "type_id": type_id,
                "profile_id": profile_id,
                "patient_id": next(patient_ids),
                "consultant_id": busy,
                "author_id": author,
                "email": "bench@example.ru",
                "slot_id": next(free),
            }
            return expect(api.post("/api/v1/consultations", json=body, headers=headers), 201, "booking")

        def raw_book():
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            cursor.execute(
                (
                    "INSERT INTO consultations (type_id, profile_id, organisation_id, patient_id, author_id, "
                    "consultant_id, slot_id, scheduled_at, email, route_data, status, created_at, updated_at, version) "
                    "SELECT ?, ?, ?, ?, ?, ?, s.id, s.starts_at, ?, '{}', 'scheduled', ?, ?, 1 FROM slots s "
                    "WHERE s.id = ? AND NOT s.blocked"
                ).replace("?", mark),
                (type_id, profile_id, context["busy_org"], next(patient_ids), author, busy,
                 "bench@example.ru", now, now, next(free)),
            )
            raw.commit()

        results["booking"] = {"app": timed_request(timer, book, repeat, warmup=3), "raw": timed(raw_book, repeat, warmup=3)}
    cursor.close()
    raw.close()
    return results


def explain(context: dict) -> list[str]:
    """Query plans of the hot queries, to show which index answers."""
    from core.db import db

    lines = []
    statements = {
        "snils": "SELECT * FROM patients WHERE snils = '11223344595'",
        "surname": "SELECT * FROM patients WHERE last_name_norm >= 'ива' AND last_name_norm < 'ивб' "
        "ORDER BY last_name_norm, first_name, id LIMIT 50",
        "inbox": f"SELECT * FROM consultations WHERE consultant_id = {context['busy']} AND status != 'closed' "
        f"ORDER BY scheduled_at DESC NULLS LAST, id DESC LIMIT {INBOX_ROWS}",
    }
    with db.engine.connect() as connection:
        for name, statement in statements.items():
            prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            plan = connection.execute(sa.text(prefix + statement)).fetchall()
            lines.append(f"  {name}: " + " | ".join(str(row[-1]) for row in plan[:3]))
    return lines


def run_backend(
    backend: str, people: list[dict], consultations: int, repeat: int, seed: int, only: set[str]
) -> tuple[dict, dict, list[str]]:
    from core.app import create_app
    from core.cli import upgrade_database
    from core.db import db

    workdir = Path(tempfile.mkdtemp(prefix=f"teleconsult-bench-{backend}-"))
    database = Database(backend, workdir)
    try:
        app = create_app(
            {"DATABASE_URL": database.url, "DATA_DIR": str(workdir), "LOG_LEVEL": "WARNING", "DEMO_DATA": False},
            environment="development",  # every installed plugin, as a deployment runs them
        )
        log(f"{backend}: plugins {', '.join(sorted(n for n in app.extensions['teleconsult.pm'].info if n != 'core'))}")
        with app.app_context():
            upgrade_database()
            started = time.monotonic()
            context = load(people, consultations, seed)
            loaded = time.monotonic() - started
            log(f"{backend}: loaded in {loaded:.0f} s; busy doctor has {context['busy_total']} consultations, {context['busy_open']} open")
            plans = explain(context)
            db.session.remove()
        # Requests run outside any app context, each in its own, as in a server.
        results = measure(app, people, context, repeat, seed, only)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return results, {"load_s": loaded, **context}, plans
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--consultations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(OPERATIONS), help="comma-separated: " + ", ".join(OPERATIONS))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(OPERATIONS):
        parser.error(f"unknown operations: {', '.join(sorted(unknown))}")
    if args.consultations < MIN_BUSY_OPEN / BUSY_SHARE:
        parser.error(f"--consultations must be at least {int(MIN_BUSY_OPEN / BUSY_SHARE)} to fill «Входящие»")

    from core.demo_data import generate_people

    started = time.monotonic()
    people = generate_people(args.patients, seed=args.seed)
    log(f"generated {len(people):,} people in {time.monotonic() - started:.0f} s")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    all_results, all_plans, loads = {}, {}, {}
    for backend in backends:
        log(f"--- {backend}")
        all_results[backend], info, all_plans[backend] = run_backend(
            backend, people, args.consultations, args.repeat, args.seed, only
        )
        loads[backend] = info

    print(f"\nteleconsult registry benchmark: {args.patients:,} patients, {args.consultations:,} consultations, "
          f"{args.repeat} timed requests each; server time of the request (app) and raw SQL, ms, p50 / p95")
    print(f"python {sys.version.split()[0]}, sqlalchemy {sa.__version__}, {os.cpu_count()} cores, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for backend, info in loads.items():
        print(f"{backend}: load {info['load_s']:.0f} s; busy doctor: {info['busy_total']} consultations, {info['busy_open']} open")
    header = f"{'request':<16}" + "".join(
        f"{b + ' app':>20}{'cpu p50':>9}{'SQL':>5}{b + ' raw SQL':>20}" for b in backends
    ) + f"{'target p95':>12}"
    print(header)
    print("-" * len(header))
    for name in OPERATIONS:
        if name not in only:
            continue
        line = f"{name:<16}"
        for backend in backends:
            p50, p95, cpu, statements = all_results[backend][name]["app"]
            line += f"{p50:>9.2f} / {p95:>7.2f} {cpu:>8.2f} {statements:>4.1f} "
            p50, p95 = all_results[backend][name]["raw"]
            line += f"{p50:>9.2f} / {p95:>7.2f} "
        target = TARGETS_MS.get(name)
        line += f"{('≤ ' + str(target)) if target else '':>12}"
        print(line)
    if "postgresql" in all_results:
        verdicts = []
        for name, target in TARGETS_MS.items():
            if name in only:
                p95 = all_results["postgresql"][name]["app"][1]
                verdicts.append(f"{name} {'OK' if p95 <= target else 'MISSED'} ({p95:.2f} ≤ {target})")
        print("PostgreSQL targets (app p95): " + "; ".join(verdicts))
    for backend, plans in all_plans.items():
        print(f"plans on {backend}:")
        for line in plans:
            print(line)


if __name__ == "__main__":
    main()
