"""Reading a customer's self-service records (``ss_*`` tables) into their typed models.

Shared by the customer profile (``customers.store``) and the self-service store
(``customers.selfservice``), so both show the same records the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from core.masking import mask_phone
from customers.models import (
    Appointment,
    ClaimReportRecord,
    OtherParty,
    SelfServiceSummary,
    WithdrawalRequest,
)
from db.schema import selfservice_appointments, selfservice_reports, selfservice_withdrawals


def report_record(row: Any) -> ClaimReportRecord:
    """A ``ss_claim_reports`` row as its model."""
    other = row.other_party or None
    return ClaimReportRecord.model_validate(
        {
            **row._mapping,
            "other_party": OtherParty.model_validate(other) if other else None,
            "photo_ids": list(row.photo_ids or []),
        }
    )


def appointment_record(row: Any) -> Appointment:
    """A ``ss_appointments`` row as its model (the contact phone masked)."""
    return Appointment.model_validate(
        {**row._mapping, "contact_phone": mask_phone(row.contact_phone)}
    )


def withdrawal_record(row: Any) -> WithdrawalRequest:
    """A ``ss_withdrawals`` row as its model."""
    return WithdrawalRequest.model_validate({**row._mapping, "note": row.note or ""})


def self_service_summary(conn: Connection, customer_id: str) -> SelfServiceSummary:
    """The customer's self-service records, newest first (none: an empty summary)."""
    reports = conn.execute(
        select(selfservice_reports)
        .where(selfservice_reports.c.customer_id == customer_id)
        .order_by(selfservice_reports.c.created_at.desc())
    ).all()
    appointments = conn.execute(
        select(selfservice_appointments)
        .where(selfservice_appointments.c.customer_id == customer_id)
        .order_by(selfservice_appointments.c.slot_start.desc(), selfservice_appointments.c.id)
    ).all()
    withdrawals = conn.execute(
        select(selfservice_withdrawals)
        .where(selfservice_withdrawals.c.customer_id == customer_id)
        .order_by(selfservice_withdrawals.c.requested_at.desc(), selfservice_withdrawals.c.id)
    ).all()
    return SelfServiceSummary(
        reports=[report_record(r) for r in reports],
        appointments=[appointment_record(r) for r in appointments],
        withdrawals=[withdrawal_record(r) for r in withdrawals],
    )
