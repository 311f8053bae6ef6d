"""The pre-call check «Проверка связи» (SPEC P5, D8): which of the guide's six causes of a
failed video call applies (guide 000 §5.3, 002 §6.3), in the guide's own words.

The browser reports what it saw (``static/video/check.js``): the media errors of the
camera and the microphone (the error of ``getUserMedia``, not ``permissions.query``,
which answers "prompt" for a denied device), whether WebRTC is there at all, how many
relay (or server-reflexive) candidates a relay-only connection through the deployment's
TURN gathered, how many distinct non-loopback IPv4 host addresses the computer has (a
count, no address leaves the browser), the round trip to the server and, as Jitsi's
pre-call test does, a relay-only loopback through the TURN: whether it connects, the
throughput it carries and the share of packets lost. ``classify``
turns that and the browser's User-Agent into one cause; the result is stored for the
consultation so the doctor sees it before calling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from core import audit
from core.access import Principal
from core.db import db
from core.errors import InvalidInput
from core.models import Consultation
from plugins.video.models import VideoCheck

# The order in which causes are named: the first that applies is the answer.
OK, REFRESH, PERMISSION, BUSY, BROWSER, NETWORK, ADAPTERS = (
    "ok", "refresh", "permission", "busy", "browser", "network", "adapters")
CAUSES = (REFRESH, PERMISSION, BUSY, BROWSER, NETWORK, ADAPTERS)

# The guide's supported browsers and their lowest versions (guide 000 §2, 002 §2);
# Internet Explorer is not supported at all.
MIN_VERSIONS = {"Chrome": 54, "Yandex": 14, "Firefox": 54, "Opera": 30, "Edge": 41}
_BROWSERS = (  # the first match names the browser (Yandex and Opera and Edge say "Chrome" too)
    ("Yandex", re.compile(r"YaBrowser/(\d+)")),
    ("Opera", re.compile(r"(?:OPR|Opera)/(\d+)")),
    ("Edge", re.compile(r"Edge?/(\d+)")),
    ("Firefox", re.compile(r"Firefox/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|Chromium|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/")),
)

# What a media error means. A browser that blocks the device says NotAllowedError (old
# ones PermissionDeniedError, SecurityError on an insecure page); a device another
# program holds gives NotReadableError (TrackStartError in old Chrome).
MEDIA_KINDS = {
    "NotAllowedError": "denied", "PermissionDeniedError": "denied", "SecurityError": "denied",
    "NotReadableError": "busy", "TrackStartError": "busy", "AbortError": "busy",
    "NotFoundError": "missing", "DevicesNotFoundError": "missing", "OverconstrainedError": "missing",
}
MEDIA_STATES = ("ok", "denied", "busy", "missing", "error", "unsupported")
NETWORK_STATES = ("relay", "srflx", "blocked", "unknown")

# The guide's words (000 §5.3, 002 §6.3), then what to do.
GUIDE = {
    REFRESH: _l("Обновите страницу несколько раз."),
    PERMISSION: _l("Проверьте разрешения браузера на работу с веб-камерой и микрофоном. Значки камеры и микрофона "
                   "должны быть зелеными! Если камера или микрофон серые и/или перечеркнуты – то видео и звук с них "
                   "не транслируются."),
    BUSY: _l("Проверьте, что камера и микрофон не используются в другой программе. Камера и микрофон могут быть "
             "заняты в Skype, Zoom или подобных приложениях. Попробуйте выйти из приложения и обновите страницу "
             "видеосвязи с врачом."),
    BROWSER: _l("Подключитесь из другого браузера – рекомендуем Chrome и FireFox последних версий."),
    NETWORK: _l("Блокировать видео могут: антивирусы, межсетевые экраны (Firewalls), расширения браузера для "
                "блокировки рекламы (например, AdBlock). Попробуйте их отключить и обновите страницу видеосвязи "
                "с врачом."),
    ADAPTERS: _l("Блокировка видео также может происходить, если на компьютере одновременно работают 2 или более "
                 "сетевых адаптера, то есть он подключен сразу к нескольким сетям."),
}
REMEDY = {
    REFRESH: _l("Проверьте, что веб-камера и гарнитура подключены, и обновите страницу. Если не помогло — "
                "перезапустите браузер."),
    PERMISSION: _l("Нажмите на значок камеры (или замка) в адресной строке, выберите «Разрешить» для камеры и "
                   "микрофона и обновите страницу."),
    BUSY: _l("Закройте Skype, Zoom и другие программы, которые могут использовать камеру, и нажмите "
             "«Проверить снова»."),
    BROWSER: _l("Откройте эту страницу в Google Chrome или Mozilla Firefox. Internet Explorer не поддерживается."),
    NETWORK: _l("Камера и микрофон работают, но видеосвязь до сервера не проходит. Отключите блокировщик рекламы "
                "для этого сайта, проверьте антивирус и межсетевой экран или попробуйте другую сеть."),
    ADAPTERS: _l("Отключите лишние сетевые подключения (второй Wi-Fi, VPN, кабель) и нажмите «Проверить снова»."),
}
HEADLINES = {
    OK: _l("Всё в порядке: камера, микрофон и связь работают"),
    REFRESH: _l("Не удалось включить камеру или микрофон"),
    PERMISSION: _l("Браузер заблокировал камеру или микрофон"),
    BUSY: _l("Камера или микрофон заняты другой программой"),
    BROWSER: _l("Этот браузер не подходит для видеосвязи"),
    NETWORK: _l("Видео не проходит через сеть"),
    ADAPTERS: _l("Компьютер подключён сразу к нескольким сетям"),
}
MISSING_HEADLINE = _l("Камера или микрофон не найдены")

# What the doctor reads in the chat header and the call window.
FOR_DOCTOR = {
    OK: _l("Проверка связи у пациента пройдена"),
    REFRESH: _l("У пациента не удалось включить камеру или микрофон"),
    BUSY: _l("У пациента камера или микрофон заняты другой программой"),
    BROWSER: _l("У пациента неподходящий браузер"),
    NETWORK: _l("У пациента видео блокируется в сети (антивирус, межсетевой экран или блокировщик рекламы)"),
    ADAPTERS: _l("У пациента несколько сетевых адаптеров: видео может блокироваться"),
}
DENIED_FOR_DOCTOR = {
    (True, True): _l("У пациента заблокированы камера и микрофон"),
    (True, False): _l("У пациента заблокирована камера"),
    (False, True): _l("У пациента заблокирован микрофон"),
}
MISSING_FOR_DOCTOR = _l("У пациента не найдена камера или микрофон")

QUALITY = {
    "good": _l("видео будет хорошим"),
    "fair": _l("возможны задержки изображения и звука"),
    "poor": _l("связь медленная, видео будет прерываться"),
}
RTT_FIGURE = _l("Задержка до сервера %(ms)s мс")
THROUGHPUT_FIGURE = _l("скорость через сервер связи %(kbps)s кбит/с")
LOSS_FIGURE = _l("потери %(pct)s %%")
# (good below / at least, fair below / at least): a 640×480 call wants about 1 Mbit/s.
RTT_MARKS, THROUGHPUT_MARKS, LOSS_MARKS = (150, 400), (1000, 300), (2.0, 5.0)
NO_PATH = _l("Видеосвязь через эту сеть не установится")


def browser_of(user_agent: str) -> tuple[str, int | None, bool]:
    """(name with version for people, major version, supported by the guide)."""
    user_agent = user_agent or ""
    if "MSIE " in user_agent or "Trident/" in user_agent:
        return "Internet Explorer", None, False
    for name, pattern in _BROWSERS:
        found = pattern.search(user_agent)
        if found:
            version = int(found.group(1))
            minimum = MIN_VERSIONS.get(name)
            return f"{name} {version}", version, minimum is None or version >= minimum
    return "", None, True  # unknown: what the browser can do decides


def media_state(value: Any) -> str:
    """"ok", or what a media error (its DOMException name) means."""
    if value in (None, ""):
        return "unsupported"
    if value == "ok":
        return "ok"
    return MEDIA_KINDS.get(str(value), "error")


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise InvalidInput(_l("Некорректный результат проверки"))
    return value


@dataclass
class Verdict:
    cause: str
    adapters_warning: bool
    camera: str
    microphone: str
    network: str
    rtt_ms: int | None
    throughput_kbps: int | None
    loss_pct: float | None
    browser: str


def classify(facts: dict, user_agent: str) -> Verdict:
    """The one cause of the guide that applies to what the browser reported."""
    browser, _version, supported = browser_of(user_agent)
    webrtc = facts.get("webrtc") is True and facts.get("media_api") is True
    camera, microphone = media_state(facts.get("camera")), media_state(facts.get("microphone"))
    relay, srflx, hosts = _count(facts.get("relay")), _count(facts.get("srflx")), _count(facts.get("hosts")) or 0
    rtt = facts.get("rtt_ms")
    if rtt is not None:
        if isinstance(rtt, bool) or not isinstance(rtt, (int, float)) or not 0 <= rtt <= 600_000:
            raise InvalidInput(_l("Некорректный результат проверки"))
        rtt = int(round(rtt))
    throughput, loss = facts.get("throughput_kbps"), facts.get("loss")
    if throughput is not None:
        if isinstance(throughput, bool) or not isinstance(throughput, (int, float)) or not 0 <= throughput <= 10_000_000:
            raise InvalidInput(_l("Некорректный результат проверки"))
        throughput = int(round(throughput))
    if loss is not None:
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0 <= loss <= 1:
            raise InvalidInput(_l("Некорректный результат проверки"))
        loss = round(loss * 100, 1)
    turn_ok = facts.get("turn_ok")
    if turn_ok not in (None, True, False):
        raise InvalidInput(_l("Некорректный результат проверки"))
    if relay is not None:
        # A relay candidate through a TURN that then carries nothing is a blocked path too.
        network = "relay" if relay and turn_ok is not False else "blocked"
    elif srflx is not None:
        network = "srflx" if srflx else "blocked"
    else:
        network = "unknown"  # the deployment has no STUN or TURN to test against
    devices = (camera, microphone)
    if not supported or not webrtc or "unsupported" in devices:
        cause = BROWSER
    elif "denied" in devices:
        cause = PERMISSION
    elif "busy" in devices:
        cause = BUSY
    elif any(d != "ok" for d in devices):
        cause = REFRESH
    elif network == "blocked":
        cause = NETWORK
    elif hosts >= 2:
        cause = ADAPTERS
    else:
        cause = OK
    if network == "blocked":
        throughput = loss = None
    return Verdict(cause, hosts >= 2, camera, microphone, network, rtt, throughput, loss, browser[:40])


def _mark(value, marks, higher_is_better=False) -> int:
    """0 good, 1 fair, 2 poor."""
    good, fair = marks
    if higher_is_better:
        return 0 if value >= good else 1 if value >= fair else 2
    return 0 if value < good else 1 if value < fair else 2


def quality_of(check: VideoCheck) -> str:
    """What was measured and whether video will be good: the worst of the round trip to
    the server, the throughput and the loss through the TURN."""
    if check.network == "blocked":
        return str(NO_PATH)
    figures, marks = [], []
    if check.rtt_ms is not None:
        figures.append(str(RTT_FIGURE % {"ms": check.rtt_ms}))
        marks.append(_mark(check.rtt_ms, RTT_MARKS))
    if check.throughput_kbps is not None:
        figures.append(str(THROUGHPUT_FIGURE % {"kbps": check.throughput_kbps}))
        marks.append(_mark(check.throughput_kbps, THROUGHPUT_MARKS, higher_is_better=True))
    if check.loss_pct is not None:
        figures.append(str(LOSS_FIGURE % {"pct": f"{check.loss_pct:g}".replace(".", ",")}))
        marks.append(_mark(check.loss_pct, LOSS_MARKS))
    if not figures:
        return ""
    text = ", ".join(figures)
    return f"{text[0].upper()}{text[1:]}: {QUALITY[('good', 'fair', 'poor')[max(marks)]]}"


def headline_of(check: VideoCheck) -> str:
    if check.cause == REFRESH and "missing" in (check.camera, check.microphone):
        return str(MISSING_HEADLINE)
    return str(HEADLINES[check.cause])


def for_doctor(check: VideoCheck) -> str:
    """«У пациента заблокирована камера»: the check in one line for the doctor."""
    if check.cause == PERMISSION:
        return str(DENIED_FOR_DOCTOR[(check.camera == "denied", check.microphone == "denied")])
    if check.cause == REFRESH and "missing" in (check.camera, check.microphone):
        return str(MISSING_FOR_DOCTOR)
    text = str(FOR_DOCTOR[check.cause])
    if check.cause == BROWSER and check.browser:
        text += f" ({check.browser})"
    return text


def view(check: VideoCheck) -> dict:
    """What the check page shows: the cause in the guide's words and what to do."""
    advice = []
    if check.cause in GUIDE:
        advice.append({"cause": check.cause, "number": CAUSES.index(check.cause) + 1,
                       "guide": str(GUIDE[check.cause]), "todo": str(REMEDY[check.cause])})
    if check.adapters_warning and check.cause != ADAPTERS:
        advice.append({"cause": ADAPTERS, "number": CAUSES.index(ADAPTERS) + 1,
                       "guide": str(GUIDE[ADAPTERS]), "todo": str(REMEDY[ADAPTERS])})
    return {"id": check.id, "cause": check.cause, "headline": headline_of(check), "advice": advice,
            "quality": quality_of(check), "camera": check.camera, "microphone": check.microphone,
            "network": check.network, "rtt_ms": check.rtt_ms, "throughput_kbps": check.throughput_kbps,
            "loss_pct": check.loss_pct, "browser": check.browser,
            "adapters_warning": check.adapters_warning}


def record(consultation: Consultation, principal: Principal, facts: dict, user_agent: str) -> VideoCheck:
    verdict = classify(facts, user_agent)
    person = {"user_id": principal.id} if principal.is_staff else {"patient_id": consultation.patient_id}
    check = VideoCheck(consultation_id=consultation.id, cause=verdict.cause, adapters_warning=verdict.adapters_warning,
                       camera=verdict.camera, microphone=verdict.microphone, network=verdict.network,
                       rtt_ms=verdict.rtt_ms, throughput_kbps=verdict.throughput_kbps, loss_pct=verdict.loss_pct,
                       browser=verdict.browser, **person)
    db.session.add(check)
    db.session.flush()
    audit.record("video.checked", check, consultation_id=consultation.id, principal=principal,
                 data={"cause": check.cause, "camera": check.camera, "microphone": check.microphone,
                       "network": check.network, "adapters_warning": check.adapters_warning,
                       "throughput_kbps": check.throughput_kbps, "loss_pct": check.loss_pct})
    return check


def latest_of_patient(consultation: Consultation) -> VideoCheck | None:
    """The patient's (or representative's) last check in the consultation."""
    return db.session.scalar(
        sa.select(VideoCheck).where(VideoCheck.consultation_id == consultation.id, VideoCheck.patient_id.is_not(None))
        .order_by(VideoCheck.id.desc()).limit(1)
    )
