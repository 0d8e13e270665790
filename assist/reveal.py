"""The supervisor's reveal of a customer's full phone or ID number: the one way past masking.

Agents see masked numbers everywhere. When a full number is really needed (a call-back to a
changed number, a court order), a supervisor reveals it with a written reason; the reveal is in
the audit log (who, whose, which field, why), and the number itself never is.
"""

from __future__ import annotations

from accounts.models import User
from accounts.permissions import Action, require
from audit.log import AuditLog
from core.errors import PolicyDeskError
from customers.models import RevealableField
from customers.store import CustomerStore

MIN_REASON_CHARS = 4
MAX_REASON_CHARS = 200


class RevealReasonError(PolicyDeskError):
    """A reveal without a usable reason."""


class PersonalDataReveal:
    """Reveals one full identifier to a supervisor, audited.

    Args:
        customers: the customer store (holds the full identifiers).
        audit: where every reveal is recorded.
    """

    def __init__(self, customers: CustomerStore, audit: AuditLog) -> None:
        self._customers = customers
        self._audit = audit

    def reveal(
        self, user: User, customer_id: str, field: RevealableField | str, reason: str
    ) -> str:
        """The full value, after the permission check and the audit entry.

        Raises:
            PermissionDeniedError: the user is not a supervisor.
            RevealReasonError: no reason, or one too short or too long.
            CustomerNotFoundError: unknown customer.
            ValueError: an unknown field.
        """
        require(user, Action.REVEAL_PERSONAL_DATA)
        which = RevealableField(field)
        why = " ".join(reason.split())
        if not MIN_REASON_CHARS <= len(why) <= MAX_REASON_CHARS:
            raise RevealReasonError(
                f"say why the full number is needed ({MIN_REASON_CHARS}-{MAX_REASON_CHARS} "
                "characters); the reason is kept in the audit log"
            )
        value = self._customers.identifier(customer_id, which)
        self._audit.record(user.username, "customer.reveal", customer_id, f"{which.value}: {why}")
        return value
