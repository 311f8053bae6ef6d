"""Console views of the e-signature plugin (category «Электронная подпись»):
the versioned list of accredited centres (import of Минцифры's XML), the doctors'
SNILS that their certificates must carry, the CRL cache."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import validators

from admin.base import ConsoleModelView, SecureBaseView
from core import audit
from core.access import current_principal
from core.db import db
from core.validators import is_valid_snils
from plugins.esignature.models import DoctorSigner, RevocationListCache, TrustList, TrustRoot
from plugins.esignature.trustlist import TrustListError, parse

CATEGORY = _l("Электронная подпись")
MAX_LIST_SIZE = 100 * 1024 * 1024


def import_trust_list(data: bytes, source_name: str, principal) -> TrustList:
    """A new version of the list; it becomes the active one. Raises TrustListError."""
    parsed = parse(data)
    digest = hashlib.sha256(data).hexdigest()
    trust_list = TrustList(
        version=parsed.version[:50], source_name=source_name[:300], sha256=digest,
        centre_count=len(parsed.centres), active=True, imported_by_id=principal.id,
    )
    seen = set()
    for centre in parsed.centres:
        if not centre.active:
            continue
        for certificate in centre.certificates:
            if certificate.thumbprint in seen:
                continue
            seen.add(certificate.thumbprint)
            trust_list.roots.append(TrustRoot(
                centre_name=centre.name[:500], ogrn=centre.ogrn, subject=certificate.subject_text[:1000],
                thumbprint=certificate.thumbprint, not_before=certificate.not_before, not_after=certificate.not_after,
                der=certificate.der,
            ))
    trust_list.certificate_count = len(trust_list.roots)
    db.session.execute(sa.update(TrustList).values(active=False))
    db.session.add(trust_list)
    db.session.flush()
    audit.record(
        "esignature.trust_list_imported", trust_list, principal=principal,
        data={"version": trust_list.version, "centres": trust_list.centre_count,
              "certificates": trust_list.certificate_count, "sha256": digest},
    )
    return trust_list


class TrustListView(ConsoleModelView):
    audit_name = "esignature_trust_list"
    can_create = can_edit = False
    column_list = ("version", "active", "centre_count", "certificate_count", "source_name", "imported_at")
    column_labels = {
        "version": _l("Версия списка"), "active": _l("Действует"), "centre_count": _l("Центров"),
        "certificate_count": _l("Доверенных сертификатов"), "source_name": _l("Файл"), "imported_at": _l("Загружен"),
        "sha256": "SHA-256",
    }
    column_default_sort = ("id", True)
    list_template = "esignature_admin/trust_lists.html"

    @expose("/import", methods=["POST"])
    def import_view(self):
        upload = request.files.get("trust_list")
        if upload is None or not upload.filename:
            flash(_("Выберите файл списка аккредитованных УЦ (XML)"), "error")
            return redirect(url_for(".index_view"))
        data = upload.read(MAX_LIST_SIZE + 1)
        if len(data) > MAX_LIST_SIZE:
            flash(_("Файл больше 100 МБ"), "error")
            return redirect(url_for(".index_view"))
        try:
            trust_list = import_trust_list(data, upload.filename, current_principal())
        except TrustListError as problem:
            db.session.rollback()
            flash(str(problem), "error")
            return redirect(url_for(".index_view"))
        db.session.commit()
        flash(_("Загружена версия %(v)s: %(n)s доверенных сертификатов", v=trust_list.version, n=trust_list.certificate_count), "success")
        return redirect(url_for(".index_view"))


class TrustRootView(ConsoleModelView):
    audit_name = "esignature_trust_root"
    can_create = can_edit = False
    column_list = ("trust_list.version", "centre_name", "ogrn", "subject", "thumbprint", "not_after")
    column_labels = {
        "trust_list.version": _l("Версия списка"), "centre_name": _l("Удостоверяющий центр"), "ogrn": _l("ОГРН"),
        "subject": _l("Владелец сертификата"), "thumbprint": _l("Отпечаток"), "not_after": _l("Действителен до"),
    }
    column_searchable_list = ("centre_name", "thumbprint", "ogrn")
    column_exclude_list = ("der",)
    form_excluded_columns = ("der",)


class DoctorSignerView(ConsoleModelView):
    audit_name = "esignature_doctor"
    can_delete = True
    column_list = ("user", "snils")
    column_labels = {"user": _l("Врач"), "snils": _l("СНИЛС")}
    form_args = {"snils": {"label": _l("СНИЛС (11 цифр)"), "validators": [validators.InputRequired()]}}

    def validate_model(self, form, model, is_created):
        model.snils = "".join(ch for ch in (model.snils or "") if ch.isdigit())
        if not is_valid_snils(model.snils):
            raise validators.ValidationError(_("СНИЛС указан неверно: проверьте цифры и контрольное число"))


class RevocationListView(ConsoleModelView):
    audit_name = "esignature_crl"
    can_create = can_edit = False
    column_list = ("url", "issuer", "this_update", "next_update", "fetched_at", "last_error")
    column_labels = {
        "url": _l("Адрес"), "issuer": _l("Издатель"), "this_update": _l("Выпущен"), "next_update": _l("Следующий"),
        "fetched_at": _l("Получен"), "last_error": _l("Ошибка загрузки"),
    }
    column_exclude_list = ("der",)


def views():
    return [
        TrustListView(TrustList, name=_l("Списки аккредитованных УЦ"), category=CATEGORY),
        TrustRootView(TrustRoot, name=_l("Доверенные сертификаты УЦ"), category=CATEGORY),
        DoctorSignerView(DoctorSigner, name=_l("СНИЛС врачей"), category=CATEGORY),
        RevocationListView(RevocationListCache, name=_l("Списки отзыва (СОС)"), category=CATEGORY),
    ]
