"""The self-service routing decision: bot or human, and why (pure).

Inputs are the rule reading of the message (``chatbot.understanding``), the emotion
classifier's verdict, the retrieval confidence and the bot's failure count; the caller gathers
them, this module only decides.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatbot.understanding import HUMAN_TRIGGERS, MessageReading, Reason
from conversation.intents import Intent
from sentiment.mood import HIGH_INTENSITY

MAX_BOT_FAILURES = 2  # this many unanswered turns in a row hand the customer over
MIN_READABLE_CHARS = 4
"""A message with fewer letters or characters than this ("？？", "在不在") is too short for the
emotion classifier's intensity alone to call it upset (ROUTING.md: bare punctuation is bot)."""

KNOWLEDGE_INTENTS: frozenset[Intent] = frozenset(
    {
        Intent.CLAUSE_QUERY,
        Intent.REPORT_CLAIM,
        Intent.CLAIM_PROGRESS,
        Intent.CLAIM_MATERIALS,
        Intent.RENEWAL_CHANGE,
        Intent.VALUE_ADDED,
    }
)
"""Intents the bot answers from retrieved passages: a weak top hit hands them over."""

ROUTING_REASONS: frozenset[Reason] = HUMAN_TRIGGERS | {
    Reason.LOW_CONFIDENCE,
    Reason.BOT_FAILED,
    Reason.FOREIGN_LANGUAGE,
}
"""Reasons that send a message to a person (the others are only recorded)."""

VETOABLE_REASONS: frozenset[Reason] = HUMAN_TRIGGERS - {Reason.INJURY_EMERGENCY}
"""Rule triggers the learned detector may overrule when it is sure a message is calm: never an
injury or emergency."""

URGENT_REASONS: frozenset[Reason] = frozenset({Reason.UPSET, Reason.LEGAL_THREAT})
"""Reasons that put a handoff ahead of ordinary ones (after injuries)."""


class RoutingSignals(BaseModel):
    """Everything the routing decision looks at for one customer message."""

    model_config = ConfigDict(frozen=True)

    reading: MessageReading
    upset: bool = Field(default=False, description="the emotion classifier's verdict")
    upset_turns: int = Field(
        default=0, ge=0, description="consecutive upset customer turns, this one included"
    )
    intensity: float = Field(
        default=0.0, ge=0, le=1, description="the emotion classifier's intensity"
    )
    escalation_cue: bool = Field(
        default=False, description="the emotion classifier's escalation cue fired"
    )
    retrieval_confidence: float | None = Field(
        default=None, ge=0, le=1, description="top hit score; None when no retrieval is needed"
    )
    bot_failures: int = Field(
        default=0, ge=0, description="turns in a row the bot could not answer"
    )
    readable_chars: int | None = Field(
        default=None,
        ge=0,
        description="letters, digits and CJK characters in the message; None when not counted",
    )
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    foreign_language: bool = Field(
        default=False, description="written in a language the bot does not answer (not Chinese)"
    )
    learned_above: bool = Field(
        default=False, description="the learned handoff detector's P(human) is over its threshold"
    )
    learned_reasons: list[Reason] = Field(
        default_factory=list, description="the detector's reasons (human triggers), best first"
    )
    learned_p: float | None = Field(
        default=None, ge=0, le=1, description="the detector's P(human); None without a detector"
    )
    rule_veto: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="below this P(human) the rules' triggers in VETOABLE_REASONS do not count",
    )


class RouteDecision(BaseModel):
    """Where the message goes, why, and how the handoff should be handled."""

    model_config = ConfigDict(frozen=True)

    route: Literal["bot", "human"]
    reasons: list[Reason] = Field(
        default_factory=list, description="every reason that applies, in Reason order"
    )
    safety_first: bool = Field(
        default=False,
        description="give safety guidance first (110/120, stay clear of the road, hazard lights)",
    )
    priority_hint: int = Field(
        default=2, ge=0, le=2, description="0 injury or danger, 1 upset or legal threat, 2 other"
    )
    learned_only: bool = Field(
        default=False, description="only the learned detector sent it to a person (for review)"
    )
    overruled: list[Reason] = Field(
        default_factory=list,
        description="rule triggers the detector overruled as calm (recorded, not routed on)",
    )


def detector_sure_calm(signals: RoutingSignals) -> bool:
    """The learned detector is sure the message needs no person: P(human) below ``rule_veto``."""
    return signals.learned_p is not None and signals.learned_p < signals.rule_veto


def classifier_upset(signals: RoutingSignals) -> bool:
    """Whether the emotion classifier's upset verdict is strong enough to hand over (pure).

    One mildly negative but calm question must stay with the bot, so the verdict counts only
    when something backs it: the words show upset, the intensity is high
    (``sentiment.mood.HIGH_INTENSITY``) on a message long enough to read
    (``MIN_READABLE_CHARS``) that the learned detector does not find calm (P(human) below
    ``rule_veto``), or the customer has been upset for two turns. An
    escalation cue (投诉, 监管, 律师…) does not back it: calm questions about those channels
    carry the same words, and a real threat is a trigger in the words already.

    Args:
        signals: the message's signals.

    Returns:
        True when the classifier's verdict alone sends the message to a person.
    """
    if not signals.upset:
        return False
    readable = signals.readable_chars is None or signals.readable_chars >= MIN_READABLE_CHARS
    calm = detector_sure_calm(signals)
    return (
        Reason.UPSET in signals.reading.triggers
        or (signals.intensity >= HIGH_INTENSITY and readable and not calm)
        or signals.upset_turns >= 2
    )


def readable_chars(text: str) -> int:
    """Letters, digits and CJK characters in a message (pure): punctuation and emoji do not count.

    Args:
        text: the message.

    Returns:
        How many word characters it has.
    """
    return sum(1 for ch in text if ch.isalnum())


def is_pure_injection(reading: MessageReading) -> bool:
    """An injection attempt with no genuine need: the bot refuses politely (pure).

    Args:
        reading: the message reading.

    Returns:
        True when the message is an injection attempt with no human trigger and no topic.
    """
    return reading.injection_only


def route(signals: RoutingSignals) -> RouteDecision:
    """Bot or human for one customer message (pure).

    - Any human trigger in the words routes to a person.
    - The classifier's upset verdict routes to a person (reason ``upset``) when backed (see
      ``classifier_upset``).
    - A knowledge intent whose top retrieval hit scores below ``min_confidence`` routes to a
      person (``low_confidence``).
    - ``MAX_BOT_FAILURES`` unanswered turns in a row route to a person (``bot_failed``).
    - An injection attempt is recorded but never routes on its own: a pure attempt stays with
      the bot whatever the other signals say (it is refused, not retried, so neither retrieval
      nor failures apply, and anger does not buy a human). It never suppresses a trigger
      either: "新的指令：我要向监管部门反映你们" goes to a person.
    - A message in a language the bot does not answer (``foreign_language``) goes to a person;
      its triggers in the words count as usual.
    - ``account_specific`` is recorded; the bot handles it after an identity check.
    - When the detector is sure a message is calm (P(human) below ``rule_veto``, chosen in
      training on messages by authors the detector never saw), the rules' triggers in
      ``VETOABLE_REASONS`` are overruled: listed in ``overruled``, not routed on. An injury or
      emergency in the words always counts.
    - The learned handoff detector (``chatbot.learned``), when over its threshold, adds its human
      triggers: it catches paraphrases the rules miss. It is not consulted on a message with an
      injection attempt, neither to add reasons nor to overrule them: there only the rules'
      triggers count.
      ``learned_only`` marks handoffs it alone caused.

    Args:
        signals: the reading and the conversation signals.

    Returns:
        The decision, with every applicable reason, whether safety guidance comes first, and a
        priority hint (lower is more urgent).
    """
    reading = signals.reading
    found = set(reading.triggers)
    # the detector is not consulted on an injection attempt, to add reasons or to overrule them
    calm = detector_sure_calm(signals) and not reading.injection
    overruled = [r for r in Reason if r in found & VETOABLE_REASONS] if calm else []
    found -= set(overruled)
    if reading.account_specific:
        found.add(Reason.ACCOUNT_SPECIFIC)
    if reading.injection:
        found.add(Reason.INJECTION_ATTEMPT)
    if not is_pure_injection(reading):
        if classifier_upset(signals):
            found.add(Reason.UPSET)
        if (
            reading.intent in KNOWLEDGE_INTENTS
            and signals.retrieval_confidence is not None
            and signals.retrieval_confidence < signals.min_confidence
        ):
            found.add(Reason.LOW_CONFIDENCE)
        if signals.bot_failures >= MAX_BOT_FAILURES:
            found.add(Reason.BOT_FAILED)
        if signals.foreign_language:
            found.add(Reason.FOREIGN_LANGUAGE)
    rules_human = bool(found & ROUTING_REASONS)
    if signals.learned_above and not reading.injection:
        found.update(r for r in signals.learned_reasons if r in HUMAN_TRIGGERS)

    reasons = [r for r in Reason if r in found]
    human = bool(found & ROUTING_REASONS)
    safety_first = Reason.INJURY_EMERGENCY in found
    if safety_first:
        priority = 0
    elif human and (found & URGENT_REASONS or signals.escalation_cue):
        priority = 1
    else:
        priority = 2
    return RouteDecision(
        route="human" if human else "bot",
        reasons=reasons,
        safety_first=safety_first,
        priority_hint=priority,
        learned_only=human and not rules_human,
        overruled=overruled,
    )
