"""``make bench`` section: cards that follow the conversation, per set with its role, and the
caller-turn latency of the whole assist pipeline with the topic state and the learned ranker."""

from __future__ import annotations

import time
from pathlib import Path

from conversation.models import Speaker, Turn
from core.metrics import percentiles
from core.settings import PROJECT_ROOT
from evaluation.conversation_eval import CallFigures, measure_calls, measure_questions
from knowledge.ranker_training import LabelledCall, load_calls, load_questions
from services.root import Services

EVAL = PROJECT_ROOT / "data" / "eval"
BLIND_QUESTIONS = sorted(EVAL.glob("retrieval_blind_questions*.jsonl"))
BLIND_CALLS = sorted(EVAL.glob("retrieval_blind_calls*.jsonl"))
TRAINING = PROJECT_ROOT / "data" / "retrieval"
TURN_TARGET_MS = 120.0


def _call_row(name: str, role: str, figures: CallFigures) -> str:
    return (
        f"| {name} | {role} | {figures.calls} | {figures.need_turns} | "
        f"{figures.hit_rate:.3f} | {figures.context_turns} | {figures.context_rate:.3f} | "
        f"{figures.filler_with_cards} of {figures.filler_turns} |"
    )


def _relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def bench_conversation(services: Services, lines: list[str]) -> None:
    """Training cross-validation, the blind sets (measured once, after tuning), and latency."""
    search = services.conversation_search()
    ranker = services.card_ranker
    lines += ["## Cards that follow the conversation (topic state + learned ranker)", ""]
    if ranker is not None:
        cv = ranker.manifest.cross_validation
        lines += [
            f"Ranker trained on {ranker.manifest.questions} questions and "
            f"{ranker.manifest.call_turns} labelled call turns by "
            f"{len(ranker.manifest.authors)} authors ({', '.join(ranker.manifest.authors)}; "
            "`data/retrieval/`, guide `docs/retrieval_labelling.md`). Role: **trained on**; the "
            "figures below hold each author out whole (hit@3, learned ranker vs the fused order "
            "of the same searches):",
            "",
            "| moments | learned | fused |",
            "|---|---|---|",
        ]
        for key, label in (
            ("question", "single questions"),
            ("call_own", "call turns with a topic of their own"),
            ("call_context", "call turns whose topic comes only from context"),
        ):
            lines.append(
                f"| {label} | {cv.get(key + '_learned', 0):.3f} | {cv.get(key + '_fused', 0):.3f} |"
            )
        lines.append("")
    else:
        lines += ["No trained ranker (run `make setup`): cards in fused order.", ""]
    lines += [
        "Blind sets: written after tuning by separate authors from the labelling guide alone, "
        "never seen while developing, measured once (role: **blind**).",
        "",
        "| single questions | role | n | R@1 | R@3 | R@5 | MRR@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in BLIND_QUESTIONS:
        figures = measure_questions(search, load_questions([path]))
        lines.append(
            f"| `{_relative(path)}` | blind | {figures.n} | {figures.r1:.3f} | {figures.r3:.3f} | "
            f"{figures.r5:.3f} | {figures.mrr:.3f} |"
        )
    lines += [
        "",
        "Target (a): R@3 ≥ 0.93.",
        "",
        "| calls | role | calls | need turns | hit@3 | context-only turns | hit@3 | "
        "filler turns with a card |",
        "|---|---|---|---|---|---|---|---|",
    ]
    blind_calls: list[LabelledCall] = []
    for path in BLIND_CALLS:
        calls = load_calls([path])
        blind_calls += calls
        lines.append(_call_row(f"`{_relative(path)}`", "blind", measure_calls(search, calls)))
    lines += [
        "",
        "Target (b): hit@3 ≥ 0.90 on every caller turn with a need and on the context-only ones, "
        "and no card on filler alone.",
        "",
    ]
    sample = blind_calls or load_calls(sorted(TRAINING.glob("calls_*.jsonl")))[:40]
    _latency(services, sample, lines)


def _latency(services: Services, calls: list[LabelledCall], lines: list[str]) -> None:
    """Each caller turn through the whole assist pipeline (emotion, topic state, searches,
    ranker, suggested reply), warm, one call at a time."""
    warm = services.assist_session(phrased=False)
    warm.add(Turn(speaker=Speaker.CUSTOMER, text="车被水淹了能赔吗"))
    samples: list[float] = []
    for call in calls:
        session = services.assist_session(phrased=False)
        for turn in call.turns:
            started = time.perf_counter()
            session.add(Turn(speaker=turn.speaker, text=turn.text))
            if turn.speaker is Speaker.CUSTOMER:
                samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentiles(samples)
    lines += [
        f"Caller-turn latency, whole assist pipeline with the topic state and the ranker "
        f"({len(samples)} caller turns of {len(calls)} calls, one at a time): "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p95 ≤ {TURN_TARGET_MS:.0f} ms).",
        "",
    ]
