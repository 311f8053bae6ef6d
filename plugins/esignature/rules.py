"""Access rules of the e-signature plugin (evaluated by core.access only)."""

from __future__ import annotations

from core.access import can
from core.models import Role


def _sign_conclusion(principal, consultation) -> bool:
    # The consultant completes the consultation; a machine client cannot sign.
    return principal.is_staff and principal.has_role(Role.DOCTOR) and can("consultation.complete", consultation, principal)


def _sign_document(principal, document) -> bool:
    """«Документы» → «Подписать файл»: a doctor signs files they uploaded."""
    return (
        principal.is_staff and principal.has_role(Role.DOCTOR)
        and document is not None and document.owner_user_id == principal.id
    )


ACCESS_RULES = {
    "esignature.sign_conclusion": _sign_conclusion,
    "esignature.sign_document": _sign_document,
}
