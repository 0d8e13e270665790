"""Slot validators: times relative to now, places, yes/no, injuries, plates, photos, claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatbot.flows.validators import (
    find_place,
    find_plate,
    parse_datetime,
    pick_index,
    read_yes_no,
    refine_time,
    validate_choice,
    validate_claim_no,
    validate_datetime,
    validate_free_text,
    validate_injury,
    validate_other_party,
    validate_photos,
    validate_place,
    validate_slot_time,
    validate_yes_no,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZONE)
CLAIMS = ["RC20261201000120", "RC20261115000031"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天上午八点", datetime(2026, 12, 7, 8, 0, tzinfo=ZONE)),
        ("今天早上7点半", datetime(2026, 12, 7, 7, 30, tzinfo=ZONE)),
        ("昨天晚上8点半", datetime(2026, 12, 6, 20, 30, tzinfo=ZONE)),
        ("昨晚十点一刻", datetime(2026, 12, 6, 22, 15, tzinfo=ZONE)),
        ("昨天下午三点", datetime(2026, 12, 6, 15, 0, tzinfo=ZONE)),
        ("前天中午12点", datetime(2026, 12, 5, 12, 0, tzinfo=ZONE)),
        ("大前天凌晨两点", datetime(2026, 12, 4, 2, 0, tzinfo=ZONE)),
        ("12月5日 14:30", datetime(2026, 12, 5, 14, 30, tzinfo=ZONE)),
        ("12月5号下午3点", datetime(2026, 12, 5, 15, 0, tzinfo=ZONE)),
        ("2026-12-05 09:00", datetime(2026, 12, 5, 9, 0, tzinfo=ZONE)),
        ("2026/12/5 9点", datetime(2026, 12, 5, 9, 0, tzinfo=ZONE)),
        ("刚才", NOW),
        ("就刚刚", NOW),
        ("两小时前", NOW - timedelta(hours=2)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("20分钟之前", NOW - timedelta(minutes=20)),
        ("一个半小时前", NOW - timedelta(minutes=90)),
        # a clock time alone that is still to come today means yesterday
        ("晚上8点", datetime(2026, 12, 6, 20, 0, tzinfo=ZONE)),
        ("8点", datetime(2026, 12, 7, 8, 0, tzinfo=ZONE)),
        # a period alone stands for its typical hour
        ("前天下午", datetime(2026, 12, 5, 15, 0, tzinfo=ZONE)),
        ("昨晚", datetime(2026, 12, 6, 20, 0, tzinfo=ZONE)),
        ("今天早上", datetime(2026, 12, 7, 7, 0, tzinfo=ZONE)),
    ],
)
def test_past_times_are_read_relative_to_now(text: str, expected: datetime) -> None:
    result = validate_datetime(text, NOW, ZONE)
    assert result.ok, result
    assert result.value == expected.isoformat()


def test_a_time_is_shown_as_month_day_and_clock() -> None:
    assert validate_datetime("12月5日 14:30", NOW, ZONE).display == "12月5日 14:30"


def test_a_utc_now_is_read_in_the_centre_zone() -> None:
    utc_now = NOW.astimezone(ZoneInfo("UTC"))  # 01:15 UTC is 09:15 in Shanghai
    result = validate_datetime("今天上午八点", utc_now, ZONE)
    assert result.value == datetime(2026, 12, 7, 8, 0, tzinfo=ZONE).isoformat()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("不知道", "not_a_time"),
        ("车在路边", "not_a_time"),
        ("今天", "no_hour"),
        ("昨天", "no_hour"),
        ("12月5日", "no_hour"),
        ("13月40日 10点", "not_a_time"),
        ("今天下午三点", "in_future"),
        ("明天上午10点", "in_future"),
        ("12月6日 25:00", "not_a_time"),
        ("2026-10-01 09:00", "too_old"),
        ("11月1日 10点", "too_old"),
    ],
)
def test_bad_past_times_are_refused_with_a_reason(text: str, error: str) -> None:
    result = validate_datetime(text, NOW, ZONE)
    assert not result.ok
    assert result.error == error


def test_age_limit_is_the_slots() -> None:
    assert validate_datetime("11月1日 10点", NOW, ZONE, max_age_days=None).ok
    assert validate_datetime("12月1日 10点", NOW, ZONE, max_age_days=3).error == "too_old"


def test_future_slots_refuse_past_times() -> None:
    assert validate_datetime("昨天下午三点", NOW, ZONE, future=True).error == "in_past"
    assert validate_datetime("2026-12-09 10:00", NOW, ZONE, future=True).ok


def test_parse_datetime_says_whether_the_day_was_named() -> None:
    named = parse_datetime("今天下午3点", NOW, ZONE)
    bare = parse_datetime("下午3点", NOW, ZONE)
    assert named is not None and named[1] is True
    assert bare is not None and bare[1] is False


@pytest.mark.parametrize(
    "text",
    ["深南大道科技园路口", "滨海大道", "家门口", "广深高速往广州方向", "公司地下车库", "万象城"],
)
def test_places_are_accepted(text: str) -> None:
    result = validate_place(text)
    assert result.ok and result.value == text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("不知道", "unknown_place"),
        ("不清楚在哪", "unknown_place"),
        ("", "unknown_place"),
        ("那边", "too_vague"),
        ("这里", "too_vague"),
    ],
)
def test_vague_places_are_refused(text: str, error: str) -> None:
    assert validate_place(text).error == error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有", True),
        ("是的", True),
        ("对", True),
        ("确认", True),
        ("嗯", True),
        ("有的", True),
        ("没有", False),
        ("没", False),
        ("不是", False),
        ("无", False),
        ("没有啊", False),
        ("不是的", False),
        ("否", False),
        ("不对", False),
    ],
)
def test_yes_and_no(text: str, expected: bool) -> None:
    assert read_yes_no(text) is expected
    assert validate_yes_no(text).value is expected


@pytest.mark.parametrize("text", ["随便吧", "你猜", "什么意思", "粤B12345"])
def test_neither_yes_nor_no(text: str) -> None:
    assert read_yes_no(text) is None
    assert validate_yes_no(text).error == "not_yes_no"


@pytest.mark.parametrize(
    ("text", "hurt"),
    [
        ("没有人受伤", False),
        ("人都没事", False),
        ("没有", False),
        ("无人受伤", False),
        ("有人受伤", True),
        ("有", True),
        ("对方腿流血了", True),
        ("我脖子有点疼", True),
        ("送医院了", True),
    ],
)
def test_injuries(text: str, hurt: bool) -> None:
    result = validate_injury(text)
    assert result.ok
    assert result.value is hurt
    assert result.handoff is hurt


def test_an_unclear_injury_answer_is_asked_again() -> None:
    assert validate_injury("车头坏了").error == "not_yes_no"


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("粤B12345", "粤B12345"),
        ("对方车牌粤b12345", "粤B12345"),
        ("京A·D12345", "京AD12345"),
        ("京AD12345", "京AD12345"),
        ("沪A12345D", "沪A12345D"),
        ("粤B 1234X", "粤B1234X"),
        ("浙A-88888", "浙A88888"),
    ],
)
def test_plates(text: str, plate: str) -> None:
    assert find_plate(text) == plate
    assert validate_other_party(text).value == plate


@pytest.mark.parametrize("text", ["粤B1234", "粤I12345", "粤B1234567"])
def test_malformed_plates_are_refused(text: str) -> None:
    assert validate_other_party(text).error == "bad_plate"


@pytest.mark.parametrize("text", ["单车", "没有", "无", "就我自己", "撞墙了", "没有对方"])
def test_no_other_party(text: str) -> None:
    assert validate_other_party(text).value == "none"


def test_an_unknown_other_party_is_kept_for_the_agent() -> None:
    assert validate_other_party("对方跑了").value == "unknown"
    assert validate_other_party("一辆白色的车").error == "no_plate"


def test_photos_count_the_uploads_across_messages() -> None:
    assert validate_photos([], [], 3).error == "no_photos"
    two = validate_photos(["u1", "u2"], [], 3)
    assert two.partial and two.value == ["u1", "u2"] and not two.ok
    three = validate_photos(["u3", "u2"], ["u1", "u2"], 3)
    assert three.ok and three.value == ["u1", "u2", "u3"]
    assert validate_photos(["u1"], [], 1).ok


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("RC20261201000120", CLAIMS[0]),
        ("rc 20261115000031", CLAIMS[1]),
        ("2", CLAIMS[1]),
        ("第一个", CLAIMS[0]),
        ("赔案号是RC20261115000031", CLAIMS[1]),
    ],
)
def test_claim_numbers(text: str, claim: str) -> None:
    assert validate_claim_no(text, CLAIMS).value == claim


@pytest.mark.parametrize(
    ("text", "claims", "error"),
    [
        ("RC20261201999990", CLAIMS, "not_your_claim"),
        ("RC2026", CLAIMS, "bad_claim_format"),
        ("123456789", CLAIMS, "bad_claim_format"),
        ("3", CLAIMS, "no_claim"),
        ("那个", CLAIMS, "no_claim"),
        ("RC20261201000120", [], "no_claims"),
    ],
)
def test_claim_numbers_refused(text: str, claims: list[str], error: str) -> None:
    assert validate_claim_no(text, claims).error == error


def test_a_single_claim_can_be_confirmed_without_its_number() -> None:
    assert validate_claim_no("就这个", CLAIMS[:1]).value == CLAIMS[0]
    assert validate_claim_no("是的", CLAIMS[:1]).value == CLAIMS[0]


OFFERED = [NOW + timedelta(days=1, hours=0.75), NOW + timedelta(days=1, hours=4.75)]


@pytest.mark.parametrize(
    ("text", "index"), [("1", 0), ("第二个", 1), ("明天下午2点", 1), ("2026-12-08 10:00", 0)]
)
def test_slot_time_by_number_or_time(text: str, index: int) -> None:
    assert validate_slot_time(text, OFFERED, NOW, ZONE).value == OFFERED[index].isoformat()


@pytest.mark.parametrize(
    ("text", "error"),
    [("3", "not_a_choice"), ("随便", "not_a_choice"), ("明天下午5点", "not_offered")],
)
def test_slot_time_refused(text: str, error: str) -> None:
    assert validate_slot_time(text, OFFERED, NOW, ZONE).error == error
    assert validate_slot_time("1", [], NOW, ZONE).error == "no_slots"


def test_choices_by_number_label_or_words() -> None:
    options = [("a", "双方已私了", ["私了"]), ("b", "其他原因", ["其他"])]
    assert validate_choice("2", options).value == "b"
    assert validate_choice("我们私了了", options).value == "a"
    assert validate_choice("双方已私了", options).display == "双方已私了"
    assert validate_choice("不知道", options).error == "not_a_choice"


def test_pick_index_bounds() -> None:
    assert pick_index("0", 2) is None
    assert pick_index("二", 2) == 1
    assert pick_index("第3个", 2) is None


def test_free_text() -> None:
    assert validate_free_text("被追尾了后杠坏了", 6).ok
    assert validate_free_text("撞了", 6).error == "too_short"
    assert validate_free_text("不知道").error == "empty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("都没喝酒", False),
        ("都有", True),
        ("没错", True),
        ("没问题", True),
        ("不确认", False),
        ("不清楚", None),
        ("不知道", None),
        ("忘了", None),
    ],
)
def test_yes_no_in_fuller_answers(text: str, expected: bool | None) -> None:
    assert read_yes_no(text) is expected


def test_a_period_alone_is_shown_as_approximate() -> None:
    assert validate_datetime("前天下午", NOW, ZONE).display == "12月5日 下午（约15:00）"


def test_a_slot_by_day_and_period() -> None:
    assert validate_slot_time("明天上午那个", OFFERED, NOW, ZONE).value == OFFERED[0].isoformat()
    assert validate_slot_time("明天晚上", OFFERED, NOW, ZONE).error == "not_offered"
    two_mornings = [OFFERED[0], OFFERED[0] + timedelta(hours=1)]
    assert validate_slot_time("明天上午", two_mornings, NOW, ZONE).error == "not_a_choice"


@pytest.mark.parametrize(("text", "index"), [("就第一个吧", 0), ("选2", 1), ("第二个就行", 1)])
def test_pick_index_ignores_fillers(text: str, index: int) -> None:
    assert pick_index(text, 2) == index


@pytest.mark.parametrize(
    ("text", "place"),
    [("昨天在中山路口被撞了", "中山路口"), ("在公司停车场倒车", "公司停车场"), ("被撞了", None)],
)
def test_places_given_in_passing(text: str, place: str | None) -> None:
    assert find_place(text) == place


def test_refine_an_approximate_time() -> None:
    earlier = datetime(2026, 12, 6, 20, 0, tzinfo=ZONE)
    refined = refine_time(earlier, "晚上", "九点半", NOW, ZONE)
    assert refined is not None
    assert refined.value == datetime(2026, 12, 6, 21, 30, tzinfo=ZONE).isoformat()
    assert refine_time(earlier, "晚上", "滨海大道", NOW, ZONE) is None
