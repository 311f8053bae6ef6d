"""«Законные представители»: the operator checks a link's basis (SPEC D5, issue 12).

A link pushed by a registry import or typed in the wizard is a claim and grants nothing.
An operator of the organisation the child is attached to (or a regional operator) who has
seen the document of the representation (birth certificate, guardianship decision) attaches
its scan: the link then has a document basis and the representative acts for the child
from their next request. Ending a link ends access at once, the open chat sockets
included (they follow the access policy within ``CHAT_RECHECK_SECONDS``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import audit, params
from core.access import current_principal, require
from core.db import db, utcnow
from core.errors import Conflict, InvalidInput
from core.models import Document, Patient, Role
from core.models.registry import normalize_name
from core.storage import store_document
from core.validators import adult_cutoff
from core.documents import send_document
from admin.base import SecureBaseView
from plugins.guardian.models import Guardianship

BASIS_DOCUMENT_KIND = "guardianship_basis"
PAGE_SIZE = 200

SOURCE_TITLES = {
    "import": _l("загрузка из МИС"),
    "wizard": _l("заявка врача"),
    "esia": _l("Госуслуги"),
    "operator": _l("оператор"),
    "demo": _l("демонстрационные данные"),
}


def _visible_links(principal):
    query = (
        sa.select(Guardianship)
        .join(Patient, Patient.id == Guardianship.child_id)
        .options(sa.orm.selectinload(Guardianship.representative), sa.orm.selectinload(Guardianship.child))
        .order_by(Guardianship.ended_at.is_not(None), Guardianship.id.desc())
    )
    if principal.organisation_id is not None:
        query = query.where(Patient.organisation_id == principal.organisation_id)
    return query


class GuardianshipsView(SecureBaseView):
    def __init__(self) -> None:
        super().__init__(
            _l("Законные представители"), endpoint="admin_guardianships", url="guardianships",
            category=_l("Пользователи"),
        )

    @expose("/")
    def index(self):
        principal = current_principal()
        query = _visible_links(principal)
        search = request.args.get("q", "").strip()[:100]
        if search:
            words = normalize_name(search)
            query = query.where(Patient.last_name_norm.startswith(words))
        links = list(db.session.scalars(query.limit(PAGE_SIZE)))
        return self.render(
            "guardian/admin/guardianships.html",
            links=links,
            search=search,
            cutoff=adult_cutoff(utcnow().date()),
            source_titles=SOURCE_TITLES,
        )

    def _link(self, link_id) -> Guardianship:
        link = params.row(Guardianship, link_id)
        if link is None:
            abort(404)
        require("guardianship.verify", link)
        return link

    @expose("/<int:link_id>/document", methods=["POST"])
    def attach_document(self, link_id: int):
        """The scan of the representation's document becomes the link's basis."""
        link = self._link(link_id)
        if link.ended_at is not None:
            raise Conflict(_("Связь прекращена: создайте её заново"))
        if link.child.birth_date <= adult_cutoff(utcnow().date()):
            raise Conflict(_("Ребёнку уже исполнилось 18 лет: законный представитель за него не действует"))
        upload = request.files.get("document")
        if upload is None or not upload.filename:
            raise InvalidInput(_("Приложите скан документа: свидетельство о рождении или решение об опеке"))
        principal = current_principal()
        document = store_document(
            upload.filename, upload.read(), kind=BASIS_DOCUMENT_KIND, owner_user_id=principal.id
        )
        db.session.flush()
        link.basis = Guardianship.DOCUMENT
        link.document_id = document.id
        link.verified_by_id = principal.id
        link.verified_at = utcnow()
        audit.record(
            "guardianship.verified", link,
            data={"child_id": link.child_id, "representative_id": link.representative_id, "document_id": document.id},
        )
        db.session.commit()
        flash(_("Связь подтверждена документом: представитель действует за ребёнка"), "success")
        return redirect(url_for(".index"))

    @expose("/<int:link_id>/end", methods=["POST"])
    def end(self, link_id: int):
        link = self._link(link_id)
        if link.ended_at is None:
            link.ended_at = utcnow()
            audit.record(
                "guardianship.ended", link,
                data={"child_id": link.child_id, "representative_id": link.representative_id},
            )
            db.session.commit()
        flash(_("Связь прекращена: представитель больше не видит консультаций ребёнка"), "success")
        return redirect(url_for(".index"))

    @expose("/<int:link_id>/document/<int:document_id>")
    def document(self, link_id: int, document_id: int):
        link = self._link(link_id)
        if link.document_id != document_id:
            abort(404)
        return send_document(db.session.get(Document, document_id))


def may_verify(principal, link=None) -> bool:
    """Attaching the basis of a legal representation, or ending it (rule
    ``guardianship.verify``): an operator of the organisation the child is attached to,
    or a regional operator (no organisation)."""
    if not (principal.is_staff and principal.has_role(Role.OPERATOR)):
        return False
    if link is None or principal.organisation_id is None:
        return True
    child = db.session.get(Patient, link.child_id)
    return child is not None and child.organisation_id == principal.organisation_id
