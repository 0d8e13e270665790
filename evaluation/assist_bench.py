"""Warm per-turn latency of the assist pipeline over the recorded demo calls."""

from __future__ import annotations

import time
from collections.abc import Sequence

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assist.calls import read_call
from conversation.models import Speaker, Turn
from core.metrics import percentiles
from services.root import Services

ROUNDS = 3
STUB_ANSWER = "您好，您问的情况请以条款约定和查勘定损结果为准，我这边先为您登记。"


def _replay(
    services: Services,
    calls: Sequence[list[Turn]],
    customer: str | None,
    llm: FakeListChatModel | None,
) -> tuple[list[float], list[float]]:
    caller_ms: list[float] = []
    agent_ms: list[float] = []
    for turns in calls:
        session = services.assist_session(customer, llm=llm)
        for turn in turns:
            started = time.perf_counter()
            session.add(turn)
            elapsed = (time.perf_counter() - started) * 1000
            (caller_ms if turn.speaker is Speaker.CUSTOMER else agent_ms).append(elapsed)
    return caller_ms, agent_ms


def bench_assist(services: Services, lines: list[str]) -> None:
    """Append the assist-latency section: template replies, then an instant LLM stub."""
    calls = [read_call(services.settings.demo_calls / c.file) for c in services.demo_calls()]
    listed = services.customers.list(1)
    customer = listed[0].id if listed else None
    stub = FakeListChatModel(responses=[STUB_ANSWER])
    _replay(services, calls, customer, None)  # warm-up: models, index, caches
    lines += [
        "## Live-call assist pipeline",
        "",
        f"Warm per-turn latency of `AssistSession.add` over the {len(calls)} recorded demo calls "
        f"({sum(len(c) for c in calls)} turns), replayed {ROUNDS} times for customer "
        f"{customer or '(anonymous)'}: one embedding, emotion, intent, two searches (clauses, "
        "cases), the reply template, the guard and the actions per caller turn; the guard alone "
        "on an agent turn. Target: caller-turn p95 ≤ 120 ms.",
        "",
        "| configuration | caller turns | p50 ms | p95 ms | agent turns p95 ms |",
        "|---|---|---|---|---|",
    ]
    for name, llm in (("templates only (no LLM)", None), ("LLM stub answering instantly", stub)):
        caller_ms: list[float] = []
        agent_ms: list[float] = []
        for _ in range(ROUNDS):
            c, a = _replay(services, calls, customer, llm)
            caller_ms += c
            agent_ms += a
        p50, p95 = percentiles(caller_ms)
        (agent_p95,) = percentiles(agent_ms, (95,))
        lines.append(f"| {name} | {len(caller_ms)} | {p50:.1f} | {p95:.1f} | {agent_p95:.1f} |")
    lines += [
        "",
        "The stub row is the pipeline's own cost around an LLM call (prompt building, the "
        "grounding check, the guard); a real endpoint adds its own response time, capped by "
        "`POLICYDESK_LLM_TIMEOUT`, after which the template is shown.",
        "",
    ]
