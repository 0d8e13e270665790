"""Reading a self-service chat message: its intent and what in it calls for a person (pure).

The words live in a trainer-edited YAML file (``data/chatbot/routing_rules.yaml``); this module
normalises the message, cuts it into clauses (``core.rules.message_clauses``), applies the rules
(the shared ``core.rules`` matcher) and ROUTING.md's precedence.
Routing itself (which also weighs the emotion classifier and retrieval) is ``chatbot.routing``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from conversation.intents import Intent
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, UnlessScope, message_clauses

CARRY_TURNS = 3  # how many earlier customer messages a topic-less message may take its topic from


class Reason(StrEnum):
    """Why a message is routed as it is, in the order reasons are reported.

    The first seven are human triggers found in the words; ``account_specific`` and
    ``injection_attempt`` are recorded but never route to a person; ``low_confidence`` and
    ``bot_failed`` (and ``identity_locked``, ``foreign_language``) come from the conversation,
    not the words (see
    ``chatbot.routing``).
    """

    INJURY_EMERGENCY = "injury_emergency"
    LEGAL_THREAT = "legal_threat"
    UPSET = "upset"
    COMPLAINT = "complaint"
    DISPUTE = "dispute"
    NEEDS_DECISION = "needs_decision"
    EXPLICIT_REQUEST = "explicit_request"
    LOW_CONFIDENCE = "low_confidence"
    BOT_FAILED = "bot_failed"
    IDENTITY_LOCKED = "identity_locked"
    FOREIGN_LANGUAGE = "foreign_language"
    ACCOUNT_SPECIFIC = "account_specific"
    INJECTION_ATTEMPT = "injection_attempt"


HUMAN_TRIGGERS: frozenset[Reason] = frozenset(
    {
        Reason.EXPLICIT_REQUEST,
        Reason.COMPLAINT,
        Reason.LEGAL_THREAT,
        Reason.DISPUTE,
        Reason.INJURY_EMERGENCY,
        Reason.UPSET,
        Reason.NEEDS_DECISION,
    }
)
"""Reasons in the words that send a message to a person."""

WORD_REASONS: frozenset[Reason] = HUMAN_TRIGGERS | {
    Reason.ACCOUNT_SPECIFIC,
    Reason.INJECTION_ATTEMPT,
}
"""Reasons a rule file may name (the others come from the conversation)."""

COMPLAINT_TRIGGERS: frozenset[Reason] = frozenset(
    {Reason.COMPLAINT, Reason.LEGAL_THREAT, Reason.DISPUTE}
)
"""Reasons that make the intent ``complaint`` whatever the topic."""

_CARRYABLE_FROM = frozenset({Intent.OTHER, Intent.TO_HUMAN})
"""Intents a message may replace with an earlier topic (they name no substantive topic)."""


class _Rule(BaseModel):
    id: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    unless_scope: Literal["clause", "message"] = "clause"

    _compiles = field_validator("patterns", "unless")(check_patterns)


class TopicRule(_Rule):
    """One topic rule as written in the YAML file: words that name the message's intent."""

    intent: Intent


class TriggerRule(_Rule):
    """One trigger rule as written in the YAML file: words that record a reason."""

    reason: Reason

    @field_validator("reason")
    @classmethod
    def _from_the_words(cls, value: Reason) -> Reason:
        if value not in WORD_REASONS:
            raise ValueError(f"reason {value.value!r} comes from the conversation, not from words")
        return value


class MessageRulesFile(BaseModel):
    """The whole rule file."""

    topics: list[TopicRule] = Field(min_length=1)
    triggers: list[TriggerRule] = Field(min_length=1)
    spellings: dict[str, str] = Field(
        default_factory=dict,
        description="typed or dictated misspellings and pinyin -> the words the knowledge base "
        "uses (理陪 -> 理赔, daijia -> 代驾); applied to the search query only",
    )

    @field_validator("spellings")
    @classmethod
    def _real_spellings(cls, value: dict[str, str]) -> dict[str, str]:
        for wrong, right in value.items():
            if not wrong.strip() or not right.strip():
                raise ValueError(f"a spelling needs both sides: {wrong!r} -> {right!r}")
            if wrong != normalise(wrong):
                raise ValueError(
                    f"spelling {wrong!r} must be written as normalised text ({normalise(wrong)!r})"
                )
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> MessageRulesFile:
        seen: set[str] = set()
        for rule in [*self.topics, *self.triggers]:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


class MessageReading(BaseModel):
    """What the rules read in one customer message."""

    intent: Intent = Intent.OTHER
    triggers: list[Reason] = Field(
        default_factory=list, description="human triggers found in the words, in Reason order"
    )
    matched: dict[str, list[str]] = Field(
        default_factory=dict,
        description="the words behind each intent and reason, keyed by their value",
    )
    injection: bool = False
    account_specific: bool = False
    carried_over: bool = Field(
        default=False, description="the intent comes from an earlier message"
    )

    @property
    def injection_only(self) -> bool:
        """An injection attempt with no genuine need (no human trigger, no topic)."""
        return self.injection and not self.triggers and self.intent is Intent.OTHER

    @field_validator("triggers")
    @classmethod
    def _human_triggers_only(cls, value: list[Reason]) -> list[Reason]:
        stray = [r.value for r in value if r not in HUMAN_TRIGGERS]
        if stray:
            raise ValueError(f"not human triggers: {', '.join(stray)}")
        return value


_REPEATED_MARK = re.compile(r"([^\w\s])\1+")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r" ?\n\s*")


def normalise(text: str) -> str:
    """The message in the form the rules are written against.

    Full-width forms become half-width (NFKC), ASCII letters lower case, a run of the same
    punctuation mark one mark, a run of spaces one space, a run of line breaks one line break;
    the ends are stripped.

    Args:
        text: the customer's message as typed.

    Returns:
        The normalised text.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _REPEATED_MARK.sub(r"\1", text.replace("\r", "\n"))
    return _LINE_BREAKS.sub("\n", _SPACES.sub(" ", text)).strip()


def split_clauses(normalised: str) -> list[str]:
    """The clauses of a normalised message, punctuation dropped.

    Args:
        normalised: output of ``normalise``.

    Returns:
        The non-empty clauses in order (cut at 。!?,;:、, line breaks, and at a space next to a
        Chinese character).
    """
    return [clause.text for clause in message_clauses(normalised)]


_UNLESS_SCOPES = {"clause": UnlessScope.SEGMENT, "message": UnlessScope.TEXT}


def _compiled(rule: _Rule) -> PatternRule:
    return PatternRule.compile(rule.patterns, rule.unless, _UNLESS_SCOPES[rule.unless_scope])


@dataclass(frozen=True)
class _Topic:
    intent: Intent
    words: list[str]


class MessageRules:
    """Compiled topic and trigger rules; ``read`` is pure."""

    def __init__(self, spec: MessageRulesFile) -> None:
        self.spec = spec
        # topics first, then triggers: a match's rule index below len(topics) is a topic
        self._matcher = RuleMatcher(
            [_compiled(rule) for rule in [*spec.topics, *spec.triggers]],
            message_clauses,
            Occurrence.FIRST_PER_PATTERN,
        )

    def corrected(self, text: str) -> str:
        """The message with known misspellings and pinyin replaced, for searching the knowledge
        base (pure); the message itself when none occurs. Longer spellings win over shorter."""
        normalised = normalise(text)
        fixed = normalised
        for wrong in sorted(self.spec.spellings, key=len, reverse=True):
            fixed = fixed.replace(wrong, self.spec.spellings[wrong])
        return text if fixed == normalised else fixed

    @classmethod
    def load(cls, path: Path) -> MessageRules:
        """Read and validate a rule file.

        Args:
            path: the YAML file (normally ``data/chatbot/routing_rules.yaml``).

        Returns:
            The compiled rules.

        Raises:
            ConfigurationError: a missing file, bad YAML, an invalid entry or a bad regular
                expression, naming the file.
        """
        return cls(read_yaml(path, MessageRulesFile))

    def read(self, text: str, history: Sequence[str] = ()) -> MessageReading:
        """Intent, human triggers and recorded properties of the latest customer message.

        Precedence (ROUTING.md): complaint, legal_threat or dispute make the intent
        ``complaint``; otherwise the first topic rule that matches; an emergency with no other
        topic is ``report_claim``; an explicit request with no other topic is ``to_human``;
        else ``other``. A message no topic rule matches ("好的", "那要多久"), or a bare request
        for a person, takes the topic of the latest of the last ``CARRY_TURNS`` history
        messages that has one, unless it is an injection attempt. Triggers never carry over.

        Args:
            text: the latest customer message.
            history: earlier customer messages of the conversation, oldest first.

        Returns:
            The reading.
        """
        topic_words, trigger_words = self._words(text)
        found = self._find_triggers(trigger_words)
        topic = self._find_topic(topic_words)
        triggers = [r for r in Reason if r in found and r in HUMAN_TRIGGERS]
        injection = Reason.INJECTION_ATTEMPT in found
        intent = _intent(topic, triggers)
        matched = {reason.value: words for reason, words in found.items()}
        if topic is not None:
            known = matched.get(topic.intent.value, [])
            matched[topic.intent.value] = list(dict.fromkeys([*known, *topic.words]))

        carried = False
        bare_request = intent is Intent.TO_HUMAN and Reason.EXPLICIT_REQUEST in triggers
        if not injection and (topic is None or bare_request) and intent in _CARRYABLE_FROM:
            earlier = self._earlier_topic(history)
            if earlier is not None:
                intent, carried = earlier.intent, True
                matched.setdefault(earlier.intent.value, earlier.words)

        return MessageReading(
            intent=intent,
            triggers=triggers,
            matched=matched,
            injection=injection,
            account_specific=Reason.ACCOUNT_SPECIFIC in found,
            carried_over=carried,
        )

    def _words(self, text: str) -> tuple[list[list[str]], list[list[str]]]:
        """Each topic rule's and each trigger rule's matched words in the message, in clause
        order without repeats; empty for a rule that does not match or that `unless` cancels."""
        words: list[list[str]] = [[] for _ in self._matcher.rules]
        for match in self._matcher.find(normalise(text)):
            words[match.rule].append(match.text)
        unique = [list(dict.fromkeys(w)) for w in words]
        return unique[: len(self.spec.topics)], unique[len(self.spec.topics) :]

    def _find_topic(self, rule_words: Sequence[list[str]]) -> _Topic | None:
        for rule, matched in zip(self.spec.topics, rule_words, strict=True):
            if matched:
                return _Topic(rule.intent, matched)
        return None

    def _find_triggers(self, rule_words: Sequence[list[str]]) -> dict[Reason, list[str]]:
        # an injection attempt is recorded beside the other reasons and never suppresses one
        found: dict[Reason, list[str]] = {}
        for rule, words in zip(self.spec.triggers, rule_words, strict=True):
            if words:
                found[rule.reason] = list(dict.fromkeys([*found.get(rule.reason, []), *words]))
        return found

    def _earlier_topic(self, history: Sequence[str]) -> _Topic | None:
        """The intent of the latest recent history message with a substantive one."""
        for past in reversed(history[-CARRY_TURNS:]):
            topic_words, trigger_words = self._words(past)
            found = self._find_triggers(trigger_words)
            topic = self._find_topic(topic_words)
            intent = _intent(topic, found)
            if intent not in _CARRYABLE_FROM:
                words = topic.words if topic else [w for ws in found.values() for w in ws]
                return _Topic(intent, words)
        return None


def _intent(topic: _Topic | None, triggers: Iterable[Reason]) -> Intent:
    """ROUTING.md's precedence over the first topic rule and the human triggers."""
    present = set(triggers)
    if present & COMPLAINT_TRIGGERS:
        return Intent.COMPLAINT
    if topic is not None and topic.intent is not Intent.TO_HUMAN:
        return topic.intent
    if Reason.INJURY_EMERGENCY in present:
        return Intent.REPORT_CLAIM
    if topic is not None or Reason.EXPLICIT_REQUEST in present:
        return Intent.TO_HUMAN
    return Intent.OTHER
