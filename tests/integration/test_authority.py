"""Tiered authority on real SQLite: staff profiles, approval requests and decisions (audited), and
the guard refusing a promise beyond the agent's level on a call segment and on the desk."""

from __future__ import annotations

import argparse
import io

import pytest
from sqlalchemy import Engine

from accounts.authority import AuthorityError, Level
from accounts.models import Role, User
from accounts.permissions import PermissionDeniedError
from accounts.staff import StaffStore
from accounts.store import InvalidAccountError
from audit.log import AuditFilter
from calls.approvals import (
    ApprovalCallError,
    ApprovalNotFoundError,
    ApprovalState,
    ApprovalStateError,
    InvalidApprovalError,
)
from calls.desk import AgentDesk
from calls.models import NewCall, NewSegment
from calls.service import CallService
from calls.store import CallNotFoundError, CallStore
from chatbot.replies import AgentReplies, ReplyNotCompliantError
from cli.studio import cmd_user
from conversation.models import Speaker
from core.settings import Settings
from prompts.guard import ComplianceGuard
from services.root import Services
from tests.fakes import GuardOnlySession

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"
GUARD = ComplianceGuard.load(Settings().compliance_rules)


def _accounts(services: Services) -> dict[str, User]:
    made = {}
    for name, role in (
        ("basic1", Role.AGENT),
        ("senior1", Role.AGENT),
        ("boss1", Role.SUPERVISOR),
        ("boss2", Role.SUPERVISOR),
        ("trainer1", Role.TRAINER),
    ):
        made[name] = services.accounts.add(name, PASSWORD, [role])
    services.staff.set("senior1", "高级坐席", "一组", Level.SENIOR)
    return made


@pytest.fixture
def users(fake_services: Services) -> dict[str, User]:
    return _accounts(fake_services)


def _call(services: Services, agent: str) -> str:
    return services.calls.start(NewCall(caller_number="19900002222", agent=agent)).call_id


# ----- staff profiles ----------------------------------------------------------------------------


def test_a_staff_profile_defaults_to_basic_and_is_validated(migrated_engine: Engine) -> None:
    staff = StaffStore(migrated_engine)
    assert staff.profile("Nobody").level is Level.BASIC
    assert staff.profile("nobody").team == "" and not staff.exists("nobody")
    staff.set("A07", " 王  小青 ", "一组", "senior")
    assert (
        staff.profile("a07").level is Level.SENIOR
        and staff.profile("a07").display_name == "王 小青"
    )
    staff.set("a07", "王小青", "二组", Level.EXPERT)  # replaces
    staff.set("b08", "李四", "一组", Level.BASIC)
    staff.set("c09", "张三", "", Level.BASIC)
    assert staff.level("a07") is Level.EXPERT
    assert [p.username for p in staff.list()] == ["a07", "b08", "c09"]
    assert staff.teams() == ["一组", "二组"]
    with pytest.raises(AuthorityError, match="'master'"):
        staff.set("a07", "x", "一组", "master")
    with pytest.raises(InvalidAccountError, match="team"):
        staff.set("a07", "x", "组" * 40, Level.BASIC)
    with pytest.raises(InvalidAccountError, match="username"):
        staff.set("no spaces allowed", "x", "", Level.BASIC)
    assert staff.level("a07") is Level.EXPERT  # a refused change changes nothing


def test_seed_demo_gives_the_demo_agent_a_profile_once(fake_services: Services) -> None:
    args = argparse.Namespace(user_command="seed-demo")
    out = io.StringIO()
    assert cmd_user(fake_services, args, out) == 0
    profile = fake_services.staff.profile("agent01")
    assert (profile.team, profile.level) == ("一组", Level.SENIOR)
    fake_services.staff.set("agent01", profile.display_name, "二组", Level.EXPERT)
    again = io.StringIO()
    assert cmd_user(fake_services, args, again) == 0
    assert "staff profile" not in again.getvalue()
    assert fake_services.staff.profile("agent01").level is Level.EXPERT  # the change stays


# ----- approvals ---------------------------------------------------------------------------------


def test_within_the_level_is_granted_at_once_and_audited(
    fake_services: Services, users: dict[str, User]
) -> None:
    call_id = _call(fake_services, "senior1")
    approval = fake_services.approvals.request(
        users["senior1"], call_id, "goodwill", 500, "定损延误两周"
    )
    assert approval.state is ApprovalState.GRANTED and approval.level is Level.SENIOR
    assert approval.limit == 500 and approval.decided_at is not None
    assert fake_services.approvals.pending(users["boss1"]) == []
    (entry,) = fake_services.audit.entries(AuditFilter(action="approval."))
    assert entry.actor == "senior1" and entry.action == "approval.granted"
    assert entry.target == call_id and "goodwill 500" in entry.detail


def test_above_the_level_waits_for_a_supervisor_who_decides_once(
    fake_services: Services, users: dict[str, User]
) -> None:
    call_id = _call(fake_services, "basic1")
    approval = fake_services.approvals.request(
        users["basic1"], call_id, "fast_track", 3000, "客户急需修车款"
    )
    assert approval.state is ApprovalState.PENDING and approval.level is Level.BASIC
    (waiting,) = fake_services.approvals.pending(users["boss1"])
    assert (waiting.call_id, waiting.agent, waiting.amount) == (call_id, "basic1", 3000)
    assert waiting.reason == "客户急需修车款"

    with pytest.raises(InvalidApprovalError, match="note"):
        fake_services.approvals.decide(users["boss1"], approval.id, approve=False, note=" ")
    with pytest.raises(PermissionDeniedError):
        fake_services.approvals.decide(users["basic1"], approval.id, approve=True)
    decided = fake_services.approvals.decide(
        users["boss1"], approval.id, approve=False, note="需先完成定损"
    )
    assert decided.state is ApprovalState.REFUSED and decided.decided_by == "boss1"
    assert decided.note == "需先完成定损" and decided.decided_at is not None
    with pytest.raises(ApprovalStateError, match="refused"):
        fake_services.approvals.decide(users["boss2"], approval.id, approve=True)
    assert fake_services.approvals.pending(users["boss1"]) == []
    assert [a.state for a in fake_services.approvals.for_call(users["basic1"], call_id)] == [
        ApprovalState.REFUSED
    ]
    entries = fake_services.audit.entries(AuditFilter(action="approval."))
    assert {(e.actor, e.action) for e in entries} == {
        ("basic1", "approval.request"),
        ("boss1", "approval.refused"),
    }


def test_a_supervisor_approves_without_a_note_but_not_their_own_request(
    fake_services: Services, users: dict[str, User]
) -> None:
    own = _call(fake_services, "boss1")
    mine = fake_services.approvals.request(users["boss1"], own, "fee_waiver", 50, "手续费减免")
    assert mine.state is ApprovalState.PENDING  # no profile: basic, no fee waivers
    with pytest.raises(PermissionDeniedError, match="another supervisor"):
        fake_services.approvals.decide(users["boss1"], mine.id, approve=True)
    approved = fake_services.approvals.decide(users["boss2"], mine.id, approve=True)
    assert approved.state is ApprovalState.APPROVED and approved.note == ""
    granted = fake_services.approvals.request(
        users["senior1"], _call(fake_services, "senior1"), "goodwill", 100, "慰问"
    )
    with pytest.raises(ApprovalStateError, match="granted"):
        fake_services.approvals.decide(users["boss2"], granted.id, approve=True)
    with pytest.raises(ApprovalNotFoundError):
        fake_services.approvals.decide(users["boss2"], 9999, approve=True)


@pytest.mark.parametrize(
    ("action", "amount", "reason", "problem"),
    [
        ("refund", 100, "x", "'refund'"),
        ("goodwill", -1, "x", "-1"),
        ("goodwill", 0, "x", "amount"),
        ("goodwill", 5e7, "x", "amount"),
        ("goodwill", 100, "  ", "reason"),
        ("goodwill", 100, "长" * 301, "reason"),
    ],
)
def test_bad_requests_are_refused_naming_the_problem(
    fake_services: Services,
    users: dict[str, User],
    action: str,
    amount: float,
    reason: str,
    problem: str,
) -> None:
    call_id = _call(fake_services, "basic1")
    with pytest.raises(InvalidApprovalError, match=problem):
        fake_services.approvals.request(users["basic1"], call_id, action, amount, reason)
    assert fake_services.approvals.for_call(users["basic1"], call_id) == []


def test_only_the_calls_agent_requests_and_only_agents_and_supervisors_read(
    fake_services: Services, users: dict[str, User]
) -> None:
    call_id = _call(fake_services, "basic1")
    with pytest.raises(ApprovalCallError):
        fake_services.approvals.request(users["senior1"], call_id, "goodwill", 50, "x")
    with pytest.raises(PermissionDeniedError):
        fake_services.approvals.request(users["trainer1"], call_id, "goodwill", 50, "x")
    with pytest.raises(CallNotFoundError):
        fake_services.approvals.request(users["basic1"], "call-nope", "goodwill", 50, "x")
    with pytest.raises(PermissionDeniedError):
        fake_services.approvals.pending(users["basic1"])
    with pytest.raises(ApprovalCallError):
        fake_services.approvals.for_call(users["senior1"], call_id)
    assert fake_services.approvals.for_call(users["boss1"], call_id) == []


# ----- the guard knows the limits ----------------------------------------------------------------


def _desk(services: Services) -> tuple[CallService, AgentDesk]:
    store = CallStore(services.engine)
    calls = CallService(
        store,
        services.customers,
        services.accounts,
        lambda customer_id: GuardOnlySession(GUARD),  # type: ignore[arg-type, return-value]
        services.wrap_up,
        services.audit,
        services.staff.level,
        services.authority,
    )
    desk = AgentDesk(
        calls,
        store,
        services.handoffs,
        AgentReplies(services.conversations, services.handoffs, GUARD),
        GUARD,
        services.wrap_up(),
        services.audit,
        services.staff.level,
        services.authority,
    )
    return calls, desk


def test_a_promise_beyond_the_level_is_a_finding_on_the_call(
    fake_services: Services, users: dict[str, User]
) -> None:
    calls, _ = _desk(fake_services)
    basic = calls.start(NewCall(caller_number="19900003333", agent="basic1")).call_id
    senior = calls.start(NewCall(caller_number="19900004444", agent="senior1")).call_id
    said = "您别着急。这个8000的我直接给您快赔。"
    for call_id in (basic, senior):
        result = calls.add_segment(
            call_id, NewSegment(seq=0, speaker=Speaker.AGENT, text=said, final=True)
        )
        assert result.assist is not None and result.assist.compliance is not None
        (finding,) = result.assist.compliance.findings
        assert finding.rule == "authority-fast_track"
    info = calls.get(senior).info
    assert info.findings == 1 and "5000元" in info.findings_text[-1]
    within = calls.add_segment(
        senior, NewSegment(seq=1, speaker=Speaker.AGENT, text="给您补偿500元。", final=True)
    )
    assert within.assist is not None and within.assist.compliance is not None
    assert within.assist.compliance.compliant
    assert calls.get(basic).info.findings == 1
    customer = calls.add_segment(
        basic, NewSegment(seq=1, speaker=Speaker.CUSTOMER, text="你给我补偿500元。", final=True)
    )
    assert customer.assist is not None and customer.assist.compliance is None
    assert calls.get(basic).info.findings == 1  # the caller's words are not the agent's promise


def test_the_desk_refuses_a_draft_beyond_the_level_and_says_to_request_approval(
    fake_services: Services, users: dict[str, User]
) -> None:
    _, desk = _desk(fake_services)
    basic = desk.open_console_call(users["basic1"], None)
    with pytest.raises(ReplyNotCompliantError, match="申请授权") as refused:
        desk.reply(users["basic1"], basic.id, "给您补偿500元，您看可以吗。")
    assert refused.value.rules == ["authority-goodwill"]
    assert fake_services.calls.get(basic.id).segments == []  # nothing said
    assert not desk.check("给您补偿500元。", users["basic1"]).compliant
    assert desk.check("给您补偿500元。").compliant  # without the agent: the guard alone
    reworded = desk.reword("您好。给您补偿500元。", users["basic1"])
    assert "主管审批" in reworded and "500" not in reworded
    assert desk.check(reworded, users["basic1"]).compliant

    senior = desk.open_console_call(users["senior1"], None)
    said = desk.reply(users["senior1"], senior.id, "给您补偿500元。")
    assert [s.text for s in said.segments] == ["给您补偿500元。"]
    with pytest.raises(ReplyNotCompliantError, match="申请授权"):
        desk.reply(users["senior1"], senior.id, "这个8000的我直接给您快赔。")
