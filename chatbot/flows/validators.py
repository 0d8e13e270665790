"""Slot validators of the guided conversations (pure).

Each validator reads one customer answer for one slot and returns a ``SlotResult``: the value
to keep and how to show it back, or the re-ask reason (a key of the slot's ``reask`` messages
in ``data/chatbot/flows.yaml``). Times are read relative to ``now`` in the centre's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from core.numerals import chinese_to_int

_NUM = r"[0-9零〇一二两三四五六七八九十]+"


class SlotResult(BaseModel):
    """One answer read for one slot."""

    ok: bool
    value: str | bool | list[str] | None = Field(
        default=None, description="what is kept (JSON-friendly: ISO times, plates, upload ids)"
    )
    display: str = Field(default="", description="how the summary shows the value")
    error: str | None = Field(default=None, description="the re-ask key when not ok")
    handoff: bool = Field(default=False, description="the answer itself calls for a person")
    partial: bool = Field(
        default=False, description="progress without a value yet (some photos of several)"
    )
    period: str | None = Field(
        default=None, description="a time given only as a period (下午): its word"
    )


def _fail(error: str) -> SlotResult:
    return SlotResult(ok=False, error=error)


def _num(text: str) -> int:
    return chinese_to_int(text)


# ------------------------------------------------------------------------------------ yes / no

_UNSURE = re.compile(r"不(清楚|知道|确定|记得|晓得)|说不准|不好说|忘了|搞不清")
_SURE_YES = re.compile(r"^(没错|没问题|不错)")
_NO = re.compile(r"^(没|无|否|不|别|n(o)?$)|没有|没人|都没|并没|不是|木有|没得|算了吧")
_YES = re.compile(
    r"^(有|是|对|嗯|好|可以|行|确认|确定|提交|yes|y$|ok|要|都有|都是|买了)"
    r"|有人|确认|是的|对的|都有|有的"
)


def read_yes_no(text: str) -> bool | None:
    """A yes or a no in a short answer ("有", "没有", "是的", "不是", "确认", "都没喝酒").

    Args:
        text: the normalised answer.

    Returns:
        True, False, or None when the answer is neither, or says the customer does not know.
    """
    answer = text.strip(" .!?。！？~")
    if _UNSURE.search(answer):
        return None
    if _SURE_YES.search(answer):
        return True
    # the no words come first: 没有 ends in 有, but 有 alone is a yes
    if _NO.search(answer):
        return False
    if _YES.search(answer):
        return True
    return None


def validate_yes_no(text: str) -> SlotResult:
    """A yes/no slot."""
    answer = read_yes_no(text)
    if answer is None:
        return _fail("not_yes_no")
    return SlotResult(ok=True, value=answer, display="是" if answer else "否")


_INJURY_NO = re.compile(
    r"没(有)?人(受伤|伤)|人(都)?没事|没(有)?(受伤|伤)|无人(受伤|伤亡)|都好|都没事"
)
_INJURY_YES = re.compile(r"受伤|伤(了|到|着)|流血|骨折|住院|医院|救护车|疼|痛|晕")


def says_no_injury(text: str) -> bool:
    """Whether the text says explicitly that no one is hurt ("没人受伤", "人都没事")."""
    return bool(_INJURY_NO.search(text))


def validate_injury(text: str) -> SlotResult:
    """Whether anyone is hurt; a yes calls for a person (``handoff``)."""
    if _INJURY_NO.search(text):
        return SlotResult(ok=True, value=False, display="无人受伤")
    answer = read_yes_no(text)
    if _INJURY_YES.search(text) or answer is True:
        return SlotResult(ok=True, value=True, display="有人受伤", handoff=True)
    if answer is False:
        return SlotResult(ok=True, value=False, display="无人受伤")
    return _fail("not_yes_no")


# ------------------------------------------------------------------------------------ datetime

_DAY_WORDS = {
    "今天": 0,
    "今日": 0,
    "今早": 0,
    "今晚": 0,
    "今儿": 0,
    "昨天": -1,
    "昨日": -1,
    "昨晚": -1,
    "昨儿": -1,
    "前天": -2,
    "大前天": -3,
    # the days to come, for the slots that want a future time (a booking); a past-time slot
    # refuses these words before reading the time
    "明天": 1,
    "明日": 1,
    "明早": 1,
    "明晚": 1,
    "后天": 2,
}
_DAY = re.compile("大前天|" + "|".join(k for k in _DAY_WORDS if k != "大前天"))
_PERIODS = {
    "凌晨": 0,
    "早上": 0,
    "早晨": 0,
    "上午": 0,
    "今早": 0,
    "中午": 12,
    "下午": 12,
    "傍晚": 12,
    "晚上": 12,
    "今晚": 12,
    "昨晚": 12,
    "明晚": 12,
    "明早": 0,
    "夜里": 12,
    "半夜": 0,
}
_PERIOD = re.compile("|".join(_PERIODS))
_PERIOD_HOURS = {
    "凌晨": (3, 0, 6),
    "早上": (7, 6, 12),
    "早晨": (7, 6, 12),
    "上午": (10, 6, 12),
    "今早": (8, 6, 12),
    "中午": (12, 11, 14),
    "下午": (15, 12, 18),
    "傍晚": (18, 17, 20),
    "晚上": (20, 18, 24),
    "今晚": (20, 18, 24),
    "昨晚": (20, 18, 24),
    "明晚": (20, 18, 24),
    "明早": (8, 6, 12),
    "夜里": (22, 20, 24),
    "半夜": (1, 0, 4),
}
"""A period said without a clock time: the hour it stands for, and the hours it spans."""


class ReadTime(NamedTuple):
    """A time read from words."""

    when: datetime
    day_named: bool
    """a day (今天, 昨晚, a date) or a relative time was said, not only a clock time"""
    period: str | None = None
    """set when only a period (下午, 晚上) was said: ``when`` is its typical hour"""


_ISO = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})[日号]?")
_CLOCK = re.compile(
    rf"({_NUM})\s*(?:[:：]\s*(\d{{1,2}})|[点时](?:\s*(半|一刻|三刻|{_NUM})\s*分?)?)"
)
_JUST_NOW = re.compile(r"刚才|刚刚|刚撞|就刚|才发生|现在|此刻")
_AGO = re.compile(
    rf"(半|{_NUM})\s*(?:个)?\s*(半)?\s*(小时|钟头|分钟|分)\s*(半)?\s*(?:以前|之前|前)"
)


def _hour(raw: int, period: str | None) -> int:
    if period is None:
        return raw
    base = _PERIODS[period]
    if period in ("凌晨", "半夜") and raw == 12:
        return 0
    if base == 12 and raw < 12:
        # 中午一点 is 13:00, but 中午十二点 / 晚上12点 stay as written
        return raw + 12
    return raw


def parse_datetime(text: str, now: datetime, zone: ZoneInfo) -> ReadTime | None:
    """A Chinese date/time expression as an aware time.

    Understands 刚才/刚刚, "两小时前"/"半小时前"/"20分钟前", day words (今天, 昨晚, 前天),
    dates ("12月5日", "2026-12-05", "12/5"), periods (上午, 下午, 晚上, 凌晨) and clock times
    ("三点", "8点半", "14:30", "十点一刻").

    Args:
        text: the normalised answer.
        now: the current time (aware).
        zone: the centre's time zone; the words mean its local time.

    Returns:
        The time, whether the day was named (today/a date) or only a clock time was given, and
        the period when only a period was said (昨天下午: 15:00); None when the text holds no
        time of day and no relative time.
    """
    local_now = now.astimezone(zone)
    ago = _AGO.search(text)
    if ago:
        amount = 0.5 if ago.group(1) == "半" else float(_num(ago.group(1)))
        if ago.group(2) or ago.group(4):
            amount += 0.5
        minutes = amount * (60 if ago.group(3) in ("小时", "钟头") else 1)
        return ReadTime(local_now - timedelta(minutes=minutes), True)
    day_named = False
    date = local_now.date()
    iso = _ISO.search(text)
    if iso:
        try:
            date = date.replace(
                year=int(iso.group(1)) if iso.group(1) else date.year,
                month=int(iso.group(2)),
                day=int(iso.group(3)),
            )
        except ValueError:
            return None
        if not iso.group(1) and date > local_now.date():
            date = date.replace(year=date.year - 1)  # "12月30日" said in January
        day_named = True
        text = text[: iso.start()] + " " + text[iso.end() :]
    day = _DAY.search(text)
    if day and not iso:
        date = date + timedelta(days=_DAY_WORDS[day.group(0)])
        day_named = True
    clock = _CLOCK.search(text)
    period = _PERIOD.search(text)
    if clock is None:
        if _JUST_NOW.search(text) and not day_named:
            return ReadTime(local_now, True)
        if period is None:
            return None
        hour = _PERIOD_HOURS[period.group(0)][0]
        when = datetime(date.year, date.month, date.day, hour, 0, tzinfo=zone)
        return ReadTime(when, day_named, period.group(0))
    try:
        raw_hour = _num(clock.group(1))
        minute_text = clock.group(2) or clock.group(3)
        minute = {"半": 30, "一刻": 15, "三刻": 45}.get(minute_text or "")
        if minute is None:
            minute = _num(minute_text) if minute_text else 0
    except ValueError:
        return None
    hour = _hour(raw_hour, period.group(0) if period else None)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return ReadTime(datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone), day_named)


def _show(when: datetime) -> str:
    return f"{when.month}月{when.day}日 {when:%H:%M}"


def validate_datetime(
    text: str,
    now: datetime,
    zone: ZoneInfo,
    *,
    max_age_days: int | None = 30,
    future: bool = False,
) -> SlotResult:
    """A time in the past (an accident) or in the future (an appointment).

    A clock time without a day ("晚上8点") that would be in the future means yesterday when
    the slot wants a past time.

    Args:
        text: the normalised answer.
        now: the current time (aware).
        zone: the centre's time zone.
        max_age_days: how far back a past time may be (None: no limit).
        future: the slot wants a future time.

    Returns:
        The time as an ISO string (a period alone, 昨天下午, stands for its typical hour), or
        the re-ask key ``not_a_time``, ``no_hour`` (a day without a time of day),
        ``in_future``, ``too_old`` or ``in_past``.
    """
    if not future and re.search(r"明天|后天|明早|明晚|下周", text):
        return _fail("in_future")
    parsed = parse_datetime(text, now, zone)
    if parsed is None:
        day_only = (_DAY.search(text) or _ISO.search(text)) and not _CLOCK.search(text)
        return _fail("no_hour" if day_only else "not_a_time")
    when, day_named, period = parsed
    slack = timedelta(minutes=5)
    if not future and when > now + slack and not day_named:
        when -= timedelta(days=1)
    if future:
        if when < now:
            return _fail("in_past")
    else:
        if when > now + slack:
            return _fail("in_future")
        if max_age_days is not None and now - when > timedelta(days=max_age_days):
            return _fail("too_old")
    shown = f"{when.month}月{when.day}日 {period}（约{when:%H:%M}）" if period else _show(when)
    return SlotResult(ok=True, value=when.isoformat(), display=shown, period=period)


def refine_time(
    earlier: datetime, period: str, text: str, now: datetime, zone: ZoneInfo
) -> SlotResult | None:
    """A clock time said after an approximate answer ("昨天晚上" then "八点多"), read on the
    earlier answer's day and in its period; None when the text holds no clock time.

    Args:
        earlier: the approximate time kept (aware).
        period: its period word (晚上).
        text: the new message.
        now: the current time (aware).
        zone: the centre's time zone.
    """
    if not _CLOCK.search(text) or _DAY.search(text) or _ISO.search(text):
        return None
    day = earlier.astimezone(zone)
    said = text if _PERIOD.search(text) else f"{period}{text}"
    result = validate_datetime(f"{day.year}-{day.month}-{day.day} {said}", now, zone)
    return result if result.ok else None


# -------------------------------------------------------------------------------- places, text

_UNKNOWN = re.compile(r"^(不知道|不清楚|不记得|忘了|记不清|不晓得|不确定|随便|没有|无|啊|嗯|哦)+$")
_PLACE_WORD = re.compile(
    r"路|街|道|巷|弄|号|桥|口|区|县|镇|村|乡|省|市|高速|国道|省道|环|隧道|停车场|小区|广场|"
    r"大厦|商场|医院|学校|公司|门口|附近|对面|旁边|服务区|收费站|出口|入口|加油站|车库|地库|"
    r"城|园|站|场|店|楼|馆|苑|湾|中心"
)


_PLACE_AFTER_AT = re.compile(
    r"在([^,，。!?；;]{2,24}?(?:路口|交叉口|路|街|大道|高速|桥|隧道|小区|停车场|车库|门口|附近|"
    r"旁边|对面|服务区|收费站|加油站|商场|广场))"
)


def find_place(text: str) -> str | None:
    """A place the customer gives in passing: the words after 在 up to a place word
    ("昨天在中山路口被撞了" -> "中山路口"), or None."""
    found = _PLACE_AFTER_AT.search(text)
    return found.group(1) if found else None


def validate_place(text: str, min_chars: int = 4) -> SlotResult:
    """A place: a place word ("路", "高速", "停车场"…) or at least ``min_chars`` characters;
    never "不知道"."""
    answer = text.strip(" .!?。！？~")
    if not answer or _UNKNOWN.match(answer) or re.search(r"不知道|不清楚|不记得", answer):
        return _fail("unknown_place")
    if not (_PLACE_WORD.search(answer) or len(answer) >= min_chars):
        return _fail("too_vague")
    if not _PLACE_WORD.search(answer) and (_CLOCK.search(answer) or _JUST_NOW.search(answer)):
        return _fail("too_vague")  # a time given where the place was asked
    return SlotResult(ok=True, value=answer, display=answer)


def validate_free_text(text: str, min_chars: int = 4) -> SlotResult:
    """A description of at least ``min_chars`` characters that says something."""
    answer = text.strip(" .!?。！？~")
    if not answer or _UNKNOWN.match(answer):
        return _fail("empty")
    if len(answer) < min_chars:
        return _fail("too_short")
    return SlotResult(ok=True, value=answer, display=answer)


# -------------------------------------------------------------------------------------- plates

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"
PLATE = re.compile(
    rf"[{_PROVINCES}][{_LETTER}][·•.\- ]?"
    rf"(?:[DF][{_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF]|[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳])"
    r"(?![A-Z0-9])"
)
"""A Chinese plate: province, city letter, then five characters (新能源: six, D/F first or
last). I and O are never used."""
_PLATE_LIKE = re.compile(rf"[{_PROVINCES}][A-Za-z][·•.\- ]?[A-Za-z0-9]{{3,8}}")
_SINGLE = re.compile(
    r"^(无|没有|没|没有对方|没对方)$|单车|单方|就我(自己)?|只有我|我自己|没有(其他|别的|对方)|"
    r"撞(了)?(墙|树|杆|柱子|护栏|石头)|自己(撞|蹭|刮)"
)
_PLATE_UNKNOWN = re.compile(r"跑了|逃逸|不知道|没看(清|到)|记不住|没记")


def find_plate(text: str) -> str | None:
    """The first valid plate in the text, upper case without separators (粤B12345)."""
    found = PLATE.search(text.upper())
    return re.sub(r"[·•.\- ]", "", found.group(0)) if found else None


def validate_other_party(text: str) -> SlotResult:
    """The other vehicle's plate, or none (单车事故). A hit-and-run or an unknown plate is
    kept as said (the agent follows it up)."""
    plate = find_plate(text)
    if plate:
        return SlotResult(ok=True, value=plate, display=f"对方车牌 {plate}")
    if _PLATE_LIKE.search(text.upper()):
        return _fail("bad_plate")
    if _SINGLE.search(text.strip(" .!?。！？~")):
        return SlotResult(ok=True, value="none", display="无对方（单车事故）")
    if _PLATE_UNKNOWN.search(text):
        return SlotResult(ok=True, value="unknown", display=f"对方车牌未知（{text.strip()}）")
    return _fail("no_plate")


# ------------------------------------------------------------------------------ photos, claims


def validate_photos(attachments: Sequence[str], kept: Sequence[str], minimum: int) -> SlotResult:
    """Upload ids sent with this message, added to those already kept for the slot.

    Args:
        attachments: upload ids on this message (given by the caller).
        kept: upload ids received for the slot on earlier messages.
        minimum: how many the slot needs.

    Returns:
        ok with every id once there are ``minimum``; ``partial`` with the ids so far when
        some but too few came; ``no_photos`` when none came on this message.
    """
    ids = list(dict.fromkeys([*kept, *attachments]))
    if not attachments:
        return SlotResult(ok=False, error="no_photos", value=list(kept) or None)
    if len(ids) < minimum:
        return SlotResult(ok=False, partial=True, value=ids, error="too_few_photos")
    return SlotResult(ok=True, value=ids, display=f"{len(ids)} 个文件")


CLAIM_NO = re.compile(r"RC\s?\d{14}", re.IGNORECASE)
"""A claim number as the demo claims are numbered: RC, the report date, five digits and a
sequence digit (RC20261205000121)."""
_ORDINAL = re.compile(rf"^(?:第)?({_NUM})(?:个|笔|号|项|种|辆)?$")
_ORDINAL_ANYWHERE = re.compile(rf"第({_NUM})(?:个|笔|项|种|辆)?")
_FILLERS = re.compile(
    r"^(那就|就选|我选|我要|就是|就|选|要|还是)|(吧|啊|呀|哈|的|就行|就好|那个|这个|可以)+$"
)


def pick_index(text: str, count: int) -> int | None:
    """A choice by number ("2", "第二个", "就第一个吧") among ``count`` options, as a 0-based
    index."""
    answer = _FILLERS.sub("", text.strip(" .!?。！？~")).strip()
    found = _ORDINAL.match(answer) or _ORDINAL_ANYWHERE.search(text)
    if not found:
        return None
    try:
        number = _num(found.group(1))
    except ValueError:
        return None
    return number - 1 if 1 <= number <= count else None


def validate_claim_no(text: str, claims: Sequence[str]) -> SlotResult:
    """One of the customer's claims, by number, by position in the list, or "就这个" when the
    customer has only one.

    Returns:
        The claim number, or ``bad_claim_format``, ``not_your_claim`` or ``no_claims``.
    """
    if not claims:
        return _fail("no_claims")
    found = CLAIM_NO.search(text.upper())
    if found:
        number = found.group(0).replace(" ", "")
        if number not in claims:
            return _fail("not_your_claim")
        return SlotResult(ok=True, value=number, display=number)
    index = pick_index(text, len(claims))
    if index is None and len(claims) == 1 and read_yes_no(text) is True:
        index = 0
    if index is None and re.search(r"这个|就它|那个|就这|最近", text) and len(claims) == 1:
        index = 0
    if index is not None:
        return SlotResult(ok=True, value=claims[index], display=claims[index])
    if re.search(r"RC|\d{6,}", text.upper()):
        return _fail("bad_claim_format")
    return _fail("no_claim")


def validate_slot_time(
    text: str, offered: Sequence[datetime], now: datetime, zone: ZoneInfo
) -> SlotResult:
    """One of the offered appointment slots, by its number or by its time ("明天上午10点" is
    read like any time, then matched to an offered start)."""
    if not offered:
        return _fail("no_slots")
    index = pick_index(text, len(offered))
    if index is None:
        parsed = parse_datetime(_tomorrow(text, now, zone), now, zone)
        if parsed is not None:
            when, _, period = parsed
            if period is None:
                matches = [i for i, s in enumerate(offered) if s.astimezone(zone) == when]
            else:
                _, start_hour, end_hour = _PERIOD_HOURS[period]
                matches = [
                    i
                    for i, s in enumerate(offered)
                    if s.astimezone(zone).date() == when.date()
                    and start_hour <= s.astimezone(zone).hour < end_hour
                ]
            if not matches:
                return _fail("not_offered")
            if len(matches) > 1:
                return _fail("not_a_choice")
            index = matches[0]
    if index is None:
        return _fail("not_a_choice")
    start = offered[index].astimezone(zone)
    return SlotResult(ok=True, value=start.isoformat(), display=_show(start))


def _tomorrow(text: str, now: datetime, zone: ZoneInfo) -> str:
    """ "明天"/"后天" as a date the parser reads (it only looks back)."""
    for word, days in (("后天", 2), ("明天", 1), ("明早", 1), ("明晚", 1)):
        if word in text:
            day = (now.astimezone(zone) + timedelta(days=days)).date()
            prefix = "晚上" if word == "明晚" else ""
            return text.replace(word, f"{day.year}-{day.month}-{day.day} {prefix}")
    return text


def validate_choice(text: str, options: Sequence[tuple[str, str, Sequence[str]]]) -> SlotResult:
    """One of the options (value, label, patterns) by number, label or one of its patterns."""
    index = pick_index(text, len(options))
    if index is None:
        for position, (_value, label, patterns) in enumerate(options):
            if label in text or any(re.search(p, text) for p in patterns):
                index = position
                break
    if index is None:
        return _fail("not_a_choice")
    value, label, _ = options[index]
    return SlotResult(ok=True, value=value, display=label)
