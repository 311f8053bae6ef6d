"""The local outbox page (development only): every e-mail the embedded default "sent".

On the embedded default no mail leaves the machine; each message is an ``.eml`` file in
``DATA_DIR/outbox``. Staff can read them here while developing or demonstrating. In
production, or with a real SMTP server configured, the page does not exist (404).
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, render_template
from werkzeug.security import safe_join

from core.access import Principal, require
from core.db import db
from core.models import Consultation, Role
from plugins.notifications.channels import outbox_name
from plugins.notifications.models import Notification

blueprint = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")


def outbox_page_enabled(app: Flask) -> bool:
    return app.config["ENV"] != "production" and app.config["NOTIFICATIONS_EMAIL_TRANSPORT"] == "outbox"


def _outbox_rule(principal: Principal, obj=None) -> bool:
    return principal.is_staff and outbox_page_enabled(current_app)


def _readable_names(principal: Principal) -> set[str] | None:
    """The outbox files ``principal`` may read: ``None`` for all (an operator), otherwise
    the e-mails about consultations of the principal's own organisation. A file no
    notification row explains (written by hand, or its row deleted) is an operator's only."""
    if principal.has_role(Role.OPERATOR):
        return None
    if principal.organisation_id is None:
        return set()
    keys = db.session.scalars(
        sa.select(Notification.key)
        .join(Consultation, Consultation.id == Notification.consultation_id)
        .where(Consultation.organisation_id == principal.organisation_id)
    )
    return {outbox_name(key) for key in keys}


def _manage_rule(principal: Principal, obj=None) -> bool:
    return principal.is_staff and principal.has_role("operator")


ACCESS_RULES = {
    "notifications.outbox": _outbox_rule,
    "notifications.manage": _manage_rule,
}


def _folder() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "outbox"


def _read(path: Path) -> email.message.EmailMessage:
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def _summary(path: Path) -> dict:
    message = _read(path)
    try:
        sent = parsedate_to_datetime(message["Date"])
    except (TypeError, ValueError):
        sent = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return {"name": path.name, "to": message["To"], "subject": message["Subject"], "date": sent}


@blueprint.route("/outbox")
def outbox():
    if not outbox_page_enabled(current_app):
        abort(404)
    principal = require("notifications.outbox")
    readable = _readable_names(principal)
    folder = _folder()
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    if readable is not None:
        files = [p for p in files if p.name in readable]
    return render_template("notifications/outbox/list.html", messages=[_summary(p) for p in files[:500]])


@blueprint.route("/outbox/<name>")
def outbox_message(name: str):
    if not outbox_page_enabled(current_app):
        abort(404)
    principal = require("notifications.outbox")
    readable = _readable_names(principal)
    if readable is not None and name not in readable:
        abort(404)  # another organisation's mail, or not there: the same answer
    # The router already refuses a name with a slash; this holds whatever calls the view.
    joined = safe_join(str(_folder()), name)
    if joined is None or not name.endswith(".eml") or not Path(joined).is_file():
        abort(404)
    path = Path(joined)
    message = _read(path)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return render_template(
        "notifications/outbox/message.html",
        summary=_summary(path),
        message_id=message["Message-ID"],
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
    )
