"""The guided self-service flows (微理赔) on scripted customer conversations: how many finish,
in how many steps, and where the others are handed over or given up.

Each conversation of ``data/eval/flows/*.jsonl`` (written by separate authors from
``docs/flows_scripting_guide.md`` alone; role: blind, measured once) is played turn by turn
through the live chatbot, whatever the bot answers, for a fresh fictional customer who has
passed the identity check, has one vehicle insured today and two open claims, and is offered
two appointment slots tomorrow (the guide's assumptions). A conversation ends:

- ``completed`` when its flow finishes: the record it ends in is written (a claim report, an
  appointment, an upload, a withdrawal request) or, for 理赔查询 and 辅助定责, the flow is done;
- ``handed_over`` when the bot hands the customer to a person;
- ``abandoned`` when the turns run out first.

``python -m evaluation.flows_bench [--set DIR] [--played FILE]`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, Field

from chatbot.flows import FlowStatus
from chatbot.service import ChatbotService
from core.errors import PolicyDeskError
from core.files import read_jsonl
from core.runtime import configure_runtime
from core.settings import PROJECT_ROOT, Settings
from services.root import Services

BLIND_SET = PROJECT_ROOT / "data" / "eval" / "flows"
Outcome = Literal["completed", "handed_over", "abandoned"]
RESPONSIBLE_WORDS = {"customer": "您一方可能承担全部责任", "other_party": "对方可能承担全部责任"}


class ScriptedTurn(BaseModel):
    """One customer message and how many files go with it."""

    text: str = ""
    attachments: int = Field(default=0, ge=0, le=20)


class ScriptedConversation(BaseModel):
    """One scripted conversation (the guide's record format)."""

    flow: str
    style: str
    turns: list[ScriptedTurn] = Field(min_length=1)
    expect: Outcome
    expect_record: str | None = None
    expect_reason: str | None = None
    expect_responsible: str | None = None
    note: str = ""


class Played(BaseModel):
    """How one conversation went."""

    flow: str
    style: str
    expect: Outcome
    outcome: Outcome
    steps: int = Field(description="customer turns until it ended (all of them when abandoned)")
    record: str | None = None
    record_ok: bool = True
    handed_at: str | None = Field(default=None, description="the question asked at the handoff")
    reasons: list[str] = Field(default_factory=list)
    responsible_ok: bool | None = None


class FlowRow(BaseModel):
    """One flow's figures."""

    flow: str
    conversations: int
    expected: dict[str, int]
    outcomes: dict[str, int]
    agreement: float = Field(description="share whose outcome is the one the author expected")
    completion: float = Field(description="completed / expected to complete")
    steps_median: float | None
    steps_max: int | None
    handed_at: dict[str, int]
    reasons: dict[str, int]
    record_errors: int
    responsible_errors: int


def _customer(number: int, today: date) -> dict[str, list[dict[str, Any]]]:
    """A fictional customer: one vehicle insured today, two open claims (the guide's customer)."""
    cid = f"F{number:05d}"
    plate = f"苏F{number:05d}"
    policy_no = f"P2026{number:05d}9"
    start = today - timedelta(days=60)
    china = datetime.now(UTC).astimezone().tzinfo
    claims = []
    for index, (stage, days) in enumerate((("查勘", 5), ("定损", 15))):
        reported = datetime.combine(today - timedelta(days=days), datetime.min.time(), china)
        reported += timedelta(hours=10)
        claims.append(
            {
                "claim_no": f"RC{reported:%Y%m%d}{number:05d}{index + 7}",
                "customer_id": cid,
                "policy_no": policy_no,
                "plate": plate,
                "reported_at": reported,
                "description": "路口追尾前车，本车前部受损（评测用虚构案件）",
                "stage": stage,
                "amount": None,
                "adjuster": "查勘员 周斌",
                "timeline": [{"stage": stage, "at": reported.isoformat(), "note": ""}],
            }
        )
    return {
        "cust_customers": [
            {
                "id": cid,
                "name": "评测客户",
                "gender": "F",
                "phone": f"199{number:08d}",
                "id_number": f"999000199001010{number % 1000:03d}",
                "city": "南京",
                "tier": "普通",
            }
        ],
        "cust_vehicles": [
            {"plate": plate, "customer_id": cid, "model": "大众朗逸", "energy": "燃油"}
        ],
        "cust_policies": [
            {
                "policy_no": policy_no,
                "customer_id": cid,
                "plate": plate,
                "coverages": [{"name": "机动车损失保险", "limit": 150000}],
                "start": start,
                "end": start + timedelta(days=364),
                "premium": 4200.0,
            }
        ],
        "cust_claims": claims,
        "cust_interactions": [],
    }


def _photo(number: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (number * 37 % 256, number * 91 % 256, 120)).save(buffer, "JPEG")
    return buffer.getvalue()


def play(
    services: Services, bot: ChatbotService, script: ScriptedConversation, number: int
) -> Played:
    """Play one scripted conversation for a fresh, verified fictional customer.

    Args:
        services: the services (their database gets the customer and the records).
        bot: the chatbot.
        script: the conversation.
        number: the customer's number (unique within a run).

    Returns:
        How it went.
    """
    services.customers.load_records(_customer(number, date.today()))
    conversation, _ = services.conversations.create("bench")
    conversation.customer_id = f"F{number:05d}"  # verified before the first turn (the guide)
    services.conversations.save(conversation, 1)
    played = Played(
        flow=script.flow, style=script.style, expect=script.expect, outcome="abandoned", steps=0
    )
    for step, turn in enumerate(script.turns, start=1):
        before = bot.conversation(conversation.id).flow
        files = [
            bot.receive(conversation.id, _photo(number * 100 + step * 10 + i), f"{i}.jpg").id
            for i in range(turn.attachments)
        ]
        answer = bot.post(conversation.id, turn.text, attachments=files, client=f"bench{number}")
        state = bot.conversation(conversation.id).flow
        played.steps = step
        if answer.route == "human":
            played.outcome = "handed_over"
            played.reasons = answer.reasons
            asked = before.current_slot if before is not None else None
            played.handed_at = asked or (before.status.value if before is not None else "no flow")
            break
        if answer.record is not None or (state is not None and state.status is FlowStatus.DONE):
            played.outcome = "completed"
            played.record = answer.record.type.value if answer.record is not None else None
            if script.expect_responsible in RESPONSIBLE_WORDS:
                words = RESPONSIBLE_WORDS[script.expect_responsible]
                played.responsible_ok = words in answer.answer
            break
    if played.outcome == "completed" and script.expect == "completed":
        played.record_ok = played.record == script.expect_record
    return played


def flow_rows(played: Sequence[Played]) -> list[FlowRow]:
    """Each flow's figures (pure)."""
    rows = []
    for flow in sorted({p.flow for p in played}):
        mine = [p for p in played if p.flow == flow]
        completed = [p for p in mine if p.outcome == "completed"]
        steps = sorted(p.steps for p in completed)
        expected_done = [p for p in mine if p.expect == "completed"]
        rows.append(
            FlowRow(
                flow=flow,
                conversations=len(mine),
                expected=dict(Counter(p.expect for p in mine)),
                outcomes=dict(Counter(p.outcome for p in mine)),
                agreement=sum(p.outcome == p.expect for p in mine) / len(mine),
                completion=(
                    sum(p.outcome == "completed" for p in expected_done) / len(expected_done)
                    if expected_done
                    else 0.0
                ),
                steps_median=(steps[len(steps) // 2] if steps else None),
                steps_max=steps[-1] if steps else None,
                handed_at=dict(Counter(p.handed_at or "?" for p in mine if p.handed_at)),
                reasons=dict(
                    Counter(r for p in mine if p.outcome == "handed_over" for r in p.reasons)
                ),
                record_errors=sum(not p.record_ok for p in mine),
                responsible_errors=sum(p.responsible_ok is False for p in mine),
            )
        )
    return rows


def play_sets(services: Services, paths: Sequence[Path]) -> list[Played]:
    """Play every conversation of the files, each for its own fresh customer.

    Raises:
        PolicyDeskError: a file cannot be read or a line is not a scripted conversation.
    """
    scripts = [s for path in paths for s in read_jsonl(path, ScriptedConversation)]
    bot = services.chatbot()
    return [play(services, bot, script, n) for n, script in enumerate(scripts, start=1)]


def _isolated_services(settings: Settings, folder: Path) -> Services:
    from evaluation.api_load import _isolated

    isolated = _isolated(settings, folder)
    services = Services(isolated or settings)
    services.upgrade_database()
    return services


def bench_flows(
    settings: Settings, lines: list[str], folder: Path = BLIND_SET, played_out: Path | None = None
) -> None:
    """Append the self-service flows section (and, with ``played_out``, write how each
    conversation went, one JSON object per line).

    Raises:
        PolicyDeskError: the set cannot be read or played.
    """
    paths = sorted(folder.glob("*.jsonl"))
    with tempfile.TemporaryDirectory(prefix="flows-bench-") as tmp:
        services = _isolated_services(settings, Path(tmp))
        began = time.perf_counter()
        played = play_sets(services, paths)
        took = time.perf_counter() - began
    if played_out is not None:
        played_out.write_text("".join(p.model_dump_json() + "\n" for p in played), "utf-8")
    lines += [
        "## Self-service flows (微理赔): scripted conversations",
        "",
        f"`{folder.relative_to(PROJECT_ROOT)}` (role: blind, measured once; {len(played)} "
        f"conversations by two authors from `docs/flows_scripting_guide.md` alone; {took:.0f} s). "
        "Each is played turn by turn through the live chatbot for a fresh fictional customer "
        "who has passed the identity check, with one vehicle insured today, two open claims and "
        "two slots offered tomorrow. *Completion* is completed / expected to complete; "
        "*agreement* is the share ending as its author expected (completed, handed over, "
        "abandoned); steps are customer turns until the flow finished.",
        "",
        "| flow | n | expected done / handoff / left | got done / handoff / left | agreement "
        "| completion | steps median (max) | handed over at (question: n) | record or verdict "
        "errors |",
        "|---|---:|---|---|---:|---:|---|---|---:|",
    ]
    for row in flow_rows(played):
        where = ", ".join(f"{k}: {v}" for k, v in sorted(row.handed_at.items(), key=_most))
        steps = f"{row.steps_median:g} ({row.steps_max})" if row.steps_max is not None else "-"
        lines.append(
            f"| {row.flow} | {row.conversations} | {_three(row.expected)} | {_three(row.outcomes)} "
            f"| {row.agreement:.2f} | {row.completion:.2f} | {steps} | {where or '-'} "
            f"| {row.record_errors + row.responsible_errors} |"
        )
    styles = Counter((p.style, p.outcome == p.expect) for p in played)
    lines += [
        "",
        "Agreement by style: "
        + ", ".join(
            f"{style} {styles[(style, True)]}/{styles[(style, True)] + styles[(style, False)]}"
            for style in sorted({p.style for p in played})
        )
        + ".",
        "",
    ]


def _three(counts: dict[str, int]) -> str:
    return " / ".join(str(counts.get(k, 0)) for k in ("completed", "handed_over", "abandoned"))


def _most(item: tuple[str, int]) -> int:
    return -item[1]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation.flows_bench``: play a set and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.flows_bench", description=__doc__)
    parser.add_argument("--set", type=Path, default=BLIND_SET, help="folder of *.jsonl")
    parser.add_argument("--played", type=Path, help="also write each conversation's result here")
    args = parser.parse_args(argv)
    configure_runtime()
    try:
        lines: list[str] = []
        bench_flows(Settings(), lines, args.set.resolve(), args.played)
        sys.stdout.write("\n".join(lines) + "\n")
    except PolicyDeskError as exc:
        sys.stderr.write(f"flows bench: error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
