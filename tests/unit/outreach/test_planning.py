"""Planning a day's reminders (pure): what each rule finds, the stable keys, merging, and the
skips (already sent, opted out, weekly cap) and the quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from customers.models import (
    ERASED_NAME,
    Claim,
    ClaimEvent,
    CustomerProfile,
    MemberTier,
    Policy,
    Vehicle,
)
from outreach.models import (
    Channel,
    Feeds,
    OptOut,
    QuietHours,
    ReminderKind,
    Rules,
    SkipReason,
    TrafficViolation,
    WeatherWarning,
)
from outreach.planning import candidates, next_allowed, plan
from outreach.rules import load_rules

ZONE = ZoneInfo("Asia/Shanghai")
RULES = load_rules(Path(__file__).resolve().parents[3] / "data" / "outreach" / "rules.yaml")
DAY = date(2026, 11, 5)
NOON = datetime(2026, 11, 5, 12, 0, tzinfo=ZONE)


def customer(
    cid: str = "C00001",
    city: str = "杭州",
    end: date | None = None,
    plate: str = "浙A12345",
    claims: list[Claim] | None = None,
    name: str = "王*明",
) -> CustomerProfile:
    end = end or DAY + timedelta(days=200)
    return CustomerProfile(
        id=cid,
        name=name,
        salutation="王先生",
        phone="190****1234",
        id_number="999***********123X",
        city=city,
        tier=MemberTier.REGULAR,
        privileges=["道路救援（每年2次）"],
        vehicles=[Vehicle(plate=plate, model="大众朗逸", energy="燃油")],
        policies=[
            Policy(
                policy_no=f"P{cid}",
                plate=plate,
                coverages=[],
                start=end - timedelta(days=364),
                end=end,
                premium=3000.0,
            )
        ],
        claims=claims or [],
        interactions=[],
    )


def warning(
    city: str = "杭州", level: str = "黄", kind: str = "rainstorm", wid: str = "W1"
) -> WeatherWarning:
    return WeatherWarning(
        id=wid,
        city=city,
        kind=kind,
        level=level,
        starts=datetime(2026, 11, 4, 16, 0, tzinfo=ZONE),
        ends=datetime(2026, 11, 6, 8, 0, tzinfo=ZONE),
    )


def violation(plate: str = "浙A12345", days_ago: int = 2, vid: str = "V1") -> TrafficViolation:
    return TrafficViolation(
        id=vid,
        plate=plate,
        at=datetime(2026, 11, 5, 9, 30, tzinfo=ZONE) - timedelta(days=days_ago),
        place="杭州市西湖区文三路",
        act="机动车违反规定停放",
        points=0,
        fine=150,
    )


def claim(stage: str = "定损", days_waiting: int = 4, no: str = "RC1") -> Claim:
    at = datetime(2026, 11, 5, 10, 0, tzinfo=ZONE) - timedelta(days=days_waiting)
    return Claim(
        claim_no=no,
        policy_no="PC00001",
        plate="浙A12345",
        reported_at=at - timedelta(days=2),
        description="追尾",
        stage=stage,
        timeline=[
            ClaimEvent(stage="报案", at=at - timedelta(days=2)),
            ClaimEvent(stage=stage, at=at),
        ],
    )


def found(profile: CustomerProfile, feeds: Feeds | None = None, day: date = DAY) -> list[str]:
    return [r.key for r in candidates(profile, feeds or Feeds(), RULES, day, ZONE)]


def run(
    profiles: list[CustomerProfile],
    feeds: Feeds | None = None,
    sent: set[tuple[str, str]] | None = None,
    opt_outs: list[OptOut] | None = None,
    week: dict[str, int] | None = None,
    now: datetime = NOON,
    rules: Rules = RULES,
):
    return plan(
        profiles, feeds or Feeds(), rules, DAY, sent or set(), opt_outs or [], week or {}, now, ZONE
    )


# ----- what each rule finds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "offset"),
    [(30, 30), (29, 30), (16, 30), (15, 15), (8, 15), (7, 7), (1, 7), (0, 7)],
)
def test_renewal_falls_in_the_nearest_offset_not_passed(days_left: int, offset: int) -> None:
    keys = found(customer(end=DAY + timedelta(days=days_left)))
    assert f"renewal:PC00001:{offset}" in keys


@pytest.mark.parametrize("days_left", [31, 90, -1])
def test_no_renewal_far_from_or_after_the_end(days_left: int) -> None:
    keys = found(customer(end=DAY + timedelta(days=days_left)))
    assert not [k for k in keys if k.startswith("renewal:")]


def test_a_renewed_policy_is_not_reminded() -> None:
    profile = customer(end=DAY + timedelta(days=10))
    renewed = profile.policies[0].model_copy(
        update={
            "policy_no": "PNEW",
            "start": DAY + timedelta(days=11),
            "end": DAY + timedelta(days=375),
        }
    )
    profile = profile.model_copy(update={"policies": [*profile.policies, renewed]})
    assert not [k for k in found(profile) if k.startswith("renewal:")]


def test_renewal_text_fills_the_placeholders() -> None:
    [reminder] = [
        r
        for r in candidates(customer(end=date(2026, 12, 5)), Feeds(), RULES, DAY, ZONE)
        if r.kind is ReminderKind.RENEWAL
    ]
    assert "浙A12345" in reminder.text and "2026年12月05日" in reminder.text
    assert "{" not in reminder.text and "还有30天" in reminder.text


def test_inspection_due_within_the_window_only() -> None:
    # the inspection falls on the anniversary of the first policy start (end + 1 day here)
    near = customer(end=DAY + timedelta(days=20))
    assert f"inspection:浙A12345:{(DAY + timedelta(days=21)).isoformat()}" in found(near)
    assert not [k for k in found(customer(end=DAY + timedelta(days=100))) if "inspection" in k]


def test_weather_for_the_customers_city_at_or_above_the_level() -> None:
    feeds = Feeds(
        weather=[warning(), warning(city="上海", wid="W2"), warning(level="蓝", wid="W3")]
    )
    assert [k for k in found(customer(), feeds) if k.startswith("weather:")] == [
        "weather:W1:2026-11-04"
    ]


def test_weather_outside_its_days_or_of_an_unknown_kind_is_not_sent() -> None:
    feeds = Feeds(weather=[warning(kind="hail")])
    assert not found(customer(), feeds)
    assert not found(customer(), Feeds(weather=[warning()]), day=date(2026, 11, 7))


def test_weather_text_carries_the_flood_garage_advice() -> None:
    [reminder] = candidates(customer(), Feeds(weather=[warning()]), RULES, DAY, ZONE)
    assert "暴雨黄色预警" in reminder.text and "地下车库" in reminder.text
    assert reminder.channel is Channel.SMS  # the rules send weather by SMS


def test_a_new_violation_of_the_customers_plate() -> None:
    feeds = Feeds(
        violations=[
            violation(),
            violation(days_ago=8, vid="V2"),  # older than new_days
            violation(plate="浙A99999", vid="V3"),  # someone else's plate
        ]
    )
    assert found(customer(), feeds) == ["violation:浙A12345:V1"]


@pytest.mark.parametrize(("waited", "threshold"), [(3, 3), (9, 3), (10, 10), (45, 10)])
def test_claim_waiting_for_documents(waited: int, threshold: int) -> None:
    assert found(customer(claims=[claim(days_waiting=waited)])) == [f"claim_docs:RC1:{threshold}"]


@pytest.mark.parametrize(("stage", "waited"), [("定损", 2), ("定损", 46), ("支付", 5)])
def test_no_claim_reminder_too_early_too_late_or_in_another_stage(stage: str, waited: int) -> None:
    assert not found(customer(claims=[claim(stage=stage, days_waiting=waited)]))


def test_an_erased_customer_gets_nothing() -> None:
    profile = customer(name=ERASED_NAME, end=DAY + timedelta(days=7))
    assert not found(profile, Feeds(weather=[warning()]))


def test_a_disabled_rule_finds_nothing() -> None:
    rules = RULES.model_copy(
        update={"renewal": RULES.renewal.model_copy(update={"enabled": False})}
    )
    profile = customer(end=DAY + timedelta(days=7))
    assert not [r for r in candidates(profile, Feeds(), rules, DAY, ZONE) if r.kind == "renewal"]


# ----- merging, skips, cap, quiet hours --------------------------------------------------------


def test_reminders_merge_into_one_message_per_channel_most_important_first() -> None:
    profile = customer(end=DAY + timedelta(days=7), claims=[claim()])
    result = run([profile], Feeds(weather=[warning()], violations=[violation()]))
    by_channel = {m.channel: m for m in result.messages}
    assert set(by_channel) == {Channel.SMS, Channel.WECHAT}
    wechat = by_channel[Channel.WECHAT]
    assert [r.kind for r in wechat.reminders] == [
        ReminderKind.CLAIM_DOCS,
        ReminderKind.RENEWAL,
        ReminderKind.VIOLATION,
        ReminderKind.INSPECTION,
    ]
    assert wechat.body.startswith("王先生您好") and "1. " in wechat.body and "4. " in wechat.body
    assert by_channel[Channel.SMS].body.count("预警") == 1
    assert result.messages[0].channel is Channel.SMS  # weather first: the most important
    assert not result.skipped


def test_already_sent_reminders_are_skipped_with_the_reason() -> None:
    profile = customer(end=DAY + timedelta(days=7))
    first = run([profile])
    keys = {("C00001", r.key) for r in first.reminders}
    again = run([profile], sent=keys)
    assert not again.messages
    assert {s.reason for s in again.skipped} == {SkipReason.ALREADY_SENT}
    assert {s.key for s in again.skipped} == {k for _, k in keys}


def test_opt_out_of_one_kind_or_of_all() -> None:
    profile = customer(end=DAY + timedelta(days=7))
    feeds = Feeds(weather=[warning()])
    one = run([profile], feeds, opt_outs=[OptOut(customer_id="C00001", kind=ReminderKind.WEATHER)])
    assert {r.kind for r in one.reminders} == {ReminderKind.RENEWAL, ReminderKind.INSPECTION}
    assert [(s.kind, s.reason) for s in one.skipped] == [
        (ReminderKind.WEATHER, SkipReason.OPTED_OUT)
    ]
    everything = run([profile], feeds, opt_outs=[OptOut(customer_id="C00001")])
    assert not everything.messages and len(everything.skipped) == 3
    other = run([profile], feeds, opt_outs=[OptOut(customer_id="C00002")])
    assert len(other.reminders) == 3


def test_weekly_cap_keeps_the_most_important_message() -> None:
    profile = customer(end=DAY + timedelta(days=7))
    feeds = Feeds(weather=[warning()])
    result = run([profile], feeds, week={"C00001": RULES.weekly_cap - 1})
    assert [m.channel for m in result.messages] == [Channel.SMS]  # weather outranks renewal
    assert {(s.kind, s.reason) for s in result.skipped} == {
        (ReminderKind.RENEWAL, SkipReason.WEEKLY_CAP),
        (ReminderKind.INSPECTION, SkipReason.WEEKLY_CAP),
    }
    full = run([profile], feeds, week={"C00001": RULES.weekly_cap + 2})
    assert not full.messages and {s.reason for s in full.skipped} == {SkipReason.WEEKLY_CAP}


def test_quiet_hours_defer_the_send_time_to_their_end() -> None:
    late = datetime(2026, 11, 5, 22, 30, tzinfo=ZONE)
    result = run([customer(end=DAY + timedelta(days=7))], now=late)
    [message] = result.messages
    assert message.deferred
    assert message.send_at == datetime(2026, 11, 6, 8, 0, tzinfo=ZONE)
    early = run(
        [customer(end=DAY + timedelta(days=7))], now=datetime(2026, 11, 5, 6, 0, tzinfo=ZONE)
    )
    assert early.messages[0].send_at == datetime(2026, 11, 5, 8, 0, tzinfo=ZONE)
    assert not run([customer(end=DAY + timedelta(days=7))]).messages[0].deferred


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((20, 59), (5, 20, 59)),
        ((21, 0), (6, 8, 0)),
        ((23, 59), (6, 8, 0)),
        ((0, 0), (5, 8, 0)),
        ((7, 59), (5, 8, 0)),
        ((8, 0), (5, 8, 0)),
    ],
)
def test_next_allowed_time(local: tuple[int, int], expected: tuple[int, int, int]) -> None:
    quiet = QuietHours.model_validate({"start": "21:00", "end": "08:00"})
    moment = datetime(2026, 11, 5, *local, tzinfo=ZONE).astimezone(UTC)
    day, hour, minute = expected
    assert next_allowed(moment, quiet, ZONE) == datetime(2026, 11, day, hour, minute, tzinfo=ZONE)


def test_daytime_quiet_hours_do_not_span_midnight() -> None:
    quiet = QuietHours.model_validate({"start": "12:00", "end": "14:00"})
    assert quiet.contains(datetime(2026, 1, 1, 13).time())
    assert not quiet.contains(datetime(2026, 1, 1, 23).time())


def test_the_same_feed_record_twice_is_one_reminder() -> None:
    result = run([customer()], Feeds(violations=[violation(), violation()]))
    assert [r.key for r in result.reminders] == ["violation:浙A12345:V1"]


def test_planning_is_deterministic_and_ordered_by_customer() -> None:
    profiles = [customer("C00002", end=DAY + timedelta(days=7)), customer("C00001", plate="浙A1")]
    feeds = Feeds(weather=[warning()])
    first, second = run(profiles, feeds), run(list(reversed(profiles)), feeds)
    assert first == second
    assert first.messages[0].customer_id == "C00001"
