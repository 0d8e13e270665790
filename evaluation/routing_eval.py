"""Scoring the chatbot's routing decision against labelled messages (data/eval/routing_*.jsonl).

``python -m evaluation.routing_eval`` prints the dev-split figures of the shipped rules with
text-only signals; ``--heldout`` adds the held-out third (measure it once, after tuning).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from chatbot.routing import RoutingSignals, route
from chatbot.routing_sets import RoutingExample, load_routing_set, split_routing
from chatbot.understanding import MessageRules
from core.metrics import binary_scores

Decide = Callable[[str], tuple[str, str, list[str]]]
"""A router under test: message text → (route, intent, reasons)."""


class RoutingOutcome(BaseModel):
    """A route, an intent and the reasons, as labelled or as decided."""

    route: str
    intent: str
    reasons: list[str] = Field(default_factory=list)


class RoutingError(BaseModel):
    """A message whose route or intent differs from its label."""

    id: str
    text: str
    expected: RoutingOutcome
    got: RoutingOutcome


class RoutingScores(BaseModel):
    """Routing quality over a labelled set (positive class = human)."""

    total: int
    human_recall: float
    human_precision: float
    needless_handoff_rate: float = Field(
        description="bot-labelled messages routed to a person / bot-labelled messages"
    )
    route_accuracy: float
    intent_accuracy: float
    reason_recall: dict[str, float] = Field(
        description="per labelled reason: share of its messages whose decision records it"
    )
    reason_support: dict[str, int]
    errors: list[RoutingError] = Field(description="route or intent differs from the label")


def score_routing(examples: Sequence[RoutingExample], decide: Decide) -> RoutingScores:
    """Run a router over labelled messages and score it.

    Args:
        examples: the labelled messages.
        decide: the router under test, text → (route, intent, reasons).

    Returns:
        Human recall and precision, the needless-handoff rate, route and intent accuracy,
        per-reason recall, and the messages routed or classified wrongly.

    Raises:
        ValueError: no examples, or the router returned a route other than bot/human.
    """
    if not examples:
        raise ValueError("no routing examples to score")
    outcomes: list[RoutingOutcome] = []
    for example in examples:
        got_route, got_intent, got_reasons = decide(example.text)
        if got_route not in ("bot", "human"):
            raise ValueError(f"{example.id}: route {got_route!r} is neither 'bot' nor 'human'")
        outcomes.append(RoutingOutcome(route=got_route, intent=got_intent, reasons=got_reasons))

    gold_human = [e.route == "human" for e in examples]
    got_human = [o.route == "human" for o in outcomes]
    scores = binary_scores(gold_human, got_human)
    bot_labelled = [got for gold, got in zip(gold_human, got_human, strict=True) if not gold]

    support: dict[str, int] = {}
    hits: dict[str, int] = {}
    for example, outcome in zip(examples, outcomes, strict=True):
        for reason in example.reasons:
            support[reason.value] = support.get(reason.value, 0) + 1
            hits[reason.value] = hits.get(reason.value, 0) + (reason.value in outcome.reasons)

    errors = [
        RoutingError(
            id=e.id,
            text=e.text,
            expected=RoutingOutcome(
                route=e.route, intent=e.intent.value, reasons=[r.value for r in e.reasons]
            ),
            got=o,
        )
        for e, o in zip(examples, outcomes, strict=True)
        if o.route != e.route or o.intent != e.intent.value
    ]
    return RoutingScores(
        total=len(examples),
        human_recall=scores.recall,
        human_precision=scores.precision,
        needless_handoff_rate=sum(bot_labelled) / len(bot_labelled) if bot_labelled else 0.0,
        route_accuracy=scores.accuracy,
        intent_accuracy=sum(
            o.intent == e.intent.value for e, o in zip(examples, outcomes, strict=True)
        )
        / len(examples),
        reason_recall={r: hits[r] / support[r] for r in sorted(support)},
        reason_support=dict(sorted(support.items())),
        errors=errors,
    )


def text_only_decider(rules: MessageRules) -> Decide:
    """The shipped router on the words alone: no classifier, retrieval or failure signals.

    Args:
        rules: the message rules.

    Returns:
        A ``Decide`` function for ``score_routing``.
    """

    def decide(text: str) -> tuple[str, str, list[str]]:
        reading = rules.read(text)
        decision = route(RoutingSignals(reading=reading))
        return decision.route, reading.intent.value, [r.value for r in decision.reasons]

    return decide


def format_scores(name: str, scores: RoutingScores) -> list[str]:
    """A plain-text report of one set's scores, errors included.

    Args:
        name: what the set is (shown in the heading).
        scores: its scores.

    Returns:
        The report lines.
    """
    lines = [
        f"{name}: {scores.total} messages",
        f"  human recall {scores.human_recall:.3f}  human precision {scores.human_precision:.3f}"
        f"  needless handoffs {scores.needless_handoff_rate:.3f}"
        f"  route accuracy {scores.route_accuracy:.3f}  intent accuracy "
        f"{scores.intent_accuracy:.3f}",
        "  reason recall: "
        + ", ".join(
            f"{r} {scores.reason_recall[r]:.2f} ({scores.reason_support[r]})"
            for r in scores.reason_recall
        ),
    ]
    for error in scores.errors:
        lines.append(
            f"  {error.id}: expected {error.expected.route}/{error.expected.intent} "
            f"{error.expected.reasons}, got {error.got.route}/{error.got.intent} "
            f"{error.got.reasons} | {error.text}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the shipped rules' scores on the dev split (and the held-out third if asked)."""
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=root / "data/eval/routing_messages.jsonl")
    parser.add_argument("--rules", type=Path, default=root / "data/chatbot/routing_rules.yaml")
    parser.add_argument("--heldout", action="store_true", help="also score the held-out third")
    args = parser.parse_args(argv)
    decide = text_only_decider(MessageRules.load(args.rules))
    dev, heldout = split_routing(load_routing_set(args.data))
    lines = format_scores("dev (id % 3 != 0)", score_routing(dev, decide))
    if args.heldout:
        lines += format_scores("held-out (id % 3 == 0)", score_routing(heldout, decide))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
