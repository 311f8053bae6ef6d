"""Small defects of issue 18 outside the browser: list order, texts a user reads."""

from __future__ import annotations

from datetime import timedelta

from core.testing import PASSWORD


def test_the_inbox_shows_the_soonest_appointment_first(client, factory):
    """«Входящие» is the consultant's day: ordered by appointment time, not by number (D3)."""
    doctor = factory.doctor(login="inbox-doc")
    later = factory.consultation(author=doctor, slot=factory.slot(doctor, starts_in=timedelta(days=3)))
    sooner = factory.consultation(author=doctor, slot=factory.slot(doctor, starts_in=timedelta(days=1)))
    client.login("inbox-doc", PASSWORD)
    page = client.get("/workplace/inbox").get_data(as_text=True)
    assert page.index(f'data-consultation="{sooner.id}"') < page.index(f'data-consultation="{later.id}"')


def test_the_log_sms_channel_does_not_read_as_a_sent_sms(caplog):
    """The start log printed «SMS registered:…» lines that read as real SMS (issue 18)."""
    import logging
    from types import SimpleNamespace

    from plugins.notifications.channels import LogSmsChannel

    caplog.set_level(logging.INFO)
    LogSmsChannel().deliver(SimpleNamespace(key="registered:1:sms", recipient="+79215550101", text="Запись"))
    [line] = [r.getMessage() for r in caplog.records if "registered:1:sms" in r.getMessage()]
    assert line.startswith("SMS not sent (no SMS provider connected") and "5550101" not in line


def test_the_run_banner_lists_demo_patients_with_their_identifiers():
    """A newcomer following the doctor guide needs a SNILS or a policy to type (issue 18)."""
    from core import demo

    lines = demo.patients_banner()
    text = "\n".join(lines)
    first = demo.PORTAL_PERSONS[0]
    assert first.snils in text and first.oms_policy in text and first.last_name in text
    assert "Петрова Анна" in text  # the child, under the parent
    assert any("паспорт" in line.lower() for line in lines)


def test_the_demo_page_lists_the_patients_in_development_only(tmp_path):
    from core import demo
    from core.app import create_app

    def client(environment):
        config = {"DATA_DIR": str(tmp_path / environment), "DATABASE_URL": f"sqlite:///{tmp_path}/{environment}.db",
                  "SERVER_NAME": None, "DEMO_DATA": True, "SECRET_KEY": "x" * 40}
        return create_app(config, environment=environment).test_client()

    page = client("development").get("/demo")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    first = demo.PORTAL_PERSONS[0]
    assert first.snils in text and first.oms_policy in text and first.passport in text and "Петрова Анна" in text
    assert client("testing").get("/demo").status_code == 404
