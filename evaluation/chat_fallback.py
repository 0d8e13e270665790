"""The chatbot on messages whose words name no topic it answers: how many get a knowledge answer,
and the bar (``data/chatbot/unknown_intent.yaml``) that decides it.

``python -m evaluation.chat_fallback`` feeds our dev questions (data/eval/dev_questions.jsonl) to
the bot as one-message chats and counts knowledge answers, fallbacks ("not found" and the offer of
a person), other fixed replies and handoffs. ``--sweep`` scores candidate bars on dev data only:
the dev questions the rules find no topic in, and the bot-labelled messages of
data/chatbot/routing_train.jsonl they find no topic in (labelled with a knowledge intent: should be
answered; labelled ``other``, chit-chat and requests the bot cannot serve: should not). Never run
it on the held-out or blind sets: they are for measuring, not for choosing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from chatbot.confidence import AnswerBar
from chatbot.models import BotAnswer
from chatbot.routing import KNOWLEDGE_INTENTS
from chatbot.routing_sets import RoutingExample, load_routing_set
from chatbot.service import ChatbotService, unknown_topic
from chatbot.understanding import MessageRules
from conversation.intents import Intent
from core.models import Hit
from core.settings import PROJECT_ROOT
from studio.questions import DevQuestion, load_dev_questions

Outcome = Literal["knowledge", "fallback", "template", "human"]
OUTCOMES: tuple[Outcome, ...] = ("knowledge", "fallback", "template", "human")

DEV_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "dev_questions.jsonl"
ROUTING_TRAIN = PROJECT_ROOT / "data" / "chatbot" / "routing_train.jsonl"

CONFIDENCE_GRID = tuple(round(0.40 + 0.05 * i, 2) for i in range(13))  # 0.40 … 1.00
MATCHED_TERMS_GRID = (0, 1, 2, 3)
BETA = 0.5
"""Precision counts twice as much as recall: a clause for chit-chat misleads, while "not found"
and the offer of a person only costs the customer a step."""


def outcome(answer: BotAnswer, fallbacks: Collection[str]) -> Outcome:
    """What the bot did with one message (pure).

    Args:
        answer: the bot's answer.
        fallbacks: what the bot says when it has no answer ("not found", as it says it).

    Returns:
        ``human`` (handed over), ``knowledge`` (answered with citations), ``fallback`` (one of
        ``fallbacks``) or ``template`` (another fixed reply: the identity prompt, the complaint
        channel, a greeting…).
    """
    if answer.route == "human":
        return "human"
    if answer.citations:
        return "knowledge"
    return "fallback" if answer.answer in fallbacks else "template"


class ChatOutcomes(BaseModel):
    """What the bot did with a set of messages."""

    total: int
    counts: dict[str, int] = Field(description="messages per outcome, every outcome listed")
    examples: dict[str, list[str]] = Field(description="the messages per outcome")


def chat_outcomes(
    answer: Callable[[str], BotAnswer], texts: Sequence[str], fallbacks: Collection[str]
) -> ChatOutcomes:
    """Feed messages to the bot one by one and count the outcomes.

    Args:
        answer: the bot (``ChatbotService.answer_once``).
        texts: the messages.
        fallbacks: what the bot says when it has no answer.

    Returns:
        The counts and the messages behind each.
    """
    examples: dict[str, list[str]] = {o: [] for o in OUTCOMES}
    for text in texts:
        examples[outcome(answer(text), fallbacks)].append(text)
    return ChatOutcomes(
        total=len(texts), counts={o: len(examples[o]) for o in OUTCOMES}, examples=examples
    )


class BarExample(BaseModel):
    """A message the bot searches as an unknown topic, and whether it should be answered."""

    text: str
    answerable: bool
    gold: list[str] = Field(default_factory=list, description="passages that answer it, if known")


def bar_examples(
    rules: MessageRules, questions: Sequence[DevQuestion], routing: Sequence[RoutingExample]
) -> list[BarExample]:
    """The dev messages the unknown-intent bar decides on (``chatbot.service.unknown_topic``).

    Args:
        rules: the message rules.
        questions: dev questions (all answerable, with gold passages).
        routing: labelled routing messages; only bot-labelled ones count, answerable when
            labelled with a knowledge intent, not when labelled ``other``.

    Returns:
        The examples, questions first.
    """
    out = [
        BarExample(text=q.question, answerable=True, gold=q.gold)
        for q in questions
        if unknown_topic(rules.read(q.question))
    ]
    for example in routing:
        if example.route != "bot" or not unknown_topic(rules.read(example.text)):
            continue
        if example.intent in KNOWLEDGE_INTENTS:
            out.append(BarExample(text=example.text, answerable=True))
        elif example.intent is Intent.OTHER:
            out.append(BarExample(text=example.text, answerable=False))
    return out


class BarScore(BaseModel):
    """One candidate bar on the examples."""

    bar: AnswerBar
    answered: int = Field(description="answerable examples it answers")
    answerable: int
    wrongly_answered: int = Field(description="examples it answers that should not be")
    unanswerable: int
    precision: float
    recall: float
    f_beta: float
    cites_gold: int = Field(description="answered examples with gold passages citing one of them")
    with_gold: int = Field(description="answered examples with gold passages")


def score_bar(
    bar: AnswerBar, examples: Sequence[BarExample], hits: Sequence[list[Hit]]
) -> BarScore:
    """Score one bar (pure).

    Args:
        bar: the candidate.
        examples: the labelled messages.
        hits: each message's retrieved passages, best first (``ChatbotService.knowledge_hits``).

    Returns:
        Its precision, recall and F-beta (``BETA``) on "should be answered", and how often an
        answer with known gold cites it (the answer cites the top two passages).
    """
    answered = [bar.clears(h) for h in hits]
    tp = sum(a and e.answerable for a, e in zip(answered, examples, strict=True))
    fp = sum(a and not e.answerable for a, e in zip(answered, examples, strict=True))
    positives = sum(e.answerable for e in examples)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    b2 = BETA * BETA
    f_beta = (1 + b2) * precision * recall / (b2 * precision + recall) if tp else 0.0
    graded = [(e, h) for a, e, h in zip(answered, examples, hits, strict=True) if a and e.gold]
    return BarScore(
        bar=bar,
        answered=tp,
        answerable=positives,
        wrongly_answered=fp,
        unanswerable=len(examples) - positives,
        precision=precision,
        recall=recall,
        f_beta=f_beta,
        cites_gold=sum(bool({x.id for x in h[:2]} & set(e.gold)) for e, h in graded),
        with_gold=len(graded),
    )


def sweep(examples: Sequence[BarExample], hits: Sequence[list[Hit]]) -> list[BarScore]:
    """Every bar of the grid, best first: highest F-beta, then the stricter bar.

    Args:
        examples: the labelled messages.
        hits: each message's retrieved passages.

    Returns:
        The scores of every bar in ``CONFIDENCE_GRID`` × ``MATCHED_TERMS_GRID``.
    """
    scores = [
        score_bar(AnswerBar(min_confidence=c, min_matched_terms=t), examples, hits)
        for c in CONFIDENCE_GRID
        for t in MATCHED_TERMS_GRID
    ]
    return sorted(
        scores,
        key=lambda s: (-s.f_beta, -s.bar.min_confidence, -s.bar.min_matched_terms),
    )


def format_outcomes(name: str, result: ChatOutcomes) -> list[str]:
    """A plain-text report of the outcomes, with the messages that got no knowledge answer.

    Args:
        name: what the messages are (shown first).
        result: their outcomes.

    Returns:
        The report lines.
    """
    lines = [
        f"{name}: {result.total} messages; "
        + ", ".join(f"{o} {result.counts[o]}" for o in OUTCOMES)
    ]
    for kind in ("fallback", "template"):
        lines += [f"  {kind}: {text}" for text in result.examples[kind]]
    return lines


def format_score(score: BarScore) -> str:
    """One bar's figures on one line.

    Args:
        score: the bar's score.

    Returns:
        The line.
    """
    return (
        f"min_confidence {score.bar.min_confidence:.2f} min_matched_terms "
        f"{score.bar.min_matched_terms}: answers {score.answered}/{score.answerable} answerable, "
        f"{score.wrongly_answered}/{score.unanswerable} not answerable; precision "
        f"{score.precision:.3f} recall {score.recall:.3f} F{BETA} {score.f_beta:.3f}; "
        f"cites gold {score.cites_gold}/{score.with_gold}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the dev questions' outcomes through the shipped bot (and the bar sweep if asked)."""
    from services.root import build_services

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--questions", type=Path, default=DEV_QUESTIONS)
    parser.add_argument("--routing", type=Path, default=ROUTING_TRAIN)
    parser.add_argument("--sweep", action="store_true", help="also score candidate bars")
    args = parser.parse_args(argv)
    services = build_services()
    bot: ChatbotService = services.chatbot()
    questions = load_dev_questions(args.questions)
    texts = [q.question for q in questions]
    lines = format_outcomes(
        "dev questions as chat messages",
        chat_outcomes(bot.answer_once, texts, {bot.answers.no_answer}),
    )
    if args.sweep:
        rules = MessageRules.load(services.settings.routing_rules)
        examples = bar_examples(rules, questions, load_routing_set(args.routing))
        hits = [bot.knowledge_hits(e.text) for e in examples]
        scores = sweep(examples, hits)
        shipped = AnswerBar.load(services.settings.chat_unknown_intent)
        lines += [
            f"bar sweep: {len(examples)} messages with no topic the bot answers, best first",
            *[f"  {format_score(s)}" for s in scores],
            f"shipped: {format_score(score_bar(shipped, examples, hits))}",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
