"""Chinese numerals: article numbers (第十二条, 第一百零三条) and spoken amounts (五千, 一万二)."""

from __future__ import annotations

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_to_int(text: str) -> int:
    """Convert a Chinese (or Arabic) numeral below 10,000 to an int.

    Args:
        text: e.g. ``"十二"``, ``"一百零三"``, ``"40"``.

    Returns:
        The number.

    Raises:
        ValueError: when the text is not a numeral.
    """
    if text.isdigit():
        return int(text)
    if not text:
        raise ValueError("empty numeral")
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


def int_to_chinese(number: int) -> str:
    """Convert 1..9999 to the Chinese numeral used in article numbers (12 -> 十二)."""
    if not 0 < number < 10000:
        raise ValueError(f"article number out of range: {number}")
    digits = "零一二三四五六七八九"
    parts: list[str] = []
    zero_pending = False
    for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = number // unit_value % 10
        if d == 0:
            zero_pending = bool(parts)
            continue
        if zero_pending:
            parts.append("零")
            zero_pending = False
        parts.append(digits[d] + unit)
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def spoken_amount(text: str) -> float | None:
    """A spoken Chinese amount as a number, with 万 and the colloquial short forms.

    Args:
        text: Chinese numerals only, e.g. ``"五千"``, ``"一万二"`` (12,000), ``"三千五"``
            (3,500), ``"两万零五百"``.

    Returns:
        The amount, or None when it is zero or has no numeral.
    """
    total = section = number = 0
    last_unit = 1
    after_zero = False
    for char in text:
        if char in _DIGITS:
            number = _DIGITS[char]
            after_zero = after_zero or number == 0
        elif char in _UNITS:
            unit = _UNITS[char]
            section += (number or 1) * unit  # 十 alone is ten
            number, last_unit, after_zero = 0, unit, False
        elif char == "万":
            total += (section + number or 1) * 10_000
            section = number = 0
            last_unit, after_zero = 10_000, False
    if number and last_unit >= 100 and not after_zero:
        section += number * last_unit // 10  # 一万二 is 12000, 三千五 is 3500
    else:
        section += number
    value = total + section
    return float(value) if value else None
