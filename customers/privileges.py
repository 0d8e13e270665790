"""Member privileges (会员权益) with yearly quotas, as data (``data/members/privileges.yaml``).

Per tier, the privileges it includes and how many times a calendar year each may be used (a
number, or unlimited). ``PrivilegeBook.labels`` is the profile's privilege list;
``PrivilegeBook.recognise`` names the privilege a request talks about; ``offer_findings`` turns an
agent sentence offering what the customer's tier does not include (or more than it includes:
不限次 to a tier with a count) into a compliance finding, the way ``accounts.authority`` does for
an agent's level. Pure: the bookings and their counting live in ``customers.bookings``.
"""

from __future__ import annotations

import re
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from core.errors import PolicyDeskError
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences
from customers.models import MemberTier
from prompts.guard import Finding, RuleCategory, Severity

PRIVILEGE_RULE_PREFIX = "privilege-"
"""A privilege finding's rule id: this prefix and the key (``privilege-designated_driver``)."""

UNLIMITED = "unlimited"
_KEY = re.compile(r"^[a-z][a-z_]{1,39}$")


class PrivilegeError(PolicyDeskError):
    """A privilege PolicyDesk does not know (names it and the known ones)."""


def _quota(value: object) -> object:
    """``unlimited`` (or 不限) is None; anything else must be a whole number of uses."""
    if isinstance(value, str) and value.strip().lower() in (UNLIMITED, "不限", "不限次"):
        return None
    return value


Quota = Annotated[Annotated[int, Field(ge=1, le=366)] | None, BeforeValidator(_quota)]
"""Uses per calendar year; None is unlimited."""


def _uses(quota: int | None) -> float:
    return float("inf") if quota is None else float(quota)


class PrivilegeRule(BaseModel):
    """One privilege as written in the file."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    words: list[str] = Field(min_length=1)
    offers: list[str] = Field(min_length=1)
    unlimited_offers: list[str] = Field(default_factory=list)

    _compiles = field_validator("words", "offers", "unlimited_offers")(check_patterns)


class Allowance(BaseModel):
    """A privilege a tier includes and its yearly quota (None: unlimited)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    quota: int | None

    @property
    def label(self) -> str:
        """The profile's wording: 道路救援（每年2次）, 道路救援（不限次）."""
        if self.quota is None:
            return f"{self.name}（不限次）"
        return f"{self.name}（每年{self.quota}次）"


class PrivilegeBook(BaseModel):
    """The whole privileges file: every privilege, and what each tier includes."""

    model_config = ConfigDict(frozen=True)

    privileges: dict[str, PrivilegeRule]
    tiers: dict[MemberTier, dict[str, Quota]]
    unless: list[str] = Field(default_factory=list)

    _compiles = field_validator("unless")(check_patterns)

    @field_validator("privileges")
    @classmethod
    def _keys(cls, privileges: dict[str, PrivilegeRule]) -> dict[str, PrivilegeRule]:
        if not privileges:
            raise ValueError("no privileges")
        bad = [key for key in privileges if not _KEY.match(key)]
        if bad:
            raise ValueError(f"privilege key(s) {bad} must be lower-case a-z and _")
        return privileges

    @model_validator(mode="after")
    def _consistent(self) -> PrivilegeBook:
        for tier, quotas in self.tiers.items():
            unknown = [key for key in quotas if key not in self.privileges]
            if unknown:
                raise ValueError(f"tiers.{tier.value}: unknown privilege(s) {unknown}")
        missing = [tier.value for tier in MemberTier if tier not in self.tiers]
        if missing:
            raise ValueError(f"tiers: no entry for the tier(s) {', '.join(missing)}")
        ordered = list(MemberTier)
        for lower, higher in pairwise(ordered):
            for key, quota in self.tiers[lower].items():
                above = self.tiers[higher]
                if key not in above:
                    raise ValueError(f"tiers.{higher.value}: lacks {key}, which {lower.value} has")
                mine, theirs = _uses(quota), _uses(above[key])
                if theirs < mine:
                    raise ValueError(f"tiers.{higher.value}.{key}: fewer uses than {lower.value}")
        return self

    def rule(self, key: str) -> PrivilegeRule:
        """The privilege's rule.

        Raises:
            PrivilegeError: an unknown key (names it and the known ones).
        """
        try:
            return self.privileges[key]
        except KeyError:
            known = ", ".join(self.privileges)
            raise PrivilegeError(f"unknown privilege {key!r}: use one of {known}") from None

    def allowances(self, tier: MemberTier) -> list[Allowance]:
        """What the tier includes, in file order of the privileges."""
        quotas = self.tiers[MemberTier(tier)]
        return [
            Allowance(key=key, name=rule.name, quota=quotas[key])
            for key, rule in self.privileges.items()
            if key in quotas
        ]

    def allowance(self, tier: MemberTier, key: str) -> Allowance | None:
        """The tier's allowance of the privilege, None when the tier does not include it.

        Raises:
            PrivilegeError: an unknown key.
        """
        rule = self.rule(key)
        quotas = self.tiers[MemberTier(tier)]
        return Allowance(key=key, name=rule.name, quota=quotas[key]) if key in quotas else None

    def labels(self, tier: MemberTier) -> list[str]:
        """The profile's privilege list for the tier."""
        return [a.label for a in self.allowances(tier)]

    def recognise(self, text: str) -> str | None:
        """The privilege a customer's or agent's words ask about (the first in file order), or
        None."""
        for key, rule in self.privileges.items():
            if any(re.search(p, text) for p in rule.words):
                return key
        return None

    @cached_property
    def matcher(self) -> RuleMatcher:
        """Two rules per privilege (in file order): offering it, offering it without limit."""
        rules: list[PatternRule] = []
        for rule in self.privileges.values():
            rules.append(PatternRule.compile(rule.offers, self.unless))
            rules.append(PatternRule.compile(rule.unlimited_offers or [r"(?!x)x"], self.unless))
        return RuleMatcher(rules, sentences, Occurrence.FIRST_PER_RULE)


def load_privileges(path: Path) -> PrivilegeBook:
    """Read and validate the privileges file.

    Raises:
        ConfigurationError: missing file, bad YAML, an unknown tier or privilege, a bad quota, a
            higher tier including less than the one below, a bad pattern (names the file and the
            field).
    """
    return read_yaml(path, PrivilegeBook)


def offer_findings(text: str, tier: MemberTier, book: PrivilegeBook) -> list[Finding]:
    """The sentences of an agent's text that offer a privilege the customer's tier does not
    include, or offer it without limit when the tier has a yearly count.

    A sentence that explains the privilege is not included, asks, or talks about upgrading
    (``unless`` in the file) is not an offer.

    Args:
        text: what the agent said or is about to send.
        tier: the customer's membership tier.
        book: the privileges.

    Returns:
        Findings (rule ``privilege-<key>``, category promise) in order of position, at most one
        per sentence and privilege.
    """
    keys = list(book.privileges)
    tier = MemberTier(tier)
    found: list[Finding] = []
    seen: set[tuple[int, str]] = set()
    for match in book.matcher.find(text):
        key, unlimited = keys[match.rule // 2], match.rule % 2 == 1
        if (match.segment.start, key) in seen:
            continue
        allowance = book.allowance(tier, key)
        name = book.privileges[key].name
        if allowance is None:
            reason = f"{tier.value}会员不包含{name}，不能向客户承诺"
            rewrite = f"您目前是{tier.value}会员，暂不包含{name}，我可以为您介绍会员升级的条件。"
        elif unlimited and allowance.quota is not None:
            reason = f"{tier.value}会员{name}每年{allowance.quota}次，不是不限次"
            rewrite = f"您是{tier.value}会员，{name}每年可以使用{allowance.quota}次。"
        else:
            continue
        seen.add((match.segment.start, key))
        found.append(
            Finding(
                rule=f"{PRIVILEGE_RULE_PREFIX}{key}",
                category=RuleCategory.PROMISE,
                severity=Severity.HIGH,
                start=match.start,
                end=match.end,
                text=match.text,
                sentence=match.segment.text.strip(),
                reason=reason,
                rewrite=rewrite,
            )
        )
    return sorted(found, key=lambda f: (f.start, f.rule))
