"""The list of accredited certification centres as Минцифры publishes it (TSL.xml):

    <АккредитованныеУдостоверяющиеЦентры>
      <Версия>…</Версия><Дата>…</Дата>
      <УдостоверяющийЦентр>
        <Название>…</Название><КраткоеНазвание>…</КраткоеНазвание><ОГРН>…</ОГРН>
        <СтатусАккредитации><Статус>Действует</Статус>…</СтатусАккредитации>
        <ПрограммноАппаратныеКомплексы><ПрограммноАппаратныйКомплекс>
          <КлючиУполномоченныхЛиц><Ключ>
            <ИдентификаторКлюча>…</ИдентификаторКлюча>
            <АдресаСписковОтзыва><Адрес>…</Адрес></АдресаСписковОтзыва>
            <Сертификаты><ДанныеСертификата>
              <Отпечаток>…</Отпечаток><СерийныйНомер>…</СерийныйНомер>
              <ПериодДействияС>…</ПериодДействияС><ПериодДействияДо>…</ПериодДействияДо>
              <Данные>base64 DER</Данные>
            </ДанныеСертификата></Сертификаты>
          </Ключ></КлючиУполномоченныхЛиц>
        </ПрограммноАппаратныйКомплекс></ПрограммноАппаратныеКомплексы>
      </УдостоверяющийЦентр> …
    </АккредитованныеУдостоверяющиеЦентры>

Only centres whose accreditation «Действует» give trusted certificates.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from plugins.esignature.certs import Certificate, CertificateError

ACTIVE = "Действует"


class TrustListError(ValueError):
    """A file that is not the list (the message is Russian, for the operator)."""


@dataclass
class Centre:
    name: str
    ogrn: str | None
    active: bool
    certificates: list[Certificate] = field(default_factory=list)
    crl_urls: list[str] = field(default_factory=list)


@dataclass
class ParsedList:
    version: str
    date: str
    centres: list[Centre]


def _text(element, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None


def parse(data: bytes) -> ParsedList:
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data[:65536]:
        raise TrustListError("Файл содержит объявления DTD: такой список не принимается")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as problem:
        raise TrustListError(f"Файл не является XML: {problem}") from None
    if root.tag != "АккредитованныеУдостоверяющиеЦентры":
        raise TrustListError("Это не список аккредитованных удостоверяющих центров Минцифры (корневой элемент «АккредитованныеУдостоверяющиеЦентры»)")
    version = _text(root, "Версия")
    if not version:
        raise TrustListError("В списке нет номера версии («Версия»)")
    centres = []
    for element in root.findall("УдостоверяющийЦентр"):
        status = _text(element, "СтатусАккредитации/Статус")
        centre = Centre(
            name=_text(element, "КраткоеНазвание") or _text(element, "Название") or "",
            ogrn=_text(element, "ОГРН"),
            active=(status or ACTIVE) == ACTIVE,
        )
        for key in element.iterfind("ПрограммноАппаратныеКомплексы/ПрограммноАппаратныйКомплекс/КлючиУполномоченныхЛиц/Ключ"):
            centre.crl_urls += [a.text.strip() for a in key.iterfind("АдресаСписковОтзыва/Адрес") if a.text]
            for item in key.iterfind("Сертификаты/ДанныеСертификата"):
                raw = _text(item, "Данные")
                if not raw:
                    continue
                try:
                    certificate = Certificate(base64.b64decode("".join(raw.split()), validate=True))
                except (binascii.Error, ValueError, CertificateError):
                    raise TrustListError(
                        f"Сертификат «{_text(item, 'Отпечаток') or '?'}» центра «{centre.name}» повреждён"
                    ) from None
                centre.certificates.append(certificate)
        centres.append(centre)
    if not centres:
        raise TrustListError("В списке нет ни одного удостоверяющего центра")
    return ParsedList(version=version, date=_text(root, "Дата") or "", centres=centres)
