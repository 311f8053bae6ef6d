"""How fast notifications go out: in-process to the outbox, and through Redis + a Celery
worker to a local SMTP server. Prints messages per second beside the baseline need.

Baseline: a large region books about 10 000 consultations a day; each brings at most
five e-mails (registered, moved, reminder, completion, one spare) -> 50 000 a day, about
0.6 per second on average and, if a tenth of a day's mail comes within one peak hour,
about 1.4 per second.

    .venv/bin/python bench/notifications_throughput.py [--count 300] [--concurrency 2]
    (Redis at 127.0.0.1:6379/6 for the Celery part)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE_PEAK = 1.4  # messages per second


def make(config: dict, data_dir: Path):
    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data

    settings = {"DATA_DIR": str(data_dir), "SERVER_NAME": None, **config}
    app = create_app(settings, environment="testing", plugins=["notifications"])
    with app.app_context():
        db.create_all()
        sync_reference_data()
        db.session.commit()
    return app


def rows(app, count: int) -> list[int]:
    """One consultation, then ``count`` notifications copied from its first one."""
    from core.db import db
    from core.testing import Factory
    from plugins.notifications.models import Notification

    with app.app_context():
        consultation = Factory(app).consultation(email="bench@example.ru")
        template = db.session.query(Notification).filter_by(event="registered").first()
        ids = []
        for n in range(count):
            row = Notification(
                key=f"bench:{uuid.uuid4().hex}:{n}",
                event=template.event,
                channel="email",
                consultation_id=consultation.id,
                recipient=f"bench{n}@example.ru",
                subject=template.subject,
                body_text=template.body_text,
                body_html=template.body_html,
            )
            db.session.add(row)
            db.session.flush()
            ids.append(row.id)
        db.session.commit()
        return ids


def inprocess(count: int) -> float:
    from core.tasks import run_inprocess

    with tempfile.TemporaryDirectory() as tmp:
        app = make({}, Path(tmp))
        ids = rows(app, count)
        started = time.perf_counter()
        for notification_id in ids:
            run_inprocess(app, "notifications.send", {"notification_id": notification_id})
        return count / (time.perf_counter() - started)


def celery(count: int, concurrency: int) -> float:
    from core.db import db
    from core.tasks import dispatch
    from plugins.notifications.models import Notification, NotificationStatus
    from tests.notifications.services import REDIS_URL, SmtpServer, Worker, celery_settings, worker_env

    smtp = SmtpServer().start()
    queue = f"teleconsult-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = celery_settings(REDIS_URL, smtp, queue, NOTIFICATIONS_SWEEP_SECONDS=60.0)
        app = make(settings, Path(tmp))
        ids = rows(app, count)
        worker = Worker(worker_env(app, settings), Path(tmp) / "worker.log", concurrency=concurrency)
        try:
            started = time.perf_counter()
            for notification_id in ids:
                dispatch(app, "notifications.send", {"notification_id": notification_id})
            with app.app_context():
                while True:
                    db.session.expire_all()
                    sent = db.session.query(Notification).filter_by(status=NotificationStatus.SENT).count()
                    db.session.rollback()
                    if sent >= count + 1:  # plus the consultation's own
                        break
                    time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            worker.stop(graceful=False)
            smtp.stop()
    received = len(smtp.handler.received)
    assert received == count + 1, f"{received} messages for {count + 1} notifications"
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    print(f"baseline need at peak: {BASELINE_PEAK:.1f} messages/s")
    print(f"in-process, outbox files (SQLite):        {inprocess(args.count):7.1f} messages/s")
    rate = celery(args.count, args.concurrency)
    print(f"Celery x{args.concurrency} + Redis, SMTP (SQLite):   {rate:7.1f} messages/s")


if __name__ == "__main__":
    main()
