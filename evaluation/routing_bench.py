"""Chatbot routing in ``make bench``: the whole bot (rules, emotion, retrieval) on labelled sets.

Each message is an independent one-message conversation (``ChatbotService.answer_once``), so
the route comes from everything the bot knows about one message: the words, the caller-emotion
classifier and the retrieval confidence. Sets: the dev part of ``routing_messages.jsonl`` (the
rules were written against it, the detector is trained on it), its held-out third, seven sets by
other authors the detector is now trained on (``routing_heldout.jsonl``, ``routing_blind2.jsonl``
… ``routing_blind5.jsonl``, ``routing_blind7.jsonl`` and ``routing_blind8.jsonl``; their figures
here are in-sample), ``routing_blind6.jsonl`` (measured, not trained on, its errors not read) and
the blind set ``routing_blind9.jsonl``, written after all tuning by yet another author from the
labelling guide only. The section also reports
training's cross-author check: each author set scored by a detector that never saw that author
(``chatbot.learned_training``).
The table also counts the messages of each set whose text (ignoring white space and punctuation)
also occurs in the detector's training data: short common messages ("谢谢", "人工") coincide
between independent authors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from chatbot.learned_training import (
    DEFAULT_AUTHOR_SETS,
    DEFAULT_MESSAGES,
    DEFAULT_TRAIN,
    default_author_sets,
    load_training_set,
)
from chatbot.routing_sets import RoutingExample, load_routing_set, split_routing
from chatbot.service import ChatbotService
from core.metrics import percentiles
from core.settings import PROJECT_ROOT
from evaluation.routing_eval import Decide, RoutingScores, score_routing
from services.root import Services

ROUTING_SET = PROJECT_ROOT / "data" / "eval" / "routing_messages.jsonl"
OTHER_AUTHORS: tuple[Path, ...] = (
    PROJECT_ROOT / "data" / "eval" / "routing_heldout.jsonl",
    *(PROJECT_ROOT / "data" / "eval" / f"routing_blind{n}.jsonl" for n in range(2, 10)),
)
"""The sets by other authors, in the order they were written (set 1 is ``routing_heldout``)."""
TARGET_RECALL = 0.95
TARGET_NEEDLESS = 0.10
_NOT_WORD = re.compile(r"[\W_]+")


def bot_decider(bot: ChatbotService, latencies: list[float]) -> Decide:
    """The whole bot as a router; each call's wall time (ms) is appended to ``latencies``."""

    def decide(text: str) -> tuple[str, str, list[str]]:
        started = time.perf_counter()
        answer = bot.answer_once(text)
        latencies.append((time.perf_counter() - started) * 1000)
        return answer.route, answer.intent, answer.reasons

    return decide


def routing_sets() -> list[tuple[str, list[RoutingExample]]]:
    """(name, examples) for every labelled set present."""
    dev, heldout = split_routing(load_routing_set(ROUTING_SET))
    sets = [
        ("dev part (rules written against it, detector trained on it)", dev),
        ("held-out third of the same set", heldout),
    ]
    present = [(n, p) for n, p in enumerate(OTHER_AUTHORS, start=1) if p.exists()]
    trained = [(n, p) for n, p in present if p in DEFAULT_AUTHOR_SETS]
    untrained = [(n, p) for n, p in present if p not in DEFAULT_AUTHOR_SETS]
    # the roles follow training's author sets: the newest set not trained on is the blind one
    names = [(n, p, f"author set {n} (trained on)") for n, p in trained]
    names += [(n, p, f"set {n} by another author (not trained on)") for n, p in untrained[:-1]]
    names += [(n, p, f"blind set {n} (another author, newest)") for n, p in untrained[-1:]]
    return [*sets, *((name, load_routing_set(path)) for _, path, name in names)]


def _key(text: str) -> str:
    return _NOT_WORD.sub("", text)


def shared_with(examples: Sequence[RoutingExample], known: set[str]) -> int:
    """How many messages' texts (ignoring white space and punctuation) are in ``known`` (pure)."""
    return sum(_key(e.text) in known for e in examples)


def training_keys() -> set[str]:
    """The detector's training texts (the author sets included), as ``shared_with`` compares."""
    data = load_training_set(DEFAULT_TRAIN, DEFAULT_MESSAGES, default_author_sets())
    return {_key(e.text) for e in data.examples}


def _row(name: str, scores: RoutingScores, shared: int) -> str:
    wrong = sum(1 for e in scores.errors if e.expected.route != e.got.route)
    return (
        f"| {name} | {scores.total} | {shared} | {scores.human_recall:.3f} "
        f"| {scores.human_precision:.3f} | {scores.needless_handoff_rate:.3f} "
        f"| {scores.route_accuracy:.3f} | {scores.intent_accuracy:.3f} | {wrong} |"
    )


def cross_author_lines(metrics: dict[str, float]) -> list[str]:
    """The training's cross-author figures as a table (pure); empty when it had no author sets."""
    names = [
        k.removeprefix("author.").removesuffix(".messages")
        for k in metrics
        if k.startswith("author.") and k.endswith(".messages")
    ]
    if not names:
        return []
    rows = [
        f"| {name} | {metrics[f'author.{name}.messages']:.0f} "
        f"| {metrics[f'author.{name}.human_recall']:.3f} "
        f"| {metrics[f'author.{name}.needless_handoff_rate']:.3f} |"
        for name in names
    ]
    return [
        "Cross-author check from training: each author set scored by a detector trained without "
        "that author (rules + detector on the words; the emotion classifier and retrieval "
        "confidence, which only add handoffs, are left out). This is the estimate for writing "
        "the detector has never seen.",
        "",
        "| author set, held out whole | messages | human recall | needless handoffs |",
        "|---|---|---|---|",
        *rows,
        f"| all | {metrics['authors.messages']:.0f} | {metrics['authors.human_recall']:.3f} "
        f"| {metrics['authors.needless_handoff_rate']:.3f} |",
        "",
    ]


def _missed(scores: RoutingScores, limit: int = 12) -> list[str]:
    missed = [e for e in scores.errors if e.expected.route == "human" and e.got.route == "bot"]
    lines = [f"- `{e.id}` {e.text} (expected {', '.join(e.expected.reasons)})" for e in missed]
    return lines[:limit] + ([f"- … and {len(missed) - limit} more"] if len(missed) > limit else [])


def bench_routing(
    services: Services,
    lines: list[str],
    sets: Sequence[tuple[str, list[RoutingExample]]] | None = None,
) -> None:
    """Append the routing section: quality per set, the misses, per-message latency."""
    bot = services.chatbot()
    latencies: list[float] = []
    decide = bot_decider(bot, latencies)
    decide("你好，车损险包括哪些")  # warm-up: models, index, caches
    latencies.clear()
    chosen = sets or routing_sets()
    known = training_keys()
    results = [(name, score_routing(examples, decide)) for name, examples in chosen]
    shared = [shared_with(examples, known) for _, examples in chosen]
    p50, p95 = percentiles(latencies)
    lines += [
        "## Self-service chatbot routing",
        "",
        "Every message is a one-message conversation through `ChatbotService.answer_once` "
        "(rules, caller-emotion classifier, retrieval confidence; no LLM). Human recall is the "
        f"share of messages labelled `human` that were handed over (target ≥ {TARGET_RECALL}); "
        "needless handoffs are the share of `bot` messages handed over (target ≤ "
        f"{TARGET_NEEDLESS:.0%}).",
        "",
        "The detector is trained on our training set, the dev part and the seven author sets; "
        '"in training" counts the messages whose text (ignoring white space and punctuation) '
        "also occurs in the training data, so the author sets' rows are in-sample.",
        "",
        "| set | messages | in training | human recall | human precision | needless handoffs "
        "| route accuracy | intent accuracy | wrong routes |",
        "|---|---|---|---|---|---|---|---|---|",
        *[_row(name, scores, n) for (name, scores), n in zip(results, shared, strict=True)],
        "",
        f"Per-message latency, warm, {len(latencies)} messages: p50 {p50:.1f} ms, p95 "
        f"{p95:.1f} ms (target p95 ≤ 150 ms without an LLM).",
        "",
        *cross_author_lines(services.handoff_detector.manifest.cv_metrics),
    ]
    for name, scores in results[1:]:
        missed = _missed(scores)
        if missed:
            lines += [f"Human messages kept by the bot, {name}:", "", *missed, ""]


def main() -> None:
    """Print the routing section for the default data directory."""
    from core.settings import Settings

    lines: list[str] = []
    bench_routing(Services(Settings()), lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
