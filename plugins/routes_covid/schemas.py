"""The fields of the COVID-19 / ORVI / flu / community-acquired pneumonia route (SPEC D6).

Application: what the temporary guidelines of the Ministry of Health («Профилактика,
диагностика и лечение новой коронавирусной инфекции (COVID-19)», Временные методические
рекомендации Минздрава России) ask to assess in a patient treated at home. Conclusion:
diagnosis (ICD-10), severity, the decision, recommendations, monitoring, the next contact.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core import routeforms

SYMPTOMS = (
    ("cough", _l("Кашель")),
    ("dyspnoea", _l("Одышка, чувство нехватки воздуха")),
    ("sore_throat", _l("Боль в горле")),
    ("rhinitis", _l("Заложенность носа, насморк")),
    ("anosmia", _l("Снижение или потеря обоняния, вкуса")),
    ("weakness", _l("Слабость, утомляемость")),
    ("headache", _l("Головная боль")),
    ("myalgia", _l("Боль в мышцах")),
    ("chest_pain", _l("Боль или заложенность в грудной клетке")),
    ("diarrhoea", _l("Диарея, тошнота, рвота")),
    ("confusion", _l("Спутанность сознания")),
    ("none", _l("Жалоб нет")),
)
CONTACT = (("yes", _l("Да")), ("no", _l("Нет")), ("unknown", _l("Неизвестно")))
TESTS = (("pcr", _l("ПЦР")), ("antigen", _l("Экспресс-тест на антиген")), ("none", _l("Не проводился")))
RESULTS = (("positive", _l("Положительный")), ("negative", _l("Отрицательный")), ("pending", _l("Ожидается")))
VACCINATION = (
    ("full", _l("Вакцинирован(а), полный курс")),
    ("partial", _l("Вакцинирован(а) частично")),
    ("revaccinated", _l("Ревакцинирован(а) за последние 6 месяцев")),
    ("none", _l("Не вакцинирован(а)")),
    ("unknown", _l("Нет сведений")),
)
RISK_FACTORS = (
    ("age_60", _l("Возраст 60 лет и старше")),
    ("cardiovascular", _l("Сердечно-сосудистые заболевания, артериальная гипертензия")),
    ("diabetes", _l("Сахарный диабет")),
    ("lung", _l("Хронические заболевания лёгких (ХОБЛ, бронхиальная астма)")),
    ("obesity", _l("Ожирение")),
    ("kidney", _l("Хроническая болезнь почек")),
    ("oncology", _l("Онкологическое заболевание")),
    ("immunosuppression", _l("Иммунодефицит, иммуносупрессивная терапия")),
    ("pregnancy", _l("Беременность")),
)
DIAGNOSES = (
    ("U07.1", _l("U07.1 COVID-19, вирус идентифицирован")),
    ("U07.2", _l("U07.2 COVID-19, вирус не идентифицирован")),
    ("J06.9", _l("J06.9 Острая инфекция верхних дыхательных путей неуточнённая (ОРВИ)")),
    ("J10", _l("J10 Грипп, вызванный идентифицированным вирусом гриппа")),
    ("J11", _l("J11 Грипп, вирус не идентифицирован")),
    ("J12", _l("J12 Вирусная пневмония")),
    ("J18", _l("J18 Пневмония без уточнения возбудителя")),
)
SEVERITY = (
    ("mild", _l("Лёгкая")),
    ("moderate", _l("Средней тяжести")),
    ("severe", _l("Тяжёлая")),
    ("critical", _l("Крайне тяжёлая")),
)
DECISIONS = (
    ("ambulatory", _l("Продолжить лечение амбулаторно (на дому)")),
    ("hospitalisation", _l("Направить на госпитализацию")),
    ("ambulance", _l("Вызвать скорую медицинскую помощь")),
)


class CovidApplication(routeforms.RouteSchema):
    onset_date = routeforms.date(_l("Дата появления симптомов"), required=True, not_future=True)
    temperature_max = routeforms.number(_l("Максимальная температура тела"), required=True, minimum=34, maximum=43, unit="°C")
    temperature_now = routeforms.number(_l("Температура тела сейчас"), required=True, minimum=34, maximum=43, unit="°C")
    spo2 = routeforms.integer(
        _l("SpO2 в покое"), required=True, minimum=50, maximum=100, unit="%",
        hint=_l("Сатурация по пульсоксиметру, в покое, на воздухе"),
    )
    breathing_rate = routeforms.integer(_l("Частота дыхательных движений"), required=True, minimum=5, maximum=80, unit=_l("в минуту"))
    pulse = routeforms.integer(_l("Пульс"), required=True, minimum=30, maximum=250, unit=_l("уд/мин"))
    bp_systolic = routeforms.integer(_l("Артериальное давление, систолическое"), minimum=40, maximum=280, unit=_l("мм рт. ст."))
    bp_diastolic = routeforms.integer(_l("Артериальное давление, диастолическое"), minimum=20, maximum=180, unit=_l("мм рт. ст."))
    symptoms = routeforms.choices(_l("Симптомы"), SYMPTOMS, required=True)
    pneumonia_suspected = routeforms.flag(_l("Подозрение на пневмонию"), hint=_l("Для оценки по шкале CRB-65"))
    contact = routeforms.choice(
        _l("Контакт с подтверждённым случаем COVID-19 за последние 14 дней"), CONTACT, required=True, widget="radio"
    )
    test_kind = routeforms.choice(_l("Тест на SARS-CoV-2"), TESTS, required=True, widget="radio")
    test_date = routeforms.date(_l("Дата теста"), not_future=True)
    test_result = routeforms.choice(_l("Результат теста"), RESULTS)
    vaccination = routeforms.choice(_l("Вакцинация против COVID-19"), VACCINATION, required=True)
    risk_factors = routeforms.choices(_l("Факторы риска тяжёлого течения"), RISK_FACTORS)
    treatment = routeforms.textarea(_l("Получаемое лечение"), hint=_l("Препараты, дозы, с какого дня"))
    weight = routeforms.number(
        _l("Масса тела ребёнка"), minimum=0.5, maximum=200, unit=_l("кг"), hint=_l("Обязательно, если пациенту нет 18 лет")
    )


class CovidConclusion(routeforms.RouteSchema):
    diagnosis_code = routeforms.choice(_l("Диагноз по МКБ-10"), DIAGNOSES, required=True)
    diagnosis_text = routeforms.text(_l("Формулировка диагноза"))
    severity = routeforms.choice(_l("Степень тяжести"), SEVERITY, required=True, widget="radio")
    decision = routeforms.choice(_l("Решение"), DECISIONS, required=True, widget="radio")
    recommendations = routeforms.textarea(_l("Рекомендации"), required=True)
    monitoring = routeforms.textarea(
        _l("План наблюдения"), required=True, hint=_l("Например: температура и SpO2 дважды в день, при SpO2 ниже 95 % — звонить 103")
    )
    next_contact = routeforms.date(_l("Дата следующего контакта"), required=True, not_past=True)
