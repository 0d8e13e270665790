"""The automated QA scorecard against supervisors' labels, item by item.

Each labelled contact (``docs/qa_labelling.md``) is replayed through the real live pipeline: a
console call is opened, every turn added as a final segment (the assist pipeline reads emotion
and runs the compliance guard), the call ended (the wrap-up draft proposes a disposition), and
the contact built from the call's views (``quality.contacts.turns_from_call``), the labelled
saved disposition and the draft's suggestion. The shipped scorecard scores it; each item's
outcome is compared with its label: agreement, Cohen's kappa and the confusion counts.

``python -m evaluation.qa_bench data/eval/qa_dev.jsonl`` prints the table (over a copy of the
database, so the replayed calls do not land in the deployment's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from calls.models import Channel, NewCall, NewSegment
from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.files import NonBlankText, read_jsonl
from core.metrics import cohen_kappa
from core.settings import PROJECT_ROOT, Settings
from quality.contacts import turns_from_call
from quality.models import ContactKind, ContactRecord, Outcome, QaResult
from quality.scorecard import ItemId, Scorecard, load_scorecard, score_contact
from services.root import Services

SCORECARD = PROJECT_ROOT / "data" / "quality" / "scorecard.yaml"
BENCH_AGENT = "qa-bench"
BENCH_PASSWORD = "Scorecard-Replay-2026"


class LabelledTurn(BaseModel):
    """One turn of a labelled contact."""

    speaker: Speaker
    text: NonBlankText = Field(max_length=2000)


class LabelledContact(BaseModel):
    """One line of a labelled QA set (``docs/qa_labelling.md``, File format)."""

    id: str = Field(min_length=1)
    role: str = Field(default="", description="tuning, checked or blind")
    channel: str = "phone"
    style: str = ""
    turns: list[LabelledTurn] = Field(min_length=1)
    disposition: str = ""
    labels: dict[ItemId, Outcome]
    note: str = ""


class ItemAgreement(BaseModel):
    """How the automated outcome of one item compares with the labels."""

    item: str
    contacts: int
    agreement: float = Field(description="share of contacts where the outcome equals the label")
    kappa: float | None = Field(description="Cohen's kappa; None when undefined (one label only)")
    confusion: dict[str, dict[str, int]] = Field(description="label -> automated outcome -> count")


class ContactDisagreement(BaseModel):
    """A contact where some item's outcome differs from its label."""

    id: str
    item: str
    label: Outcome
    automated: Outcome
    reason: str


class QaAgreement(BaseModel):
    """The scorecard's agreement with the labels over one set."""

    path: str
    role: str
    scorecard: str
    contacts: int
    items: list[ItemAgreement]
    overall: float = Field(description="share of (contact, item) pairs that agree")
    disagreements: list[ContactDisagreement] = Field(default_factory=list)


def _ensure_agent(services: Services) -> str:
    if BENCH_AGENT not in {u.username for u in services.accounts.list()}:
        services.accounts.add(BENCH_AGENT, BENCH_PASSWORD, ["agent"])
    return BENCH_AGENT


def replay(services: Services, contact: LabelledContact, agent: str) -> ContactRecord:
    """One labelled contact through the live pipeline, as the finished contact record.

    Raises:
        PolicyDeskError: the call service refused the call or a segment.
    """
    started = services.calls.start(
        NewCall(caller_number="console", agent=agent), channel=Channel.CONSOLE
    )
    for seq, turn in enumerate(contact.turns):
        services.calls.add_segment(
            started.call_id,
            NewSegment(seq=seq, speaker=turn.speaker, text=turn.text, final=True),
        )
    draft = services.calls.end(started.call_id)
    call = services.calls.get(started.call_id)
    ended = call.ended_at or datetime.now(UTC)
    return ContactRecord(
        id=contact.id,
        kind=ContactKind.AGENT,
        channel=contact.channel,
        agent=agent,
        started_at=call.started_at,
        ended_at=ended,
        handle_s=max((ended - call.started_at).total_seconds(), 0.0),
        disposition=contact.disposition,
        suggested_disposition=draft.disposition.value,
        turns=turns_from_call(call),
    )


def agreement(
    path: Path, contacts: Sequence[LabelledContact], results: Sequence[QaResult], card: Scorecard
) -> QaAgreement:
    """Per-item agreement, kappa and confusion of automated results against the labels (pure)."""
    items: list[ItemAgreement] = []
    disagreements: list[ContactDisagreement] = []
    agree = total = 0
    for item in ItemId:
        gold: list[str] = []
        auto: list[str] = []
        confusion: dict[str, dict[str, int]] = {o.value: {} for o in Outcome}
        for contact, result in zip(contacts, results, strict=True):
            label = contact.labels.get(item)
            score = result.item(item.value)
            if label is None or score is None:
                continue
            gold.append(label.value)
            auto.append(score.outcome.value)
            row = confusion[label.value]
            row[score.outcome.value] = row.get(score.outcome.value, 0) + 1
            if label is not score.outcome:
                disagreements.append(
                    ContactDisagreement(
                        id=contact.id,
                        item=item.value,
                        label=label,
                        automated=score.outcome,
                        reason=score.reason,
                    )
                )
        same = sum(g == a for g, a in zip(gold, auto, strict=True))
        agree, total = agree + same, total + len(gold)
        items.append(
            ItemAgreement(
                item=item.value,
                contacts=len(gold),
                agreement=round(same / len(gold), 3) if gold else 0.0,
                kappa=None if (k := cohen_kappa(gold, auto)) is None else round(k, 3),
                confusion=confusion,
            )
        )
    roles = sorted({c.role for c in contacts if c.role})
    return QaAgreement(
        path=str(path),
        role=", ".join(roles),
        scorecard=card.title,
        contacts=len(contacts),
        items=items,
        overall=round(agree / total, 3) if total else 0.0,
        disagreements=disagreements,
    )


def qa_agreement(services: Services, path: Path, scorecard: Path = SCORECARD) -> QaAgreement:
    """Replay every labelled contact through the live pipeline and compare the scorecard's
    outcomes with the labels.

    Args:
        services: the services (their database receives the replayed console calls).
        path: a labelled QA set (JSON Lines).
        scorecard: the scorecard file (the shipped one by default).

    Returns:
        Per-item agreement, kappa and confusion counts, the overall agreement and every
        disagreement.

    Raises:
        PolicyDeskError: an unreadable set or scorecard, or a call the service refused.
    """
    contacts = read_jsonl(path, LabelledContact)
    card = load_scorecard(scorecard)
    agent = _ensure_agent(services)
    now = datetime.now(UTC)
    results = [score_contact(replay(services, c, agent), card, now) for c in contacts]
    return agreement(path, contacts, results, card)


def render(report: QaAgreement) -> str:
    """The report as a Markdown table, then the disagreements."""
    lines = [
        f"QA scorecard agreement: {report.path} ({report.contacts} contacts, role: "
        f"{report.role or '-'}; {report.scorecard})",
        "",
        "| item | agreement | kappa | label→auto (pass/fail/na) |",
        "|---|---:|---:|---|",
    ]
    for item in report.items:
        cells = []
        for label in Outcome:
            row = item.confusion.get(label.value, {})
            counts = "/".join(str(row.get(o.value, 0)) for o in Outcome)
            cells.append(f"{label.value}→{counts}")
        kappa = "-" if item.kappa is None else f"{item.kappa:.2f}"
        lines.append(f"| {item.item} | {item.agreement:.3f} | {kappa} | {'; '.join(cells)} |")
    lines += ["", f"Overall (contact × item): {report.overall:.3f}", ""]
    if report.disagreements:
        lines.append("Disagreements:")
        lines += [
            f"- {d.id} {d.item}: label {d.label.value}, automated {d.automated.value} ({d.reason})"
            for d in report.disagreements
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation.qa_bench SET.jsonl``: print the agreement table."""
    from evaluation.api_load import _isolated

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", type=Path, help="a labelled QA set (JSON Lines)")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        with tempfile.TemporaryDirectory(prefix="qa-bench-") as folder:
            isolated = _isolated(settings, Path(folder))
            services = Services(isolated or settings)
            if isolated is not None:
                services.upgrade_database()  # the copy only: the deployment's stays as it is
            report = qa_agreement(services, args.path)
    except PolicyDeskError as exc:
        sys.stderr.write(f"qa_bench: {exc}\n")
        return 1
    sys.stdout.write(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
