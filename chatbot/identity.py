"""Reading an identity claim from a chat message (pure): a policy or claim number + 4 digits."""

from __future__ import annotations

import re

from pydantic import BaseModel

# our numbering: policies P + 10 digits, claims RC + date + 6 digits (see customers/demo.py)
_NUMBER = re.compile(r"(?<![A-Za-z0-9])(RC\d{8,}|P\d{6,})(?!\d)", re.IGNORECASE)
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


class IdentityClaim(BaseModel):
    """What the customer offered for the identity check."""

    number: str
    last4: str


def read_identity(text: str) -> IdentityClaim | None:
    """The policy or claim number and the phone's last four digits in a message, if both are there.

    Args:
        text: the customer's message, e.g. "保单号P2026000010，尾号5678".

    Returns:
        The claim, or None when either part is missing.
    """
    normal = text.translate({ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ＰＲＣｐｒｃ"})
    found = _NUMBER.search(normal)
    if found is None:
        return None
    rest = normal[: found.start()] + " " + normal[found.end() :]
    digits = _LAST4.search(rest)
    if digits is None:
        return None
    return IdentityClaim(number=found.group(1).upper(), last4=digits.group(1))
