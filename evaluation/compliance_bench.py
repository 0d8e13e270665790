"""Compliance-guard precision and recall on labelled agent replies, per set and per category,
each set with its role; and the guard's latency on agent drafts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from compliance.data import LabelledReply, load_replies
from core.metrics import binary_scores, percentiles
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard, RuleCategory
from services.root import Services

EVAL = PROJECT_ROOT / "data" / "eval"
SETS = [
    (
        EVAL / "compliance_heldout.jsonl",
        "checked: written blind to the rules (issue 13); read while the judge was tuned",
    ),
    (
        EVAL / "compliance_blind1.jsonl",
        "checked: blind for the first judge (4 authors: P 0.919 R 1.000 then), seen as a figure "
        "before the second round",
    ),
    (
        EVAL / "compliance_blind2.jsonl",
        "checked: blind for the first judge (4 authors: P 0.892 R 0.953 then), seen as a figure "
        "before the second round",
    ),
    (
        EVAL / "compliance_blind3.jsonl",
        "blind: separate author, written after the second round, measured once",
    ),
    (
        EVAL / "compliance_blind4.jsonl",
        "blind: separate author, written after the second round, measured once",
    ),
]
DEMO_CALLS = PROJECT_ROOT / "data" / "demo" / "calls"


@dataclass(frozen=True)
class SetScores:
    """Precision and recall of 'not compliant' on one set, and recall per first category."""

    precision: float
    recall: float
    per_category: dict[RuleCategory, tuple[int, int]]  # caught, violations


def set_scores(guard: ComplianceGuard, replies: list[LabelledReply]) -> SetScores:
    """How the guard does on labelled replies (a reply is flagged when it is not compliant)."""
    gold = [not r.compliant for r in replies]
    flagged = [not guard.check(r.text).compliant for r in replies]
    scores = binary_scores(gold, flagged)
    per_category: dict[RuleCategory, tuple[int, int]] = {}
    for reply, hit in zip(replies, flagged, strict=True):
        if reply.categories:
            caught, total = per_category.get(reply.categories[0], (0, 0))
            per_category[reply.categories[0]] = (caught + hit, total + 1)
    return SetScores(scores.precision, scores.recall, per_category)


def bench_compliance(services: Services, lines: list[str]) -> None:
    """Append the compliance section to the report."""
    guard = services.guard
    rules_only = guard.with_judge(None)
    judge = services.guard_judge
    lines += ["## Compliance guard", ""]
    if judge is None:
        lines += ["The learned judge is not trained: the figures are the rules' alone.", ""]
    else:
        m = judge.manifest
        cv = m.cv
        lines += [
            f"{len(guard.rules)} rules in `prompts/compliance_rules.yaml` plus the learned "
            f"sentence judge (`models/guard`, e5 vector + char n-grams; threshold "
            f"{m.threshold:.3f}, "
            f"C {m.c:g}). A reply is flagged when a rule fires or the judge flags a sentence no "
            "rule flagged. Precision and recall of 'not compliant'.",
            "",
            "Training sets (`data/compliance/`, role: trained on; the judge's threshold keeps the "
            "out-of-fold precision at 0.93), each author held out whole in cross-validation "
            f"(training time {m.seconds:.0f} s, `policydesk train guard`):",
            "",
            "| author | replies | precision | recall |",
            "|---|---|---|---|",
            *(
                f"| {a} | {n} | {cv[f'author.{a}.precision']:.3f} "
                f"| {cv[f'author.{a}.recall']:.3f} |"
                for a, n in m.sources.items()
            ),
            f"| **all** | {cv['replies']:.0f} | {cv['precision']:.3f} | {cv['recall']:.3f} "
            f"(rules alone {cv['rules_precision']:.3f} / {cv['rules_recall']:.3f}) |",
            "",
            "`team` is the set the rules were written against (rules alone pass it whole).",
            "",
        ]
    lines += [
        "| set (role) | replies | violations | precision | recall | rules alone P / R |",
        "|---|---|---|---|---|---|",
    ]
    category_rows: list[str] = []
    for path, role in SETS:
        if not path.exists():
            continue
        replies = load_replies([path])
        full = set_scores(guard, replies)
        rules = set_scores(rules_only, replies)
        lines.append(
            f"| `{path.name}` ({role}) | {len(replies)} | {sum(not x.compliant for x in replies)} "
            f"| {full.precision:.3f} | {full.recall:.3f} | {rules.precision:.3f} / "
            f"{rules.recall:.3f} |"
        )
        per = full.per_category
        category_rows.append(
            f"| `{path.name}` | "
            + " | ".join(f"{per[c][0]}/{per[c][1]}" if c in per else "–" for c in RuleCategory)
            + " |"
        )
    lines += [
        "",
        "Recall per category (caught / violations whose first category it is):",
        "",
        "| set | " + " | ".join(c.value for c in RuleCategory) + " |",
        "|---|" + "---|" * len(RuleCategory),
        *category_rows,
        "",
    ]
    _latency(guard, lines)


def _latency(guard: ComplianceGuard, lines: list[str]) -> None:
    drafts = [
        json.loads(line)["text"]
        for path in sorted(DEMO_CALLS.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["speaker"] == "agent"
    ]
    for text in ("您好，请问有什么可以帮您？", "好的，我帮您登记一下。", "请您稍等。"):
        guard.check(text)  # warm: the encoder loaded, its first passes done
    first: list[float] = []
    again: list[float] = []
    for samples in (first, again):  # a new draft, then the same draft re-checked as it is typed
        for text in drafts:
            started = time.perf_counter()
            guard.check(text)
            samples.append((time.perf_counter() - started) * 1000)
    new_p50, new_p95 = percentiles(first)
    re_p50, re_p95 = percentiles(again)
    lines += [
        f"Guard on an agent draft, judge included (the {len(drafts)} agent turns of the recorded "
        "demo calls; target p95 ≤ 15 ms):",
        "",
        "| draft | p50 | p95 |",
        "|---|---|---|",
        f"| new (sentences the n-gram screen does not clear are embedded) | {new_p50:.1f} ms "
        f"| {new_p95:.1f} ms |",
        f"| re-checked as the agent types (sentence vectors cached) | {re_p50:.1f} ms "
        f"| {re_p95:.1f} ms |",
        "",
    ]
