"""Registry and worklist benchmark on SQLite and PostgreSQL (SPEC D3, D4; issue acceptance).

Loads 1,000,000 registry patients (``core.demo_data.generate_people``) and 100,000
consultations into a temporary SQLite file and a temporary PostgreSQL database (created
and dropped here), then times, in this process, the application's own calls and raw SQL
for the same queries, and prints them side by side:

* SNILS lookup, OMS policy lookup      ``core.registry.find_by_identifier``
* surname search (first page + count)  ``core.registry.search_by_surname``
* «Входящие» of a busy doctor          ``core.worklists.worklist_query``, first page of 50 + count
* free slots of that doctor            ``core.schedule.free_slots``
* booking a slot                       ``core.consultations.create_consultation`` + commit

Targets on PostgreSQL: lookups p95 ≤ 5 ms, «Входящие» p95 ≤ 100 ms, surname p95 ≤ 50 ms.

    .venv/bin/python bench/registry_bench.py                      # both databases
    .venv/bin/python bench/registry_bench.py --patients 100000 --backends sqlite
    TELECONSULT_BENCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (default)

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


def _chunks(rows: list, size: int = 20000):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


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
        if engine.dialect.name == "postgresql":
            for table in ("slots", "consultations", "consultation_participants"):
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
        "busy_total": sum(1 for c in consult_rows if c["consultant_id"] == busy),
        "busy_open": busy_open,
        "busy_org_doctors": per_org[busy_org],
        "type_id": ctype,
        "profile_id": profile,
        "free_slots": free_slot_ids,
    }


# --------------------------------------------------------------------------- timings


def measure(people: list[dict], context: dict, repeat: int, seed: int) -> dict[str, dict[str, tuple[float, float]]]:
    from core.access import Principal
    from core.consultations import ConsultationDraft, create_consultation
    from core.db import db
    from core.registry import find_by_identifier, search_by_surname
    from core.schedule import free_slots
    from core.worklists import INBOX, worklist_query

    rng = random.Random(seed + 1)
    engine = db.engine
    dialect = engine.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    sample = [people[int(rng.random() * len(people))] for _ in range(repeat * 2)]
    prefixes = [p["last_name"].lower().replace("ё", "е")[: rng.choice((3, 4, 5, 20))] for p in sample]
    snils = iter([p["snils"] for p in sample] * 2)
    policies = iter([p["oms_policy"] for p in sample] * 2)
    surnames = iter(prefixes * 2)
    busy = context["busy"]
    results: dict[str, dict[str, tuple[float, float]]] = {}

    raw = engine.raw_connection()
    cursor = raw.cursor()

    def sql(statement: str, *params):
        cursor.execute(statement.replace("?", mark), params)
        return cursor.fetchall()

    def session_call(function):
        def run():
            function()
            db.session.rollback()  # a request ends; nothing stays in the identity map

        return run

    # SNILS / policy lookups
    results["snils"] = {
        "app": timed(session_call(lambda: find_by_identifier(next(snils))), repeat),
        "raw": timed(lambda: sql("SELECT * FROM patients WHERE snils = ?", next(snils)), repeat),
    }
    results["policy"] = {
        "app": timed(session_call(lambda: find_by_identifier(next(policies))), repeat),
        "raw": timed(lambda: sql("SELECT * FROM patients WHERE oms_policy = ?", next(policies)), repeat),
    }

    def raw_surname():
        prefix = next(surnames)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # a range of the byte-ordered index
        where, params = "last_name_norm >= ? AND last_name_norm < ?", (prefix, upper)
        sql(f"SELECT count(*) FROM patients WHERE {where}", *params)
        sql(f"SELECT * FROM patients WHERE {where} ORDER BY last_name_norm, first_name, id LIMIT 50", *params)

    results["surname"] = {
        "app": timed(session_call(lambda: search_by_surname(next(surnames))), repeat),
        "raw": timed(raw_surname, repeat),
    }

    def inbox_page():
        query = worklist_query(INBOX, busy)
        db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        db.session.scalars(query.limit(50)).unique().all()

    def raw_inbox():
        sql("SELECT count(*) FROM consultations WHERE consultant_id = ? AND status != 'closed'", busy)
        sql(
            "SELECT c.*, p.last_name, p.first_name, p.middle_name FROM consultations c "
            "JOIN patients p ON p.id = c.patient_id "
            "WHERE c.consultant_id = ? AND c.status != 'closed' "
            "ORDER BY c.scheduled_at DESC, c.id DESC LIMIT 50",
            busy,
        )

    results["inbox"] = {"app": timed(session_call(inbox_page), repeat), "raw": timed(raw_inbox, repeat)}

    after = datetime.now(timezone.utc)
    after_naive = after.replace(tzinfo=None)
    results["free slots"] = {
        "app": timed(session_call(lambda: free_slots(busy, after, limit=50)), repeat),
        "raw": timed(
            lambda: sql(
                "SELECT s.* FROM slots s WHERE s.doctor_id = ? AND s.starts_at > ? AND NOT s.blocked "
                "AND NOT EXISTS (SELECT 1 FROM consultations c WHERE c.slot_id = s.id) "
                "ORDER BY s.starts_at LIMIT 50",
                busy,
                after_naive,
            ),
            repeat,
        ),
    }

    free = iter(context["free_slots"])
    patient_ids = iter(rng.sample(range(1, len(people) + 1), repeat * 2 + 20))
    author = context["busy_org_doctors"][1]
    from core.models import User

    principal = Principal(
        kind="api",
        id=0,
        name="bench",
        organisation_id=db.session.get(User, busy).organisation_id,
        scopes=frozenset({"consultations:write"}),
    )
    db.session.rollback()

    def book():
        draft = ConsultationDraft(
            type_id=context["type_id"],
            profile_id=context["profile_id"],
            patient_id=next(patient_ids),
            consultant_id=busy,
            author_id=author,
            email="bench@example.ru",
            slot_id=next(free),
        )
        create_consultation(draft, principal)
        db.session.commit()

    organisation_id = principal.organisation_id

    def raw_book():
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        slot_id = next(free)
        cursor.execute(
            (
                "INSERT INTO consultations (type_id, profile_id, organisation_id, patient_id, author_id, "
                "consultant_id, slot_id, scheduled_at, email, route_data, status, created_at, updated_at, version) "
                "SELECT ?, ?, ?, ?, ?, ?, s.id, s.starts_at, ?, '{}', 'scheduled', ?, ?, 1 FROM slots s "
                "WHERE s.id = ? AND NOT s.blocked"
            ).replace("?", mark),
            (context["type_id"], context["profile_id"], organisation_id, next(patient_ids), author, busy,
             "bench@example.ru", now, now, slot_id),
        )
        raw.commit()

    results["booking"] = {"app": timed(book, repeat, warmup=3), "raw": timed(raw_book, repeat, warmup=3)}
    cursor.close()
    raw.close()
    return results


def explain(context: dict) -> list[str]:
    """Query plans of the hot queries (PostgreSQL), to show which index answers."""
    from core.db import db

    lines = []
    statements = {
        "snils": "SELECT * FROM patients WHERE snils = '11223344595'",
        "surname": "SELECT * FROM patients WHERE last_name_norm >= 'ива' AND last_name_norm < 'ивб' "
        "ORDER BY last_name_norm, first_name, id LIMIT 50",
        "inbox": f"SELECT * FROM consultations WHERE consultant_id = {context['busy']} AND status != 'closed' "
        "ORDER BY scheduled_at DESC NULLS LAST, id DESC LIMIT 50",
    }
    with db.engine.connect() as connection:
        for name, statement in statements.items():
            prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            plan = connection.execute(sa.text(prefix + statement)).fetchall()
            lines.append(f"  {name}: " + " | ".join(str(row[-1]) for row in plan[:3]))
    return lines


def run_backend(backend: str, people: list[dict], consultations: int, repeat: int, seed: int) -> tuple[dict, dict, list[str]]:
    from core.app import create_app
    from core.cli import upgrade_database
    from core.db import db

    workdir = Path(tempfile.mkdtemp(prefix=f"teleconsult-bench-{backend}-"))
    database = Database(backend, workdir)
    try:
        app = create_app(
            {"DATABASE_URL": database.url, "DATA_DIR": str(workdir), "LOG_LEVEL": "WARNING"},
            environment="testing",
            plugins=[],
        )
        with app.app_context(), app.test_request_context():
            upgrade_database()
            started = time.monotonic()
            context = load(people, consultations, seed)
            loaded = time.monotonic() - started
            log(f"{backend}: loaded in {loaded:.0f} s; busy doctor has {context['busy_total']} consultations, {context['busy_open']} open")
            results = measure(people, context, repeat, seed)
            plans = explain(context)
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
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    from core.demo_data import generate_people

    started = time.monotonic()
    people = generate_people(args.patients, seed=args.seed)
    log(f"generated {len(people):,} people in {time.monotonic() - started:.0f} s")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    all_results, all_plans, loads = {}, {}, {}
    for backend in backends:
        log(f"--- {backend}")
        all_results[backend], info, all_plans[backend] = run_backend(
            backend, people, args.consultations, args.repeat, args.seed
        )
        loads[backend] = info

    print(f"\nteleconsult registry benchmark: {args.patients:,} patients, {args.consultations:,} consultations, "
          f"{args.repeat} timed calls each; server time in ms (p50 / p95)")
    print(f"python {sys.version.split()[0]}, sqlalchemy {sa.__version__}, {os.cpu_count()} cores, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for backend, info in loads.items():
        print(f"{backend}: load {info['load_s']:.0f} s; busy doctor: {info['busy_total']} consultations, {info['busy_open']} open")
    header = f"{'query':<12}" + "".join(f"{b + ' app':>20}{b + ' raw SQL':>20}" for b in backends) + f"{'target p95':>12}"
    print(header)
    print("-" * len(header))
    for name in ("snils", "policy", "surname", "inbox", "free slots", "booking"):
        line = f"{name:<12}"
        for backend in backends:
            for kind in ("app", "raw"):
                p50, p95 = all_results[backend][name][kind]
                line += f"{p50:>9.2f} / {p95:>7.2f} "
        target = TARGETS_MS.get(name)
        line += f"{('≤ ' + str(target)) if target else '':>12}"
        print(line)
    if "postgresql" in all_results:
        verdicts = []
        for name, target in TARGETS_MS.items():
            p95 = all_results["postgresql"][name]["app"][1]
            verdicts.append(f"{name} {'OK' if p95 <= target else 'MISSED'} ({p95:.2f} ≤ {target})")
        print("PostgreSQL targets (app p95): " + "; ".join(verdicts))
    for backend, plans in all_plans.items():
        print(f"plans on {backend}:")
        for line in plans:
            print(line)


if __name__ == "__main__":
    main()
