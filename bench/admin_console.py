"""How the operator console copes with a large audit log.

Prints the time of the audit log's first page, a filtered page, a search and the CSV
export with N events, beside the same requests on an empty log (the baseline).

    .venv/bin/python bench/admin_console.py [N]            # SQLite file
    TELECONSULT_BENCH_DATABASE=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/admin_console.py 200000     # an existing, empty PostgreSQL database
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa


def build(n_events: int):
    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data
    from core.models import AuditEvent, Organisation, Role, User
    from core.testing import TeleconsultClient, login_session

    data_dir = tempfile.mkdtemp(prefix="admin-bench-")
    url = os.environ.get("TELECONSULT_BENCH_DATABASE") or f"sqlite:///{data_dir}/bench.sqlite3"
    app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": url, "SERVER_NAME": None}, environment="testing")
    app.test_client_class = TeleconsultClient
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_reference_data()
        org = Organisation(name="Поликлиника", short_name="П-1")
        operator = User(login="operator", last_name="Оператор", first_name="Бенч", password_hash="x",
                        organisation=org, roles=[db.session.scalar(sa.select(Role).where(Role.code == "operator"))])
        db.session.add_all([org, operator])
        db.session.commit()
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        actions = ["consultation.created", "consultation.scheduled", "participant.added", "document.uploaded",
                   "consultation.completed", "auth.login"]
        batch = []
        for i in range(n_events):
            batch.append({
                "at": start + timedelta(seconds=30 * i), "actor_type": "staff", "actor_id": i % 50,
                "actor_name": f"Врач {i % 50}", "action": actions[i % len(actions)],
                "object_type": "consultations", "object_id": i // 6, "consultation_id": i // 6,
                "data": {"n": i},
            })
            if len(batch) == 5000:
                db.session.execute(sa.insert(AuditEvent), batch)
                batch = []
        if batch:
            db.session.execute(sa.insert(AuditEvent), batch)
        db.session.commit()
        client = app.test_client()
        login_session(client, db.session.get(User, operator.id))
    return app, client


def timed(client, url: str, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url)
        response.get_data()
        assert response.status_code == 200, (url, response.status_code)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    requests = [
        ("first page", "/admin/audit/"),
        ("filter by action", "/admin/audit/?flt0_action_equals=document.uploaded"),
        ("search by user", "/admin/audit/?search=Врач+7"),
        ("CSV export (all rows)", "/admin/audit/export/csv/"),
    ]
    results = {}
    for size in (0, n):
        app, client = build(size)
        with app.app_context():
            view = [v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_audit"][0]
            index = next(i for i, f in enumerate(view._filters) if getattr(f, "column", None) is not None
                         and f.column.key == "action" and type(f).__name__ == "FilterEqual")
        for label, url in requests:
            url = url.replace("flt0_action_equals", f"flt0_{index}")
            results[(label, size)] = timed(client, url, repeat=3 if "CSV" in label else 5)
    backend = "PostgreSQL" if os.environ.get("TELECONSULT_BENCH_DATABASE") else "SQLite"
    print(f"audit log in the console, {backend}, median ms (baseline: empty log)")
    print(f"{'request':28} {'empty':>10} {n:>10,}")
    for label, _url in requests:
        print(f"{label:28} {results[(label, 0)]:10.1f} {results[(label, n)]:10.1f}")


if __name__ == "__main__":
    main()
