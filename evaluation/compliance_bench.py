"""Compliance-guard precision and recall on labelled agent replies."""

from __future__ import annotations

import json
from pathlib import Path

from core.metrics import binary_scores
from core.settings import PROJECT_ROOT
from services.root import Services

SETS = [
    (
        PROJECT_ROOT / "data" / "eval" / "compliance_replies.jsonl",
        "written together with the rules (rules were fixed until it passed: optimistic)",
    ),
    (
        PROJECT_ROOT / "data" / "eval" / "compliance_heldout.jsonl",
        "written blind to the rules, never used to change them: the honest figure",
    ),
]


def bench_compliance(services: Services, lines: list[str]) -> None:
    """Append the compliance section to the report."""
    guard = services.guard
    lines += [
        "## Compliance guard",
        "",
        f"{len(guard.rules)} rules in `prompts/compliance_rules.yaml`; a reply is flagged when any "
        "rule fires. Precision and recall of 'not compliant':",
        "",
        "| set | replies | precision | recall |",
        "|---|---|---|---|",
    ]
    for path, note in SETS:
        if not path.exists():
            continue
        records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        gold = [not r["compliant"] for r in records]
        flagged = [not guard.check(r["text"]).compliant for r in records]
        _, precision, recall, _ = binary_scores(gold, flagged)
        lines.append(
            f"| `{Path(path).name}` ({note}) | {len(records)} | {precision:.3f} | {recall:.3f} |"
        )
    lines.append("")
