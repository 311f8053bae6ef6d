"""The COVID-19 / ORVI / flu / pneumonia route (SPEC D6; seed 002 §4.1, §5.1)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from core.db import db
from core.models import CompletionReason, Consultation, ConsultationType, Document
from plugins.guardian.models import Guardianship
from core.testing import PASSWORD
from plugins.routes_covid.decision import crb65, flags

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _type(code):
    return db.session.scalar(sa.select(ConsultationType).where(ConsultationType.code == code))


def _form(**changes):
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    data = {
        "route_data.onset_date": yesterday, "route_data.temperature_max": "38,9", "route_data.temperature_now": "37,8",
        "route_data.spo2": "93", "route_data.breathing_rate": "24", "route_data.pulse": "96",
        "route_data.bp_systolic": "118", "route_data.bp_diastolic": "76",
        "route_data.symptoms": ["cough", "dyspnoea"], "route_data.contact": "yes",
        "route_data.test_kind": "pcr", "route_data.test_date": yesterday, "route_data.test_result": "positive",
        "route_data.vaccination": "none", "route_data.risk_factors": ["diabetes"],
        "route_data.treatment": "Парацетамол 500 мг при температуре выше 38,5",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _file(client, ctype, patient, doctor, slot, child=None, **changes):
    client.post_form("/workplace/new/type", {"type_id": ctype.id})
    client.post_form("/workplace/new/profile", {"profile_id": ctype.profiles[0].id})
    client.post_form("/workplace/new/patient", {"kind": "snils", "identifier": patient.snils})
    client.post_form("/workplace/new/confirm", {})
    if child is not None:
        client.post_form("/workplace/new/child", {"child_id": child.id})
    assert client.post_form("/workplace/new/email", {"email": "p@example.ru"}).location.endswith("/details")
    response = client.post_form("/workplace/new/details", _form(**changes))
    if response.status_code != 302:
        return response
    client.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    return client.post_form("/workplace/new/slot", {"slot_id": slot.id})


def test_flags_and_crb65_follow_their_thresholds():
    texts = [f.text for f in flags({"spo2": 93, "breathing_rate": 24}, date(1980, 1, 1))]
    assert texts == [
        "ЧДД 24 в минуту (больше 22): рассмотреть госпитализацию",
        "SpO2 93 % (ниже 95 %): рассмотреть госпитализацию",
    ]
    assert flags({"spo2": 95, "breathing_rate": 22}, date(1980, 1, 1)) == []
    elderly = {"pneumonia_suspected": True, "breathing_rate": 31, "symptoms": ["confusion"], "bp_systolic": 120, "bp_diastolic": 80}
    assert crb65(elderly, 70)[0] == 3
    assert crb65({"bp_diastolic": 60}, 40)[0] == 1
    shown = [f.text for f in flags(elderly, date.today().replace(year=date.today().year - 70) - timedelta(days=1))]
    assert any(t.startswith("CRB-65: 3 из 4") and t.endswith("показана срочная госпитализация") for t in shown)
    assert any("CRB-65: 0 из 4 — амбулаторное лечение возможно" == t for t in
               (f.text for f in flags({"pneumonia_suspected": True, "breathing_rate": 18}, date(1990, 5, 5))))
    # CRB-65 is a score for adults: not for a child.
    assert not any("CRB-65" in f.text for f in flags({"pneumonia_suspected": True}, date.today() - timedelta(days=3000)))


def test_the_search_finds_the_covid_types_and_the_other_types_point_to_them(client, factory):
    organisation = factory.organisation()
    factory.doctor(organisation, login="doc")
    client.login("doc", PASSWORD)
    covid = _type("covid_patient")
    twin = _type("covid_representative")
    for word in ("COVID", "ОРВИ", "грипп", "пневмония", "Пневмония"):
        page = client.get(f"/workplace/new/type?q={word}").get_data(as_text=True)
        found = set(re.findall(r'<button type="submit" name="type_id" value="(\d+)" class="choice', page))
        assert {str(covid.id), str(twin.id)} <= found, word
    others = client.get("/workplace/new/type?q=врачом").get_data(as_text=True)
    assert "ВНИМАНИЕ! Для консультирования пациентов с подозрением на новую коронавирусную инфекцию COVID-19" in others
    assert "необходимо использовать маршрут «Консультация пациента с признаками или подтвержденным диагнозом" in others


def test_filed_for_an_adult_the_flags_show_and_it_completes_with_the_upload(client, factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login="doc")
    patient = factory.patient(organisation, last_name="Гриппов", birth_date=date(1961, 4, 2))
    client.login("doc", PASSWORD)
    covid = _type("covid_patient")
    refused = _file(client, covid, patient, doctor, factory.slot(doctor), **{"route_data.spo2": "120", "route_data.symptoms": None})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Значение от 50 до 100." in text and "Отметьте хотя бы один вариант." in text
    assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0

    client.post_form("/workplace/new/restart")
    response = _file(client, covid, patient, doctor, factory.slot(doctor))
    assert response.status_code == 302, response.get_data(as_text=True)
    consultation = db.session.scalar(sa.select(Consultation))
    assert consultation.route_data["spo2"] == 93 and consultation.route_data["temperature_max"] == 38.9
    card = client.get(response.location).get_data(as_text=True)
    assert '<section class="attention" aria-labelledby="covid-flags-title" data-covid-flags>' in card
    assert "Поддержка решения" in card
    assert "ЧДД 24 в минуту (больше 22): рассмотреть госпитализацию" in card
    assert "SpO2 93 % (ниже 95 %): рассмотреть госпитализацию" in card
    assert "38,9 °C" in card and "Кашель, Одышка, чувство нехватки воздуха" in card

    upload = client.get(f"/conclusion-upload/{consultation.id}").get_data(as_text=True)
    assert "Диагноз по МКБ-10" in upload and "Вызвать скорую медицинскую помощь" in upload
    assert "рассмотреть госпитализацию" in upload  # the flags beside the decision
    missing = client.post_form(
        f"/conclusion-upload/{consultation.id}",
        {"document": (io.BytesIO(PDF), "scan.pdf"), "conclusion_data.diagnosis_code": "U07.1"},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422 and "Обязательное поле." in missing.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    next_contact = (date.today() + timedelta(days=1)).isoformat()
    done = client.post_form(
        f"/conclusion-upload/{consultation.id}",
        {"document": (io.BytesIO(PDF), "scan.pdf"), "conclusion_data.diagnosis_code": "U07.1",
         "conclusion_data.severity": "moderate", "conclusion_data.decision": "hospitalisation",
         "conclusion_data.recommendations": "Госпитализация в инфекционный стационар",
         "conclusion_data.monitoring": "Контроль SpO2 каждые 4 часа до госпитализации",
         "conclusion_data.next_contact": next_contact},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    closed = db.session.get(Consultation, consultation.id)
    assert closed.status == "closed" and closed.conclusion_data["decision"] == "hospitalisation"
    card = client.get(f"/workplace/applications/{consultation.id}").get_data(as_text=True)
    assert "U07.1 COVID-19, вирус идентифицирован" in card and "Направить на госпитализацию" in card


def test_completed_without_conclusion(client, factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login="doc")
    patient = factory.patient(organisation)
    client.login("doc", PASSWORD)
    response = _file(client, _type("covid_patient"), patient, doctor, factory.slot(doctor), **{"route_data.spo2": "97", "route_data.breathing_rate": "18"})
    consultation = db.session.scalar(sa.select(Consultation))
    assert "Поддержка решения" not in client.get(response.location).get_data(as_text=True)
    reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.active.is_(True)))
    done = client.post_form(f"/workplace/applications/{consultation.id}/complete-without-conclusion", {"reason_id": reason.id})
    assert done.status_code == 302, done.get_data(as_text=True)
    db.session.expire_all()
    closed = db.session.get(Consultation, consultation.id)
    assert closed.outcome == "no_conclusion" and closed.conclusion_data is None


def test_for_a_child_through_a_representative_the_weight_is_required(client, factory):
    organisation = factory.organisation()
    doctor = factory.doctor(organisation, login="doc")
    parent = factory.patient(organisation, last_name="Простудина")
    child = factory.patient(organisation, last_name="Простудин", birth_date=date.today() - timedelta(days=6 * 365))
    db.session.add(Guardianship(representative_id=parent.id, child_id=child.id))
    db.session.commit()
    client.login("doc", PASSWORD)
    twin = _type("covid_representative")
    refused = _file(client, twin, parent, doctor, factory.slot(doctor), child=child)
    assert refused.status_code == 422 and "Укажите массу тела ребёнка" in refused.get_data(as_text=True)
    response = client.post_form("/workplace/new/details", _form(**{"route_data.weight": "21,5"}))
    assert response.location.endswith("/workplace/new/consultant")
    client.post_form("/workplace/new/consultant", {"consultant_id": doctor.id})
    created = client.post_form("/workplace/new/slot", {"slot_id": factory.slot(doctor).id})
    assert created.status_code == 302, created.get_data(as_text=True)
    consultation = db.session.scalar(sa.select(Consultation))
    assert consultation.patient_id == child.id and consultation.representative_id == parent.id
    assert consultation.route_data["weight"] == 21.5
    card = client.get(created.location).get_data(as_text=True)
    assert "21,5 кг" in card and "рассмотреть госпитализацию" in card
