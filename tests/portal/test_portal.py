"""The patient guide (seed 000) walked through the portal: consent (P2), «Чат с врачом»
(P3), requests to the deferred-record journal (P7), leaving (P8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from core import hookimpl
from core.access import principal_for_user
from core.db import db
from core.models import AuditEvent, ConsentAcceptance, ConsentVersion, Outcome, RecordRequest
from tests.portal.conftest import PARENT, STANDARD, accept_consent, addresses, enter, page_csrf

CONSENT_TITLE = "Информированное добровольное согласие на дистанционное консультирование"


@pytest.fixture
def doctors(factory, registry):
    org = registry.organisation
    return {
        "кардиолог": factory.doctor(organisation=org, specialty="кардиолог", last_name="Морозов"),
        "терапевт": factory.doctor(organisation=org, specialty="терапевт", last_name="Соколова"),
        "педиатр": factory.doctor(organisation=org, specialty="педиатр", last_name="Новикова"),
    }


def close(consultation):
    from core import lifecycle
    from core.models import CompletionReason

    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
    lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant), reason=reason)
    db.session.commit()


# --------------------------------------------------------------------------- consent (P2)


def test_consent_modal_blocks_the_section_until_accepted(browser, registry, doctors, factory):
    consultation = factory.consultation(author=doctors["кардиолог"], consultant=doctors["кардиолог"], patient=registry.patients[STANDARD])
    enter(browser)
    for url in ("/portal/chats", f"/portal/chats/{consultation.id}", "/portal/chats?q=кардиолог"):
        page = browser.get(url).get_data(as_text=True)
        assert 'id="consent-modal"' in page and CONSENT_TITLE in page
        assert consultation.title not in page and "Морозов" not in page  # nothing of the section

    # Accepting without the tick is refused and changes nothing.
    version_id = db.session.scalar(sa.select(ConsentVersion.id))
    refused = browser.post_form("/portal/consent", {"version_id": version_id})
    assert refused.status_code == 422 and "поставьте галочку" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ConsentAcceptance.id))) == 0

    browser.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Android 14; Mobile)"
    accept_consent(browser)
    page = browser.get("/portal/chats").get_data(as_text=True)
    assert 'id="consent-modal"' not in page and consultation.title in page
    accepted = db.session.scalar(sa.select(ConsentAcceptance))
    assert accepted.version.version == 1 and accepted.accepted_at is not None
    assert accepted.client_address == "127.0.0.1" and accepted.user_agent == "Mozilla/5.0 (Android 14; Mobile)"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "consent.accepted"))
    assert event.actor_type == "patient" and event.data["version"] == 1


def test_access_management_shows_the_accepted_version_and_a_new_version_asks_again(browser, registry):
    enter(browser)
    assert "Вы ещё не принимали согласие" in browser.get("/portal/access").get_data(as_text=True)
    accept_consent(browser)
    page = browser.get("/portal/access").get_data(as_text=True)
    assert CONSENT_TITLE in page and "№ 1" in page and "323-ФЗ" in page
    accepted_at = db.session.scalar(sa.select(ConsentAcceptance.accepted_at))
    from core.template_tools import local_datetime

    with browser.application.test_request_context():
        assert local_datetime(accepted_at) in page

    db.session.add(ConsentVersion(
        version=2, title=CONSENT_TITLE, text="Новая редакция: консультации записываются.",
        published_at=datetime.now(timezone.utc) - timedelta(minutes=1),
    ))
    # A version published for later does not count yet.
    db.session.add(ConsentVersion(
        version=3, title=CONSENT_TITLE, text="Будущая редакция", published_at=datetime.now(timezone.utc) + timedelta(days=3),
    ))
    db.session.commit()
    page = browser.get("/portal/chats").get_data(as_text=True)
    assert 'id="consent-modal"' in page and "Текст согласия обновлён" in page
    assert "Новая редакция: консультации записываются." in page and "Будущая редакция" not in page
    assert "Опубликована новая редакция" in browser.get("/portal/access").get_data(as_text=True)

    # An acceptance of the old version no longer opens the section.
    old = db.session.scalar(sa.select(ConsentVersion.id).where(ConsentVersion.version == 1))
    stale = browser.post_form("/portal/consent", {"version_id": old, "agree": "yes"})
    assert stale.status_code == 409
    accept_consent(browser)
    page = browser.get("/portal/access").get_data(as_text=True)
    assert "№ 2" in page and "Новая редакция: консультации записываются." in page
    assert "Ранее принятые редакции" in page and "Редакция № 1" in page


# --------------------------------------------------------------------------- chat list (P3)


class FakeChat:
    """Stands for the chat plugin: unread counters and the chat window's address."""

    @hookimpl
    def teleconsult_register_consultation_badges(self, consultations, principal):
        return {c.id: 3 for c in consultations if not c.is_closed}

    @hookimpl
    def teleconsult_register_consultation_link(self, consultation, principal):
        return f"/chat/{consultation.id}"


def test_chat_list_greys_closed_chats_and_searches_titles(browser, registry, doctors, factory, app):
    patient = registry.patients[STANDARD]
    cardio = factory.consultation(author=doctors["кардиолог"], consultant=doctors["кардиолог"], patient=patient)
    therapy = factory.consultation(author=doctors["терапевт"], consultant=doctors["терапевт"], patient=patient)
    finished = factory.consultation(author=doctors["кардиолог"], consultant=doctors["кардиолог"], patient=patient)
    close(finished)
    someone_else = factory.consultation(author=doctors["педиатр"], consultant=doctors["педиатр"])
    enter(browser)
    accept_consent(browser)

    page = browser.get("/portal/chats").get_data(as_text=True)
    for c in (cardio, therapy, finished):
        assert f'data-consultation="{c.id}"' in page
    assert f'data-consultation="{someone_else.id}"' not in page
    assert f'<li class="chat-item closed" data-consultation="{finished.id}">' in page
    assert f'<li class="chat-item" data-consultation="{cardio.id}">' in page
    assert "Писать врачу в этом чате нельзя" in page
    # Shown on the closed one only (the others keep it hidden for a chat that closes live).
    assert page.count("<span class=\"chat-closed-note\" data-closed-note>") == 1
    # Open chats first.
    assert page.index(f'data-consultation="{finished.id}"') > page.index(f'data-consultation="{cardio.id}"')
    # Without a chat plugin the item opens the portal's own card; with it, the chat.
    own_card = "chat" not in browser.application.extensions["teleconsult.pm"].info
    assert (f'href="/portal/chats/{cardio.id}"' if own_card else f'href="/chat/{cardio.id}"') in page

    def found(q):
        text = browser.get("/portal/chats", query_string={"q": q}).get_data(as_text=True)
        return {c.id for c in (cardio, therapy, finished) if f'data-consultation="{c.id}"' in text}, text

    assert found("кардиолог")[0] == {cardio.id, finished.id}
    assert found("ТЕРАПЕВТ")[0] == {therapy.id}
    assert found("  дистанционная   Кардиолог ")[0] == {cardio.id, finished.id}
    nothing, text = found("педиатр")
    assert nothing == set() and "Ничего не найдено" in text

    # The chat plugin's counters (blue circle) and links come through the hooks.
    app.extensions["teleconsult.pm"].register(FakeChat(), name="fakechat")
    page = browser.get("/portal/chats").get_data(as_text=True)
    assert f'href="/chat/{cardio.id}"' in page
    assert 'class="badge unread" aria-label="Непрочитанных сообщений: 3">3</span>' in page
    assert page.count('<span data-badge class="badge unread"') == 2  # not on the closed one


def test_search_treats_yo_as_ye(browser, registry, factory):
    doctor = factory.doctor(organisation=registry.organisation, specialty="детский хирург (приём)")
    consultation = factory.consultation(author=doctor, consultant=doctor, patient=registry.patients[STANDARD])
    enter(browser)
    accept_consent(browser)
    for q in ("прием", "ПРИЁМ", "хирург"):
        page = browser.get("/portal/chats", query_string={"q": q}).get_data(as_text=True)
        assert f'data-consultation="{consultation.id}"' in page, q


def test_parent_sees_the_child_consultation_and_another_patient_sees_nothing(app, registry, doctors, factory):
    child = registry.patients[PARENT + ":child"]
    parent = registry.patients[PARENT]
    consultation = factory.consultation(
        author=doctors["педиатр"], consultant=doctors["педиатр"], patient=child, representative_id=parent.id, type_code="remote_representative"
    )
    parent_browser = app.test_client()
    enter(parent_browser, PARENT)
    accept_consent(parent_browser)
    page = parent_browser.get("/portal/chats").get_data(as_text=True)
    assert f'data-consultation="{consultation.id}"' in page and "Пациент: Петрова Анна Сергеевна" in page
    card = parent_browser.get(f"/portal/chats/{consultation.id}")
    assert card.status_code == 200 and "Новикова" in card.get_data(as_text=True)
    assert parent_browser.get("/portal/chats", query_string={"q": "педиатр"}).get_data(as_text=True).count(
        'class="chat-item'
    ) == 1

    other = app.test_client()
    enter(other, STANDARD)
    accept_consent(other)
    assert f'data-consultation="{consultation.id}"' not in other.get("/portal/chats").get_data(as_text=True)
    assert other.get(f"/portal/chats/{consultation.id}").status_code == 404
    assert other.get("/portal/chats/999999").status_code == 404


def test_patients_and_staff_stay_in_their_own_parts(app, registry, doctors):
    from core.testing import login_session

    patient = app.test_client()
    enter(patient)
    assert patient.get("/workplace/").status_code == 403
    staff = app.test_client()
    login_session(staff, doctors["терапевт"])
    for url in ("/portal/", "/portal/chats", "/portal/access", "/portal/requests", "/portal/requests/new"):
        assert staff.get(url).status_code == 403, url
    assert staff.post_form("/portal/consent", {"version_id": 1, "agree": "yes"}).status_code == 403


# --------------------------------------------------------------------------- requests (P7)


def request_form(browser, url="/portal/requests/new"):
    page = browser.get(url)
    assert page.status_code == 200
    return page.get_data(as_text=True)


VALID = {
    "who": "self",
    "last_name": "Смирнова",
    "first_name": "Ольга",
    "middle_name": "Викторовна",
    "birth_date": "1990-11-05",
    "phone": "8 (921) 555-01-03",
    "email": "smirnova.olga@example.ru",
    "profile_id": "0",
    "comment": "Повышенное давление по утрам",
}


def test_a_request_is_stored_for_the_patient_organisation_and_its_status_shown(app, browser, registry):
    patient = registry.patients[STANDARD]
    with addresses(app) as seen:
        enter(browser)
        page = request_form(browser)
        assert 'value="Смирнова"' in page and f'value="{patient.oms_policy}"' in page  # prefilled
        response = browser.post_form("/portal/requests/new", dict(VALID, oms_policy=patient.oms_policy))
        assert response.status_code == 302
        assert "Принята, ожидает обработки" in browser.get(response.location).get_data(as_text=True)
    # The policy and SNILS travel in form bodies only, never in an address the browser (or
    # the server, towards ESIA) went through: login, form, submission, redirects.
    assert {"/esia/callback", "/portal/requests/new", "/portal/requests"} <= {urlsplit(u).path for u in seen}
    assert not [u for u in seen if patient.oms_policy in u or patient.snils in u]
    db.session.delete(db.session.scalar(sa.select(RecordRequest)))
    db.session.commit()

    bad = dict(VALID, oms_policy="1234567890123456", email="не-почта", phone="12")
    response = browser.post_form("/portal/requests/new", bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "контрольная цифра" in text and "Проверьте адрес электронной почты" in text and "10 цифр" in text
    assert db.session.scalar(sa.select(sa.func.count(RecordRequest.id))) == 0

    response = browser.post_form("/portal/requests/new", dict(VALID, oms_policy=patient.oms_policy))
    assert response.status_code == 302
    record = db.session.scalar(sa.select(RecordRequest))
    assert record.organisation_id == registry.organisation.id
    assert (record.last_name, record.phone, record.oms_policy) == ("Смирнова", "+79215550103", patient.oms_policy)
    assert record.status == RecordRequest.NEW and not record.for_child
    page = browser.get("/portal/requests").get_data(as_text=True)
    assert "Принята, ожидает обработки" in page
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "record_request.created")) is not None

    again = browser.post_form("/portal/requests/new", dict(VALID, oms_policy=patient.oms_policy))
    assert again.status_code == 409 and "уже есть" in again.get_data(as_text=True)


def test_a_tampered_choice_of_whom_is_shown(browser, registry):
    enter(browser)
    patient = registry.patients[STANDARD]
    response = browser.post_form("/portal/requests/new", dict(VALID, oms_policy=patient.oms_policy, who="neighbour"))
    assert response.status_code == 422
    assert "Выберите, для кого консультация: для себя или для ребёнка" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(RecordRequest.id))) == 0


def test_a_parent_requests_a_consultation_for_the_child(browser, registry, factory):
    child = registry.patients[PARENT + ":child"]
    child_org = factory.organisation("Детская поликлиника № 7")
    child.organisation_id = child_org.id
    db.session.commit()
    parent = registry.patients[PARENT]
    enter(browser, PARENT)
    assert "Анна Петрова" in request_form(browser)
    page = request_form(browser, f"/portal/requests/new?child={child.id}")
    assert 'value="Анна"' in page and f'value="{child.oms_policy}"' in page

    missing = dict(VALID, who="child", last_name="Петров", first_name="Сергей", middle_name="Иванович",
                   birth_date="1984-03-12", oms_policy=parent.oms_policy)
    response = browser.post_form("/portal/requests/new", missing)
    assert response.status_code == 422 and "Заполните это поле" in response.get_data(as_text=True)

    grown_up = dict(missing, child_last_name="Петрова", child_first_name="Анна", child_birth_date="1990-01-01",
                    child_oms_policy=child.oms_policy)
    assert "меньше 18 лет" in browser.post_form("/portal/requests/new", grown_up).get_data(as_text=True)

    response = browser.post_form("/portal/requests/new", dict(grown_up, child_birth_date="2019-06-02"))
    assert response.status_code == 302
    record = db.session.scalar(sa.select(RecordRequest))
    assert record.for_child and record.child_first_name == "Анна" and record.child_oms_policy == child.oms_policy
    assert record.organisation_id == child_org.id  # where the child is attached
    assert "Для ребёнка: Петрова Анна" in browser.get("/portal/requests").get_data(as_text=True)
    # Another person's child cannot be picked for prefill.
    assert browser.get(f"/portal/requests/new?child={registry.patients[STANDARD].id}").status_code == 404


# --------------------------------------------------------------------------- leaving (P8)


def test_menu_and_logout_end_work_with_the_chat(browser, registry):
    enter(browser)
    accept_consent(browser)
    page = browser.get("/portal/chats").get_data(as_text=True)
    for label, url in (("Записаться на консультацию", "/portal/requests"), ("Управление доступом", "/portal/access")):
        assert f'href="{url}"' in page and label in page
    csrf = page_csrf(page)
    response = browser.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    after = browser.get("/portal/chats")
    assert after.status_code == 302 and "/esia/login" in after.location
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.logout")).actor_type == "patient"


def test_the_portal_menu_speaks_english_too(browser, registry):
    enter(browser)
    page = browser.get("/portal/?lang=en").get_data(as_text=True)
    assert "Chat with a doctor" in page and "Access management" in page and "Request a consultation" in page


# --------------------------------------------------------------------------- behind a proxy


@pytest.mark.parametrize(("proxies", "stored"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_consent_keeps_the_forwarded_address_only_behind_trusted_proxies(make_app, proxies, stored):
    """Production runs behind a proxy: the consent must record the patient's address, not
    the proxy's; without the setting a client cannot put any address it likes there."""
    from core.models import PortalAccount
    from core.testing import Factory, enable_test_login

    app = make_app(config={"TRUSTED_PROXIES": proxies})
    enable_test_login(app)
    with app.app_context():
        patient = Factory(app).patient()
        account = PortalAccount(identity_provider="esia", external_id="proxy-test", trust_level="standard", last_name=patient.last_name,
                                first_name=patient.first_name)
        db.session.add(account)
        db.session.flush()
        patient.portal_account_id = account.id
        db.session.commit()
        browser = app.test_client()
        browser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"  # what the proxy adds
        assert browser.get(f"/_test/login/patient/{account.id}").status_code == 200
        accept_consent(browser)
        assert db.session.scalar(sa.select(ConsentAcceptance.client_address)) == stored


def test_trusted_proxies_must_be_a_count(make_app):
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        make_app(config={"TRUSTED_PROXIES": -1})


# --------------------------------------------------------------------------- the journal end to end (P7)


def _leave_request(browser, patient):
    response = browser.post_form("/portal/requests/new", dict(VALID, oms_policy=patient.oms_policy))
    assert response.status_code == 302, response.get_data(as_text=True)


def _staff(app, user):
    from core.testing import PASSWORD

    client = app.test_client()
    assert client.login(user.login, PASSWORD).status_code == 302
    return client


def _journal_request_id(staff, name):
    import re

    page = staff.get("/workplace/record-requests").get_data(as_text=True)
    assert name in page and "Оформить заявку" in page
    return int(re.search(r'/workplace/record-requests/(\d+)/register', page).group(1))


def _remote_patient_type():
    from core.models import ConsultationType

    return db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == "remote_patient"))


def _finish_wizard(staff, doctor, slot, email_expected):
    """From the confirmed patient to «Сохранить»: e-mail, consultant, slot."""
    email_page = staff.get("/workplace/new/email").get_data(as_text=True)
    assert email_expected in email_page and "Повышенное давление по утрам" in email_page  # from the request
    staff.post_form("/workplace/new/email", {"email": email_expected, "comment": "Повышенное давление по утрам"})
    staff.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    created = staff.post_form("/workplace/new/slot", {"slot_id": slot.id})
    assert created.status_code == 302 and "/workplace/applications/" in created.location, created.get_data(as_text=True)
    return staff.get(created.location).get_data(as_text=True)


def test_a_request_goes_from_the_portal_to_a_registered_application_and_an_e_mail(app, browser, registry, factory):
    """The guide's way (seed 000 §3, SPEC P7): the patient leaves a request, staff see it in
    the journal, «Оформить заявку» starts the wizard prefilled, the application is registered,
    the request shows «Зарегистрирована» and the e-mail goes out."""
    from core.models import Consultation
    from tests.notifications.helpers import outbox, text_of

    patient = registry.patients[STANDARD]
    doctor = factory.doctor(organisation=registry.organisation, login="morozov", last_name="Морозов", specialty="кардиолог")
    slot = factory.slot(doctor)
    enter(browser)
    _leave_request(browser, patient)

    staff = _staff(app, doctor)
    request_id = _journal_request_id(staff, "Смирнова Ольга")
    started = staff.post_form(f"/workplace/record-requests/{request_id}/register")
    assert started.location.endswith("/workplace/new/type")
    ctype = _remote_patient_type()
    staff.post_form("/workplace/new/type", {"type_id": ctype.id})
    to_confirm = staff.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    assert to_confirm.location.endswith("/workplace/new/confirm")  # the patient found from the request
    assert "Смирнова Ольга Викторовна" in staff.get("/workplace/new/confirm").get_data(as_text=True)
    staff.post_form("/workplace/new/confirm")
    card = _finish_wizard(staff, doctor, slot, "smirnova.olga@example.ru")
    assert "создана и поставлена в расписание" in card and "осталась в журнале" not in card

    consultation = db.session.scalar(sa.select(Consultation))
    assert consultation.patient_id == patient.id
    page = browser.get("/portal/requests").get_data(as_text=True)
    assert "Зарегистрирована" in page and f'href="/portal/chats/{consultation.id}"' in page
    assert "Новых заявок нет" in staff.get("/workplace/record-requests").get_data(as_text=True)
    [mail] = [m for m in outbox(app) if "зарегистрирована" in m["Subject"]]
    assert mail["To"] == "smirnova.olga@example.ru" and "Повышенное давление по утрам" in text_of(mail)


def test_an_application_for_someone_else_leaves_the_request_in_the_journal(app, browser, registry, factory):
    patient = registry.patients[STANDARD]
    somebody = factory.patient(organisation=registry.organisation, last_name="Другова", first_name="Вера")
    doctor = factory.doctor(organisation=registry.organisation, login="sokolova")
    enter(browser)
    _leave_request(browser, patient)
    staff = _staff(app, doctor)
    request_id = _journal_request_id(staff, "Смирнова Ольга")
    staff.post_form(f"/workplace/record-requests/{request_id}/register")
    ctype = _remote_patient_type()
    staff.post_form("/workplace/new/type", {"type_id": ctype.id})
    staff.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    # The doctor looks up another person instead of the one found from the request.
    staff.post_form("/workplace/new/patient", {"kind": "snils", "identifier": somebody.snils})
    staff.post_form("/workplace/new/confirm")
    card = _finish_wizard(staff, doctor, factory.slot(doctor), "smirnova.olga@example.ru")
    assert "создана и поставлена в расписание" in card
    assert "осталась в журнале: она подана для другого пациента, а консультация оформлена на Другова Вера" in card

    row = db.session.get(RecordRequest, request_id)
    db.session.refresh(row)
    assert row.status == RecordRequest.NEW and row.consultation_id is None
    assert "Принята, ожидает обработки" in browser.get("/portal/requests").get_data(as_text=True)
    assert "Смирнова Ольга" in staff.get("/workplace/record-requests").get_data(as_text=True)


def test_staff_turn_a_request_down_with_a_reason_the_patient_sees(app, browser, registry, factory):
    patient = registry.patients[STANDARD]
    enter(browser)
    _leave_request(browser, patient)
    registrar = factory.user(roles=("registrar",), organisation=registry.organisation, login="kravtsova")
    staff = _staff(app, registrar)
    page = staff.get("/workplace/record-requests").get_data(as_text=True)
    # the registrar turns requests down and registers them too (the patient guide: a call to the registry)
    assert "Отклонить заявку" in page and "Оформить заявку" in page
    row = db.session.scalar(sa.select(RecordRequest))
    url = f"/workplace/record-requests/{row.id}/reject"

    empty = staff.post_form(url, {"reason": "   "})
    assert empty.status_code == 422 and "Укажите причину отказа" in empty.get_data(as_text=True)
    too_long = staff.post_form(url, {"reason": "я" * 501})
    assert too_long.status_code == 422 and "не длиннее 500 символов" in too_long.get_data(as_text=True)
    outsider = _staff(app, factory.user(roles=("registrar",), organisation=factory.organisation(), login="chuzhoy"))
    assert outsider.post_form(url, {"reason": "Не наша поликлиника"}).status_code == 404
    db.session.refresh(row)
    assert row.status == RecordRequest.NEW

    reason = "Консультация кардиолога у нас не проводится: запишитесь в городской кардиологический центр."
    done = staff.post_form(url, {"reason": reason})
    assert done.status_code == 302
    db.session.refresh(row)
    assert (row.status, row.rejection_reason, row.handled_by_id) == (RecordRequest.REJECTED, reason, registrar.id)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "record_request.rejected"))
    page = browser.get("/portal/requests").get_data(as_text=True)
    assert "Отклонена" in page and reason in page
    assert "Новых заявок нет" in staff.get("/workplace/record-requests").get_data(as_text=True)
    assert staff.post_form(url, {"reason": "ещё раз"}).status_code == 409
