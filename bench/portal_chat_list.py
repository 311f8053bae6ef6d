"""How long «Чат с врачом» (SPEC P3) takes for a patient with many consultations.

The title search runs in Python (titles are computed and SQLite cannot lowercase
Cyrillic), so this measures the list and the search against a page without the list
(«Управление доступом») as the baseline. Run:

    .venv/bin/python bench/portal_chat_list.py [consultations=200] [repeats=30]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone


def main(count: int = 200, repeats: int = 30) -> None:
    import sqlalchemy as sa

    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data
    from core.models import ConsentAcceptance, ConsentVersion, PortalAccount, Slot
    from core.testing import Factory, TeleconsultClient, login_session

    data = tempfile.mkdtemp(prefix="bench-portal-")
    app = create_app({"DATA_DIR": data, "SERVER_NAME": None}, environment="testing")
    app.test_client_class = TeleconsultClient
    with app.app_context():
        db.create_all()
        sync_reference_data()
        db.session.commit()
        factory = Factory(app)
        org = factory.organisation()
        doctors = [factory.doctor(organisation=org, specialty=s) for s in ("кардиолог", "терапевт", "невролог", "эндокринолог")]
        patient = factory.patient(organisation=org)
        account = PortalAccount(identity_provider="esia", external_id="bench", trust_level="standard", last_name="Бенчев", first_name="Пётр")
        db.session.add(account)
        db.session.flush()
        patient.portal_account_id = account.id
        version = db.session.scalar(sa.select(ConsentVersion))
        db.session.add(ConsentAcceptance(account_id=account.id, version_id=version.id))
        db.session.commit()
        start = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(days=1)
        for n in range(count):
            doctor = doctors[n % len(doctors)]
            slot = Slot(doctor_id=doctor.id, starts_at=start + timedelta(minutes=20 * n), ends_at=start + timedelta(minutes=20 * n + 20))
            db.session.add(slot)
            db.session.commit()
            factory.consultation(author=doctor, consultant=doctor, patient=patient, slot=slot)
        client = app.test_client()
        login_session(client, db.session.get(PortalAccount, account.id))

        def measure(url: str) -> float:
            assert client.get(url).status_code == 200
            samples = []
            for _ in range(repeats):
                began = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
            return statistics.median(samples)

        baseline = measure("/portal/access")
        listing = measure("/portal/chats")
        search = measure("/portal/chats?q=кардиолог")
    print(f"consultations: {count}, repeats: {repeats}, SQLite, median ms per page")
    print(f"  baseline «Управление доступом»   {baseline:7.1f}")
    print(f"  «Чат с врачом», whole list        {listing:7.1f}")
    print(f"  «Поиск по названию» кардиолог     {search:7.1f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
