"""Reference data every deployment starts with; ``teleconsult db upgrade`` keeps it present.

Only missing entries are added: whatever the operator edited stays as it is.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from core.db import db, utcnow
from core.models import CompletionReason, ConsentVersion, FaqEntry, MedicalProfile, Role
from core.routing import sync_consultation_types

PROFILES_CSV = Path(__file__).parent / "data" / "profiles.csv"

ROLES = [
    (Role.DOCTOR, "Врач"),
    (Role.REGISTRAR, "Регистратор"),
    (Role.OPERATOR, "Оператор (администратор)"),
]

COMPLETION_REASONS = [
    ("no_show", "Пациент не вышел на связь"),
    ("insufficient_data", "Недостаточно данных для заключения"),
    ("patient_refused", "Пациент отказался от консультации"),
    ("technical", "Технические проблемы связи"),
    ("in_person_needed", "Требуется очный приём"),
    ("duplicate", "Заявка создана повторно"),
]

# «Помощь» of the workplace (SPEC D2): seeded once, then the operator's to edit.
DOCTOR_FAQ = [
    (
        "Как создать дистанционную консультацию с пациентом?",
        "Нажмите «Подать заявку», на вкладке «Общие» выберите тип консультации и профиль, нажмите "
        "«Далее». Найдите пациента по СНИЛС, номеру полиса ОМС или серии и номеру паспорта, проверьте "
        "ФИО и нажмите «Выбрать». Укажите электронную почту пациента и комментарий, выберите "
        "врача-консультанта и свободное время в его расписании, нажмите «Сохранить».",
    ),
    (
        "Пациент не находится в регистре. Что делать?",
        "Попробуйте другой документ: чаще всего в ГИС РЕГИЗ есть сведения о полисе ОМС и СНИЛС. Данные "
        "в регистр передаёт медицинская информационная система вашей организации; если пациента нет "
        "ни по одному документу, обратитесь к администратору МИС.",
    ),
    (
        "Как найти закрытую заявку?",
        "В разделе «Входящие» (или «Заявки», «Исходящие») нажмите на замочек в левом верхнем углу "
        "списка: он откроется, и в списке появятся исполненные заявки. Искать удобнее всего по "
        "фамилии пациента.",
    ),
    (
        "Как завершить консультацию без заключения?",
        "Откройте заявку и в правой панели нажмите «Завершение без заключения». Выберите причину из "
        "списка и нажмите «Далее». Чат с пациентом закроется автоматически.",
    ),
    (
        "У меня нет электронной подписи. Как передать заключение?",
        "Распечатайте заключение, подпишите его, отсканируйте и в заявке нажмите «Завершить с "
        "загрузкой заключения» → «Добавить документ» → «Далее». Принимаются файлы PDF, JPEG и PNG.",
    ),
    (
        "Как открыть своё расписание для записи?",
        "В разделе «Расписание» создайте шаблон: дни недели, часы приёма, длительность слота и "
        "перерывы. Затем нажмите «Создать слоты»: свободное время появится в мастере «Подать заявку».",
    ),
]

CONSENT_TITLE = "Информированное добровольное согласие на дистанционное консультирование"
CONSENT_TEXT = """\
Я, действуя от своего имени (или от имени несовершеннолетнего, законным представителем которого являюсь), \
даю информированное добровольное согласие на получение медицинской помощи с применением \
телемедицинских технологий в форме дистанционной консультации лечащего врача.

Мне разъяснено, что:
1. Дистанционная консультация проводится в соответствии со статьёй 36.2 Федерального закона \
от 21.11.2011 № 323-ФЗ «Об основах охраны здоровья граждан в Российской Федерации» и порядком \
организации и оказания медицинской помощи с применением телемедицинских технологий.
2. Консультация проводится в форме обмена сообщениями, файлами и видеосвязи; врач вправе \
завершить её без заключения, если полученных сведений недостаточно, и рекомендовать очный приём.
3. Дистанционная консультация не заменяет экстренную медицинскую помощь. При угрожающих жизни \
состояниях необходимо звонить по номеру 103 или 112.
4. Сведения, переданные мной в ходе консультации, составляют врачебную тайну, обрабатываются \
в государственной информационной системе и хранятся в медицинской документации.
5. Для консультации необходимы исправные камера, микрофон и устойчивое подключение к сети \
Интернет; качество связи зависит от моего оборудования и канала связи.
6. Я вправе отказаться от дистанционной консультации в любой момент, сообщив об этом врачу.

Я подтверждаю, что ознакомлен(а) с изложенным и согласен(на) на проведение дистанционной консультации.
"""


def sync_reference_data() -> dict[str, int]:
    """Add missing roles, profiles, completion reasons, the first consent text and the
    consultation types that routes declare. Returns counts of what was added."""
    added = {"roles": 0, "profiles": 0, "completion_reasons": 0, "consent": 0}
    roles = set(db.session.scalars(sa.select(Role.code)))
    for code, name in ROLES:
        if code not in roles:
            db.session.add(Role(code=code, name=name))
            added["roles"] += 1
    profiles = set(db.session.scalars(sa.select(MedicalProfile.code)))
    with PROFILES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["code"] not in profiles:
                db.session.add(
                    MedicalProfile(code=row["code"], name=row["name"], specialty=row["specialty"])
                )
                added["profiles"] += 1
    reasons = set(db.session.scalars(sa.select(CompletionReason.code)))
    for order, (code, name) in enumerate(COMPLETION_REASONS):
        if code not in reasons:
            db.session.add(CompletionReason(code=code, name=name, sort_order=order * 10))
            added["completion_reasons"] += 1
    if db.session.scalar(sa.select(sa.func.count(ConsentVersion.id))) == 0:
        db.session.add(
            ConsentVersion(version=1, title=CONSENT_TITLE, text=CONSENT_TEXT, published_at=utcnow())
        )
        added["consent"] = 1
    if db.session.scalar(sa.select(sa.func.count(FaqEntry.id))) == 0:
        for order, (question, answer) in enumerate(DOCTOR_FAQ):
            db.session.add(FaqEntry(audience="doctor", question=question, answer=answer, sort_order=order * 10))
    db.session.flush()
    added["consultation_types"] = sync_consultation_types()
    db.session.flush()
    return added
