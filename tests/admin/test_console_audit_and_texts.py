"""SPEC A1: the read-only audit log with its filters and CSV export; consent text versions."""

import csv
import io
from datetime import datetime, timezone

import sqlalchemy as sa

from core.db import db
from core.models import AuditEvent, ConsentVersion
from tests.admin.conftest import submit


def _event(action, actor_name, object_type, object_id, at):
    db.session.add(AuditEvent(action=action, actor_type="staff", actor_id=7, actor_name=actor_name,
                              object_type=object_type, object_id=object_id, at=at, data={"note": "проверка"}))


def test_audit_log_is_read_only(operator_client, people):
    _event("consultation.created", "Иванов И. И.", "consultations", 5, datetime(2026, 3, 1, 9, tzinfo=timezone.utc))
    db.session.commit()
    event_id = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "consultation.created"))
    page = operator_client.get("/admin/audit/").get_data(as_text=True)
    assert "Журнал аудита" in page and "consultation.created" in page
    assert "/admin/audit/new/" not in page and "/admin/audit/edit/" not in page
    # Create, edit and delete are not there, whatever is posted.
    token = operator_client.csrf_token("/admin/")
    for url in ("/admin/audit/new/", f"/admin/audit/edit/?id={event_id}", "/admin/audit/delete/"):
        operator_client.post(url, data={"id": event_id, "action": "x", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(AuditEvent, event_id).action == "consultation.created"
    details = operator_client.get(f"/admin/audit/details/?id={event_id}").get_data(as_text=True)
    assert "проверка" in details


def _filter_index(client, kind, label, operation=None):
    """The URL index of the filter «label» of kind ``kind`` (and operation, when given)."""
    view = [v for v in client.application.extensions["admin"][0]._views if v.endpoint == "admin_audit"][0]
    [index] = [i for i, f in enumerate(view._filters)
               if type(f).__name__ == kind and str(f.name) == label and (operation is None or str(f.operation()) == operation)]
    return index


def test_audit_filters_by_user_object_action_and_time(operator_client, people):
    _event("consultation.created", "Иванов И. И.", "consultations", 5, datetime(2026, 3, 1, 9, tzinfo=timezone.utc))
    _event("document.uploaded", "Петрова А. А.", "documents", 9, datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    _event("consultation.completed", "Петрова А. А.", "consultations", 6, datetime(2026, 3, 3, 9, tzinfo=timezone.utc))
    db.session.commit()
    page = operator_client.get("/admin/audit/").get_data(as_text=True)
    assert "Пользователь" in page and "Объект" in page and "Действие" in page and "Время" in page

    def by(kind, label, value, operation=None):
        i = _filter_index(operator_client, kind, label, operation)
        return operator_client.get("/admin/audit/", query_string={f"flt0_{i}": value}).get_data(as_text=True)

    page = by("FilterLike", "Пользователь", "Петрова")
    assert "Документ загружен" in page and "Консультация завершена" in page and "Заявка создана" not in page
    page = by("TitleEqual", "Объект", "documents")
    assert "Документ загружен" in page and "Консультация завершена" not in page
    page = by("TitleEqual", "Действие", "consultation.created")
    assert "Заявка создана" in page and "Документ загружен" not in page
    # Time is typed in local (Moscow) time: 2 March 12:00 MSK is 09:00 UTC.
    page = by("LocalDateTimeBetween", "Время", "2026-03-02 00:00:00 to 2026-03-02 23:59:59")
    assert "Документ загружен" in page and "Заявка создана" not in page and "Консультация завершена" not in page
    assert "02.03.2026 12:00:00" in page
    page = by("LocalDateTimeGreater", "Время", "2026-03-02 12:00:01")
    assert "Консультация завершена" in page and "Документ загружен" not in page


def test_the_log_speaks_of_actions_and_objects_by_their_titles(operator_client, people):
    _event("consultation.created", "Иванов И. И.", "consultations", 5, datetime(2026, 3, 1, 9, tzinfo=timezone.utc))
    _event("auth.login_failed", "Иванов И. И.", "users", 7, datetime(2026, 3, 1, 10, tzinfo=timezone.utc))
    _event("something.new", "Иванов И. И.", "mystery_things", 1, datetime(2026, 3, 1, 11, tzinfo=timezone.utc))
    db.session.commit()
    page = operator_client.get("/admin/audit/").get_data(as_text=True)
    assert ">Заявка создана<" in page and ">Неудачная попытка входа<" in page and ">Пользователь<" in page
    assert ">consultation.created<" not in page and ">consultations<" not in page
    # A code nobody gave a title to is shown as it is.
    assert ">something.new<" in page and ">mystery_things<" in page
    # The operator picks a title from the list of «Действие равно»...
    equal = _filter_index(operator_client, "TitleEqual", "Действие")
    listing = operator_client.get(f"/admin/audit/?flt0_{equal}=auth.login_failed").get_data(as_text=True)
    rows = listing.split("<tbody")[-1]
    assert "Неудачная попытка входа" in rows and "Заявка создана" not in rows
    # ...or types a word of it: «вход» finds every login event, whatever its code.
    contains = _filter_index(operator_client, "TitleContains", "Действие")
    rows = operator_client.get("/admin/audit/", query_string={f"flt0_{contains}": "вход"}).get_data(as_text=True)
    rows = rows.split("<tbody")[-1]
    assert "Неудачная попытка входа" in rows and "Заявка создана" not in rows and "something.new" not in rows
    objects = _filter_index(operator_client, "TitleContains", "Объект")
    rows = operator_client.get("/admin/audit/", query_string={f"flt0_{objects}": "заявк"}).get_data(as_text=True)
    rows = rows.split("<tbody")[-1]
    assert "Заявка создана" in rows and "Неудачная попытка входа" not in rows
    # The console's home page lists its own changes by title too.
    submit(operator_client, "/admin/organisations/new/", name="Больница № 9", short_name="Б9")
    home = operator_client.get("/admin/").get_data(as_text=True)
    assert "Консоль: запись создана (" in home and "Медицинская организация" in home


def test_audit_csv_export(operator_client, people):
    _event("consultation.created", "Иванов И. И.", "consultations", 5, datetime(2026, 3, 1, 9, tzinfo=timezone.utc))
    db.session.commit()
    response = operator_client.get("/admin/audit/export/csv/")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header = rows[0]
    assert header[:4] == ["Время", "Пользователь", "Тип субъекта", "Действие"]
    [row] = [r for r in rows[1:] if "Заявка создана" in r]
    assert "01.03.2026 12:00:00" in row and "Иванов И. И." in row and '{"note": "проверка"}' in row
    assert row[header.index("Объект")] == "Заявка"
    # The export itself is on record, with what was exported.
    db.session.expire_all()
    [exported] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "admin.audit.exported")).all()
    assert exported.actor_name.startswith("Операторова") and exported.object_type == "audit_events"
    assert exported.data["view"] == "admin_audit" and exported.data["rows"] == len(rows) - 1
    # Filters apply to the export as to the list, and are on record.
    operator_client.get("/admin/audit/")
    equal = _filter_index(operator_client, "TitleEqual", "Действие")
    filtered = operator_client.get(
        f"/admin/audit/export/csv/?search=nothing-like-this&flt0_{equal}=consultation.created"
    ).get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(filtered)))) == 1
    db.session.expire_all()
    last = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "admin.audit.exported").order_by(AuditEvent.id.desc())
    ).first()
    assert last.data["search"] == "nothing-like-this" and last.data["rows"] == 0
    assert last.data["filters"] == ["Действие равно: Заявка создана"]


def test_publishing_a_new_consent_version(operator_client, people):
    first = db.session.scalar(sa.select(ConsentVersion).where(ConsentVersion.version == 1))
    page = operator_client.get("/admin/consent_versions/new/").get_data(as_text=True)
    assert "Информированное добровольное согласие" in page  # the form starts from the latest text
    response = submit(operator_client, "/admin/consent_versions/new/",
                      text=first.text + "\n7. Запись видеоконсультации не ведётся.")
    assert response.status_code == 302
    db.session.expire_all()
    versions = db.session.scalars(sa.select(ConsentVersion).order_by(ConsentVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].published_at is not None and "не ведётся" in versions[1].text
    assert "не ведётся" not in versions[0].text  # the published text stays as it was
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.consent.published")).data == {"version": 2}
    # A published version is never edited in place.
    token = operator_client.csrf_token("/admin/")
    response = operator_client.post(f"/admin/consent_versions/edit/?id={versions[0].id}",
                                    data={"title": "Иначе", "text": "Иначе", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ConsentVersion, versions[0].id).title != "Иначе"
    # An empty text is refused.
    response = submit(operator_client, "/admin/consent_versions/new/", text="   ")
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.max(ConsentVersion.version))) == 2
