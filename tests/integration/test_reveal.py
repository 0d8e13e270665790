"""A supervisor's reveal of a full number: only supervisors, only with a reason, always audited,
and the number never in the audit log."""

from __future__ import annotations

import pytest

from accounts.permissions import PermissionDeniedError
from assist.reveal import RevealReasonError
from audit.log import AuditFilter
from customers.demo import generate
from customers.store import CustomerNotFoundError
from services.root import Services

pytestmark = pytest.mark.integration


def test_only_a_supervisor_with_a_reason_sees_the_full_number(fake_services: Services) -> None:
    services = fake_services
    services.customers.load_records(generate(3))
    agent = services.accounts.add("a001", "Agent-Pass-26", ["agent"])
    boss = services.accounts.add("s001", "Super-Pass-26", ["supervisor"])
    masked = services.customers.profile("C00001").phone
    assert "****" in masked

    with pytest.raises(PermissionDeniedError, match="supervisor"):
        services.reveal.reveal(agent, "C00001", "phone", "客户要求回拨")
    with pytest.raises(RevealReasonError, match="say why"):
        services.reveal.reveal(boss, "C00001", "phone", "  ")
    with pytest.raises(CustomerNotFoundError):
        services.reveal.reveal(boss, "C99999", "phone", "客户要求回拨")
    assert services.audit.entries(AuditFilter(action="customer.reveal")) == []

    phone = services.reveal.reveal(boss, "C00001", "phone", "客户要求回拨")
    assert len(phone) == 11 and phone[-4:] == masked[-4:] and "*" not in phone
    id_number = services.reveal.reveal(boss, "C00001", "id_number", "法院调取")
    assert len(id_number) == 18
    entries = services.audit.entries(AuditFilter(action="customer.reveal"))
    assert [(e.actor, e.target) for e in entries] == [("s001", "C00001")] * 2
    assert all(phone not in e.detail and id_number not in e.detail for e in entries)
    assert {e.detail for e in entries} == {"phone: 客户要求回拨", "id_number: 法院调取"}
