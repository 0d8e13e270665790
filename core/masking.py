"""Masking of personal identifiers (pure). Full identifiers never leave the repository layer."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str) -> str:
    """138****5678: the first three and last four digits of a mobile number."""
    digits = "".join(_DIGITS.findall(phone))
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(id_number: str) -> str:
    """110***********123X: first three and last four characters of an ID number."""
    value = id_number.strip()
    if len(value) < 8:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_name(name: str) -> str:
    """王*明 / 王*: keep the surname (and the last character of longer names)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def salutation(name: str, gender: str) -> str:
    """How an agent addresses the customer: surname + 先生 / 女士."""
    return f"{name[:1]}{'先生' if gender == 'M' else '女士'}"


_SENSITIVE = [
    (re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)"), r"\1********\2"),  # 18-digit ID
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),  # mobile
    (re.compile(r"(?<!\d)(\d{4})\d{8,11}(\d{4})(?!\d)"), r"\1********\2"),  # bank card
]


def redact(text: str) -> str:
    """Mask ID, mobile and card numbers inside free text (for logs and transcripts)."""
    for pattern, replacement in _SENSITIVE:
        text = pattern.sub(replacement, text)
    return text


def redact_strings(value: object) -> object:
    """Every string inside a JSON-like value redacted (numbers and keys untouched).

    Redaction keeps each string's length, so character offsets into it stay valid.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_strings(v) for k, v in value.items()}
    return value
