"""The self-service HTTP API under concurrent load, over loopback against a real uvicorn server.

50 sessions run at once, each sending 20 messages one after another (a customer waits for the
reply before typing the next). Per message: latency and errors; per session: the handoffs its
replies reported. Afterwards every reported handoff must be retrievable through the API, and the
queue must hold no handoff that no reply reported (a lost or a phantom handoff is a bug).

The server writes to a copy of the database in a temp directory (the knowledge catalog lives
there too), so the demo queue is untouched; the Chroma index is shared read-only.

``python -m evaluation.api_load`` runs it on the default settings and prints the section.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from api.app import create_app
from chatbot.routing_sets import RoutingExample, load_routing_set
from core.errors import IndexNotBuiltError, PolicyDeskError
from core.metrics import percentiles
from core.settings import PROJECT_ROOT, Settings
from core.telemetry import EncoderFigures
from services.root import Services
from tools.engines import free_port

ROUTING_MESSAGES = PROJECT_ROOT / "data" / "eval" / "routing_messages.jsonl"
SESSIONS = 50
MESSAGES_PER_SESSION = 20
SEED = 7
# chance that a message is one labelled for a human: about half the sessions then hand over,
# as in a service where the bot answers most conversations end to end
HUMAN_SHARE = 0.03
STARTUP_TIMEOUT = 300.0  # seconds: the server loads the encoder and the index before serving
REQUEST_TIMEOUT = 120.0
LOAD_AGENT = "loadbench01"  # the agent who checks the handoffs afterwards
LOAD_AGENT_PASSWORD = "Load-Bench-2026"


class SessionRun(BaseModel):
    """What one simulated customer saw."""

    session_id: str | None = None
    latencies_ms: list[float] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="status code or exception type")
    handoffs: list[str] = Field(default_factory=list, description="distinct ids, as reported")
    handoff_reasons: list[str] = Field(
        default_factory=list, description="the routing reasons of the reply that handed over"
    )
    pipeline_ms: list[float] = Field(
        default_factory=list,
        description="latencies of the messages answered before the session was with a human",
    )


class LoadResult(BaseModel):
    """One load run and the queue check after it."""

    sessions: int
    messages: int
    wall_seconds: float
    latencies_ms: list[float]
    errors: dict[str, int]
    pipeline_ms: list[float] = Field(description="messages that ran the full pipeline")
    handoffs_reported: int
    handoffs_found: int
    phantom_handoffs: int = Field(description="queued for a bench session, never reported")
    handoff_reasons: dict[str, int] = Field(description="routing reasons of the handoffs")
    cpu_seconds: float = Field(description="CPU time of this process during the run")
    baseline_ms: list[float] = Field(
        description="full-pipeline messages of one session alone, before the load"
    )
    load_average: float = Field(description="the machine's 1-minute load average before the run")
    encoder: EncoderFigures = Field(description="the encoder's batches and passes during the load")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def handoffs_lost(self) -> int:
        return self.handoffs_reported - self.handoffs_found


def plan_sessions(
    examples: Sequence[RoutingExample],
    sessions: int = SESSIONS,
    per_session: int = MESSAGES_PER_SESSION,
    seed: int = SEED,
    human_share: float = HUMAN_SHARE,
) -> list[list[str]]:
    """Each session's messages, deterministic for a seed.

    Bot-labelled and human-labelled texts are each shuffled once (seeded) and dealt in turn;
    a message comes from the human pile with probability ``human_share``.

    Args:
        examples: the labelled routing messages.
        sessions: how many sessions.
        per_session: messages per session.
        seed: the random seed.
        human_share: the chance that a message is one labelled for a human.

    Returns:
        ``sessions`` lists of ``per_session`` texts.

    Raises:
        ValueError: a pile is empty.
    """
    rng = random.Random(seed)
    piles = {route: [e.text for e in examples if e.route == route] for route in ("bot", "human")}
    for route, pile in piles.items():
        if not pile:
            raise ValueError(f"no {route}-labelled messages to draw from")
        rng.shuffle(pile)
    dealt = {"bot": 0, "human": 0}

    def deal(route: str) -> str:
        pile = piles[route]
        text = pile[dealt[route] % len(pile)]
        dealt[route] += 1
        return text

    return [
        [deal("human" if rng.random() < human_share else "bot") for _ in range(per_session)]
        for _ in range(sessions)
    ]


@contextmanager
def serve(app: FastAPI, timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread; yields its base URL once ``/readyz``
    says every model and index is loaded.

    Raises:
        PolicyDeskError: the server stopped, or was not ready within ``timeout`` seconds.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api-load-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if not thread.is_alive():
                raise PolicyDeskError(f"the API server on port {port} stopped while starting")
            try:
                ready = httpx.get(f"{base_url}/readyz", timeout=2.0)
                if ready.status_code == 200:
                    break
                missing = [p for p in ready.json()["parts"] if not p["ready"]]
                if missing:  # the warm-up finished, and something could not load
                    raise PolicyDeskError(
                        "the API started but is not ready ("
                        + "; ".join(f"{p['name']}: {p['problem']}" for p in missing)
                        + "): run `make setup`"
                    )
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise PolicyDeskError(f"the API server was not ready within {timeout:.0f} s")
            time.sleep(0.2)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def _run_session(client: httpx.AsyncClient, texts: Sequence[str]) -> SessionRun:
    run = SessionRun()
    try:
        created = await client.post("/v1/sessions", json={"channel": "app"})
    except httpx.HTTPError as exc:
        run.errors.append(type(exc).__name__)
        return run
    if created.status_code != 201:
        run.errors.append(str(created.status_code))
        return run
    run.session_id = created.json()["session_id"]
    owner = {"X-Session-Secret": created.json()["session_secret"]}  # the customer's client's
    for text in texts:
        started = time.perf_counter()
        try:
            reply = await client.post(
                f"/v1/sessions/{run.session_id}/messages", json={"text": text}, headers=owner
            )
        except httpx.HTTPError as exc:
            run.errors.append(type(exc).__name__)
            continue
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not reply.is_success:
            run.errors.append(str(reply.status_code))
            continue
        if not run.handoffs:  # after a handoff the bot only acknowledges
            run.pipeline_ms.append(run.latencies_ms[-1])
        handoff_id = reply.json()["handoff_id"]
        if handoff_id and handoff_id not in run.handoffs:
            run.handoffs.append(handoff_id)
            run.handoff_reasons += reply.json()["reasons"]
    return run


async def _load(base_url: str, plans: Sequence[Sequence[str]]) -> tuple[list[SessionRun], float]:
    limits = httpx.Limits(max_connections=len(plans) + 5, max_keepalive_connections=len(plans) + 5)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits
    ) as client:
        started = time.perf_counter()
        runs = await asyncio.gather(*(_run_session(client, texts) for texts in plans))
        return list(runs), time.perf_counter() - started


async def _found(base_url: str, runs: Sequence[SessionRun]) -> int:
    """How many reported handoffs the API returns (to a logged-in agent), for the session that
    reported them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        login = await client.post(
            "/v1/auth/token", json={"username": LOAD_AGENT, "password": LOAD_AGENT_PASSWORD}
        )
        login.raise_for_status()
        agent = {"Authorization": f"Bearer {login.json()['access_token']}"}
        found = 0
        for run in runs:
            for handoff_id in run.handoffs:
                response = await client.get(f"/v1/handoffs/{handoff_id}", headers=agent)
                found += (
                    response.status_code == 200 and response.json()["session_id"] == run.session_id
                )
        return found


def ensure_load_agent(services: Services) -> None:
    """The agent who reads the handoffs back after a load run (created once)."""
    if LOAD_AGENT not in {u.username for u in services.accounts.list()}:
        services.accounts.add(LOAD_AGENT, LOAD_AGENT_PASSWORD, ["agent"])


def run_load(
    services: Services, plans: Sequence[Sequence[str]], baseline: Sequence[str]
) -> LoadResult:
    """Serve ``services`` over loopback, run one session alone, then all ``plans`` at once.

    Args:
        services: what the server runs on (its database receives the sessions and handoffs).
        plans: each session's messages.
        baseline: the messages of the session run alone first (also the warm-up).

    Returns:
        Latencies, errors and the handoff check.

    Raises:
        PolicyDeskError: the server could not start or its chatbot is not ready.
    """
    ensure_load_agent(services)
    with serve(create_app(services)) as base_url:
        alone, _ = asyncio.run(_load(base_url, [baseline]))
        load_average = os.getloadavg()[0]  # other work on the machine skews every figure
        cpu_before = time.process_time()
        encoder_before = services.telemetry.encoder_figures()
        runs, wall = asyncio.run(_load(base_url, plans))
        cpu_seconds = time.process_time() - cpu_before
        encoder = services.telemetry.encoder_figures().since(encoder_before)
        reported = [h for run in runs for h in run.handoffs]
        found = asyncio.run(_found(base_url, runs))
    ours = {run.session_id for run in runs if run.session_id}
    queued = {h.id for h in services.handoffs.list(None, limit=1_000_000) if h.session_id in ours}
    errors = Counter(e for run in runs for e in run.errors)
    return LoadResult(
        sessions=len(plans),
        messages=sum(len(p) for p in plans),
        wall_seconds=wall,
        latencies_ms=[ms for run in runs for ms in run.latencies_ms],
        errors=dict(errors),
        pipeline_ms=[ms for run in runs for ms in run.pipeline_ms],
        handoffs_reported=len(reported),
        handoffs_found=found,
        phantom_handoffs=len(queued - set(reported)),
        handoff_reasons=dict(Counter(r for run in runs for r in run.handoff_reasons)),
        cpu_seconds=cpu_seconds,
        baseline_ms=alone[0].pipeline_ms,
        load_average=load_average,
        encoder=encoder,
    )


def _isolated(settings: Settings, folder: Path) -> Settings | None:
    """The settings over a copy of the SQLite database in ``folder``; None if not SQLite.

    Raises:
        IndexNotBuiltError: the database does not exist yet.
    """
    url = settings.sqlalchemy_url()
    if not url.startswith("sqlite:///"):
        return None
    database = Path(url.removeprefix("sqlite:///"))
    if not database.is_file():
        raise IndexNotBuiltError(settings.data_dir)
    copy = folder / "api_bench.db"
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        with target:
            source.backup(target)  # consistent even while another connection writes
    finally:
        source.close()
        target.close()
    # every session comes from this one client: its per-client limits would refuse the load
    return settings.model_copy(
        update={
            "database_url": f"sqlite:///{copy}",
            "api_sessions_per_minute": 100_000,
            "api_messages_per_minute": 1_000_000,
        }
    )


def bench_api(services: Services, lines: list[str]) -> None:
    """Append the "Self-service API under load" section to ``lines``.

    Args:
        services: its settings say where the index and the database are; the server runs on
            a copy of the database.
        lines: the Markdown report so far.

    Raises:
        IndexNotBuiltError: no database (so no index) yet.
        PolicyDeskError: the server could not start or its chatbot is not ready.
    """
    examples = load_routing_set(ROUTING_MESSAGES)
    plans = plan_sessions(examples)
    (baseline,) = plan_sessions(examples, sessions=1, seed=SEED + 1, human_share=0.0)
    lines += ["## Self-service API under load", ""]
    with tempfile.TemporaryDirectory() as tmp:
        settings = _isolated(services.settings, Path(tmp))
        if settings is None:
            lines += [
                "Skipped: the load benchmark writes sessions and handoffs, so it runs only on "
                "the default SQLite database (copied to a temp dir), not on "
                "`POLICYDESK_DATABASE_URL`.",
                "",
            ]
            return
        bench_services = Services(settings)
        try:
            result = run_load(bench_services, plans, baseline)
        finally:
            bench_services.engine.dispose()
    lines += render(result)


def render(result: LoadResult) -> list[str]:
    """The section body: setup, the table, the queue check and what limits throughput."""

    def p50_p95(samples: list[float]) -> tuple[float, float]:
        if not samples:
            return 0.0, 0.0
        p50, p95 = percentiles(samples)
        return p50, p95

    p50, p95 = p50_p95(result.latencies_ms)
    pipeline_p50, pipeline_p95 = p50_p95(result.pipeline_ms)
    alone_p50, alone_p95 = p50_p95(result.baseline_ms)
    worst = max(result.latencies_ms, default=0.0)
    throughput = len(result.latencies_ms) / result.wall_seconds if result.wall_seconds else 0.0
    pipeline_rate = len(result.pipeline_ms) / result.wall_seconds if result.wall_seconds else 0.0
    per_session = result.messages // max(result.sessions, 1)
    errors = ", ".join(f"{n} × {kind}" for kind, n in sorted(result.errors.items())) or "none"
    reasons = (
        ", ".join(
            f"{reason} {n}"
            for reason, n in sorted(result.handoff_reasons.items(), key=lambda kv: -kv[1])
        )
        or "none"
    )
    cores = result.cpu_seconds / result.wall_seconds if result.wall_seconds else 0.0
    encoder = result.encoder
    cpus = os.cpu_count() or 1
    limit = (
        "the cores are saturated, so more throughput needs more cores."
        if cores >= 0.75 * cpus
        else "one worker did not fill the cores (unless other work on the machine took them, "
        "see the load average): a second uvicorn worker, with its own encoder, could use them."
    )
    return [
        f"{result.sessions} concurrent sessions × {per_session} messages, over loopback HTTP "
        "to one uvicorn worker (one process; the sync endpoints run in FastAPI's threadpool of "
        "40 threads); the httpx load generator runs in the same process. Each session creates "
        "a conversation, then sends its messages one after another, each after the previous "
        f"reply. Texts are drawn (seed {SEED}) from `data/eval/routing_messages.jsonl`: "
        f"bot-labelled questions and, with a {HUMAN_SHARE:.0%} chance per message, one "
        "labelled for a human. Once a conversation is with a human the bot only acknowledges "
        f"(no embedding, no search): {len(result.pipeline_ms)} of the {result.messages} "
        "messages ran the full pipeline (embedding, emotion, rules, hybrid search, answer, "
        "guard, SQL writes). The server writes to a copy of the demo database in a temp dir; "
        f"the index is shared. The machine's 1-minute load average before the run: "
        f"{result.load_average:.1f}.",
        "",
        "| messages | wall time | throughput | p50 | p95 | max | errors | handoffs reported "
        "| handoffs lost |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {len(result.latencies_ms)} | {result.wall_seconds:.1f} s | {throughput:.1f} msg/s "
        f"| {p50:.0f} ms | {p95:.0f} ms | {worst:.0f} ms | {result.error_count} "
        f"| {result.handoffs_reported} | {result.handoffs_lost} |",
        "",
        f"Full-pipeline messages only: {pipeline_rate:.1f} msg/s, p50 {pipeline_p50:.0f} ms, "
        f"p95 {pipeline_p95:.0f} ms under load; one session alone before the load: p50 "
        f"{alone_p50:.0f} ms, p95 {alone_p95:.0f} ms ({len(result.baseline_ms)} messages).",
        "",
        f"Errors: {errors}. Queue check after the run: {result.handoffs_found} of "
        f"{result.handoffs_reported} reported handoffs retrievable by id; "
        f"{result.phantom_handoffs} handoffs queued for a bench session that no reply reported. "
        f"Reasons on the handoffs: {reasons}.",
        "",
        f"Encoder during the load: {encoder.batches} collected batches, "
        f"{encoder.requests_per_batch:.2f} requests per batch on average; {encoder.passes} "
        f"forward passes, {encoder.texts_per_pass:.2f} distinct texts per pass (a text shares a "
        "pass only with texts of its token count, so that its vector keeps its bits); "
        f"{encoder.refused} requests refused for a full encoder queue.",
        "",
        f"What limits throughput: the process used {cores:.1f} of the machine's {cpus} cores "
        "during the run (server and load generator together). Every full-pipeline message "
        "embeds its text once; concurrent messages share the encoder's batches (one encoder "
        f"thread); {limit}",
        "",
    ]


def main() -> None:
    """Run the load benchmark on the default settings and print the section."""
    lines: list[str] = []
    bench_api(Services(Settings()), lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
