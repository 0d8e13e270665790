"""The guard knows the customer's tier: an agent's draft or live-call sentence offering a
privilege the tier does not include is refused (console) or a finding (phone)."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from calls.desk import AgentDesk
from calls.models import NewCall, NewSegment
from calls.service import CallService
from calls.store import CallStore
from chatbot.replies import AgentReplies, ReplyNotCompliantError
from conversation.models import Speaker
from core.settings import Settings
from customers.demo import generate
from customers.models import MemberTier
from prompts.guard import ComplianceGuard
from services.root import Services
from tests.fakes import GuardOnlySession

pytestmark = pytest.mark.integration

GUARD = ComplianceGuard.load(Settings().compliance_rules)
OFFER = "喝酒了别开车，我帮您安排免费代驾。"
EXPLAINED = "您是普通会员，暂不包含免费代驾。"


def _parts(services: Services) -> tuple[CallService, AgentDesk, User, dict[MemberTier, str]]:
    services.customers.load_records(generate())
    tiers: dict[MemberTier, str] = {}
    for summary in services.customers.list(limit=500):
        tiers.setdefault(summary.tier, summary.id)
    store = CallStore(services.engine)
    calls = CallService(
        store,
        services.customers,
        services.accounts,
        lambda customer_id: GuardOnlySession(GUARD),  # type: ignore[arg-type, return-value]
        services.wrap_up,
        services.audit,
        privileges=services.privileges,
    )
    desk = AgentDesk(
        calls,
        store,
        services.handoffs,
        AgentReplies(services.conversations, services.handoffs, GUARD),
        GUARD,
        services.wrap_up(),
        services.audit,
        tier_of=services.customers.tier,
        privileges=services.privileges,
    )
    user = services.accounts.add("agent1", "Desk-Agent-2026", [Role.AGENT])
    return calls, desk, user, tiers


def test_a_draft_offering_what_the_tier_lacks_is_refused_naming_the_tier(
    fake_services: Services,
) -> None:
    calls, desk, user, tiers = _parts(fake_services)
    regular = desk.open_console_call(user, tiers[MemberTier.REGULAR])
    with pytest.raises(ReplyNotCompliantError, match="普通会员不包含免费酒后代驾") as refused:
        desk.reply(user, regular.id, OFFER)
    assert refused.value.rules == ["privilege-designated_driver"]
    assert "会员权益不含" in str(refused.value)
    assert calls.get(regular.id).segments == []  # nothing said
    said = desk.reply(user, regular.id, EXPLAINED)
    assert [s.text for s in said.segments] == [EXPLAINED]
    reworded = desk.reword(OFFER, user, tiers[MemberTier.REGULAR])
    assert "暂不包含" in reworded and desk.check(reworded, user, regular.customer_id).compliant
    assert desk.check(OFFER, user).compliant  # without the customer: nothing to check against

    four = desk.open_console_call(user, tiers[MemberTier.FOUR_STAR])
    assert [s.text for s in desk.reply(user, four.id, OFFER).segments] == [OFFER]


def test_a_live_call_sentence_beyond_the_tier_is_a_finding(fake_services: Services) -> None:
    calls, _, _, tiers = _parts(fake_services)
    three = calls.start(
        NewCall(
            caller_number="19900003333", agent="agent1", customer_id=tiers[MemberTier.THREE_STAR]
        )
    ).call_id
    result = calls.add_segment(
        three, NewSegment(seq=0, speaker=Speaker.AGENT, text="您放心，救援是不限次的。", final=True)
    )
    assert result.assist is not None and result.assist.compliance is not None
    (finding,) = result.assist.compliance.findings
    assert finding.rule == "privilege-roadside_rescue" and "三星" in finding.reason
    assert calls.get(three).info.findings == 1
