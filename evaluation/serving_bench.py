"""Serving at scale: ``policydesk serve`` with two API workers under chat and call load, on the
embedded engines and on PostgreSQL + a Chroma server.

Per deployment:
* **Closed loop.** 50 sessions × 20 messages, each message sent after the previous reply.
* **Open loop.** 200 sessions, each sending a message every 5 s for 2 minutes whatever the replies
  (40 messages/s offered), with 10 live calls at the pace of speech alongside (segment → assist).
  A client honours ``503`` + ``Retry-After`` (up to three tries) and retries once after a broken
  connection, as a WeChat back end would.
* **A fault during the open loop.** kill -9 of one of the two API workers, and on PostgreSQL a
  restart of the database server. Afterwards every session is read back: a message the API
  accepted (2xx) and that is missing from its session is *lost*.
* **Peak RSS per worker**, from the kernel's high-water mark (``VmHWM``) of each worker process.

The servers write to a copy of the demo database (SQLite) or to a fresh PostgreSQL database
filled by the same set-up commands as ``make setup``; the load generator runs in this process, on
the same two cores.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import BaseModel, Field

from chatbot.routing_sets import load_routing_set
from core.errors import PolicyDeskError
from core.metrics import percentiles
from core.settings import PROJECT_ROOT, Settings
from evaluation.api_load import (
    ROUTING_MESSAGES,
    SEED,
    _found,
    _load,
    ensure_load_agent,
    plan_sessions,
)
from evaluation.calls_bench import DEMO_CALLS, _credentials, _folder, _join, _Running
from tools.engines import (
    EngineStartError,
    chroma_server,
    free_port,
    postgres_bin,
    postgres_server,
)

WORKERS = 2
READY_TIMEOUT = 300.0
OPEN_SESSIONS = 200
OPEN_PERIOD_S = 5.0
OPEN_DURATION_S = 120.0
FAULT_AT_S = 40.0  # into the open loop
LIVE_CALLS = 10
REQUEST_TIMEOUT = 30.0
RETRIES_503 = 3
# every session comes from this one client address: its per-client limits, at their maximum
ONE_CLIENT_LIMITS = {
    "POLICYDESK_API_SESSIONS_PER_MINUTE": "10000",
    "POLICYDESK_API_MESSAGES_PER_MINUTE": "100000",
}
TARGETS = {"closed_msgs_per_s": 100.0, "closed_p95_ms": 500.0, "open_p95_ms": 300.0}


class ServedApi:
    """A running ``policydesk serve`` (API workers only) and what it reports about itself."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url
        self.workers: set[int] = set()
        self.peak_rss: dict[int, int] = {}  # worker pid -> bytes, read before it goes

    def note_workers(self, deadline: float, want: int) -> None:
        """Ask ``/healthz`` (a new connection each time) until ``want`` ready workers answered.

        Raises:
            PolicyDeskError: fewer answered before ``deadline`` or the server stopped.
        """
        ready: set[int] = set()
        while len(ready) < want:
            if self.process.poll() is not None:
                raise PolicyDeskError("policydesk serve stopped while starting")
            if time.monotonic() > deadline:
                raise PolicyDeskError(f"only {len(ready)} of {want} workers became ready in time")
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=2.0).json()
                self.workers.add(health["worker"])
                if health["ready"]:
                    ready.add(health["worker"])
            except httpx.TransportError:
                time.sleep(0.2)
            if len(ready) < want:
                time.sleep(0.05)

    def read_peaks(self) -> None:
        """Record each known worker's peak RSS so far (kept when the worker is gone later)."""
        for pid in list(self.workers):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), int(line.split()[1]) * 1024)

    def kill_one_worker(self) -> int:
        """kill -9 the lowest-numbered live worker; returns its pid."""
        self.read_peaks()
        victim = min(pid for pid in self.workers if Path(f"/proc/{pid}").exists())
        os.kill(victim, signal.SIGKILL)
        return victim


@contextmanager
def serve_api(settings: Settings, folder: Path, workers: int = WORKERS) -> Iterator[ServedApi]:
    """``policydesk serve --workers N --no-console`` over ``settings`` until every worker is
    ready (its log and the workers' shared metrics directory in ``folder``); stopped (SIGTERM) on
    exit.

    Raises:
        PolicyDeskError: it stopped or was not ready within ``READY_TIMEOUT``.
    """
    port = free_port()
    env = dict(os.environ)
    env["POLICYDESK_DATA_DIR"] = str(settings.data_dir)
    for name, value in (
        ("POLICYDESK_DATABASE_URL", settings.database_url),
        ("POLICYDESK_CHROMA_URL", settings.chroma_url),
    ):
        if value is not None:
            env[name] = value
    env.update(ONE_CLIENT_LIMITS)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    metrics = folder / "metrics"  # every worker's samples, from whichever worker answers
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    log = folder / "serve.log"
    command = [sys.executable, "-m", "cli", "serve", "--workers", str(workers)]
    command += ["--port", str(port), "--no-console"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        served = ServedApi(process, f"http://127.0.0.1:{port}")
        try:
            served.note_workers(time.monotonic() + READY_TIMEOUT, workers)
            yield served
        finally:
            served.read_peaks()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ----- the open loop ------------------------------------------------------------------------------


class Sent(BaseModel):
    """One customer message of the open loop, as its client saw it."""

    session: int
    text: str
    accepted: bool = False
    latency_ms: float | None = Field(default=None, description="of the try that was accepted")
    tries: int = 0
    seen: list[str] = Field(default_factory=list, description="what each failed try got")


class OpenResult(BaseModel):
    """What the open loop offered, what was accepted and what survived."""

    offered: int
    sent: list[Sent]
    lost: int = Field(description="accepted, and missing from the session afterwards")
    unanswered_stored: int = Field(
        description="stored, though the client got no success for them (a broken connection)"
    )
    seconds: float
    fault: str | None = None

    @property
    def latencies(self) -> list[float]:
        return [s.latency_ms for s in self.sent if s.latency_ms is not None]

    @property
    def failed(self) -> Counter[str]:
        return Counter(s.seen[-1] for s in self.sent if not s.accepted and s.seen)

    @property
    def retried(self) -> Counter[str]:
        return Counter(seen for s in self.sent if s.accepted for seen in s.seen)


async def _post(client: httpx.AsyncClient, path: str, sent: Sent, headers: dict[str, str]) -> None:
    broken = 0
    while sent.tries < 1 + RETRIES_503 + 1:
        sent.tries += 1
        started = time.perf_counter()
        try:
            reply = await client.post(path, json={"text": sent.text}, headers=headers)
        except httpx.HTTPError as exc:
            sent.seen.append(type(exc).__name__)
            broken += 1
            if broken > 1:
                return
            await asyncio.sleep(0.5)
            continue
        if reply.is_success:
            sent.accepted = True
            sent.latency_ms = (time.perf_counter() - started) * 1000
            return
        sent.seen.append(str(reply.status_code))
        if reply.status_code != 503 or sent.seen.count("503") > RETRIES_503:
            return
        await asyncio.sleep(float(reply.headers.get("Retry-After", "1")))


async def _open_session(
    url: str, number: int, texts: Sequence[str], offset: float
) -> tuple[str | None, dict[str, str], list[Sent]]:
    # a client per customer, as in life: one shared pool of hundreds of connections costs the
    # load generator more CPU (httpcore scans its pool per request) than the server gets
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        return await _open_session_on(client, number, texts, offset)


async def _open_session_on(
    client: httpx.AsyncClient, number: int, texts: Sequence[str], offset: float
) -> tuple[str | None, dict[str, str], list[Sent]]:
    await asyncio.sleep(offset)
    created: httpx.Response | None = None
    for _ in range(RETRIES_503 + 1):
        try:
            created = await client.post("/v1/sessions", json={"channel": "wechat"})
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        if created.status_code != 503:
            break
        await asyncio.sleep(float(created.headers.get("Retry-After", "1")))
    if created is None or created.status_code != 201:
        return None, {}, []
    session = created.json()["session_id"]
    owner = {"X-Session-Secret": created.json()["session_secret"]}
    sent = [Sent(session=number, text=text) for text in texts]
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for k, message in enumerate(sent):  # on a clock, whatever the replies (an open loop)
        await asyncio.sleep(max(0.0, start + k * OPEN_PERIOD_S - loop.time()))
        tasks.append(
            asyncio.create_task(_post(client, f"/v1/sessions/{session}/messages", message, owner))
        )
    await asyncio.gather(*tasks)
    return session, owner, sent


async def _stored(client: httpx.AsyncClient, session: str, owner: dict[str, str]) -> int | None:
    """How many customer messages the session holds (texts are stored masked, so they are
    counted, not compared)."""
    for _ in range(5):
        try:
            read = await client.get(f"/v1/sessions/{session}", headers=owner)
        except httpx.HTTPError:
            await asyncio.sleep(1.0)
            continue
        if read.is_success:
            return sum(m["sender"] == "customer" for m in read.json()["messages"])
        await asyncio.sleep(1.0)
    return None


async def _open_loop(
    url: str, plans: Sequence[Sequence[str]], fault: tuple[str, Callable[[], object]] | None
) -> OpenResult:
    rng = random.Random(SEED)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        started = time.perf_counter()
        runs = [
            _open_session(url, n, texts, rng.uniform(0, OPEN_PERIOD_S))
            for n, texts in enumerate(plans)
        ]
        faulted: list[str] = []

        async def inject() -> None:
            if fault is not None:
                await asyncio.sleep(FAULT_AT_S)
                await asyncio.to_thread(fault[1])
                faulted.append(fault[0])

        results, _ = await asyncio.gather(asyncio.gather(*runs), inject())
        seconds = time.perf_counter() - started
        lost = extra = 0
        sent: list[Sent] = []
        for session, owner, messages in results:
            sent += messages
            accepted = sum(m.accepted for m in messages)
            if session is None:
                continue
            stored = await _stored(client, session, owner)
            if stored is None:
                lost += accepted
                continue
            lost += max(0, accepted - stored)
            extra += max(0, stored - accepted)
    return OpenResult(
        offered=sum(len(p) for p in plans),
        sent=sent,
        lost=lost,
        unanswered_stored=extra,
        seconds=seconds,
        fault=faulted[0] if faulted else None,
    )


# ----- one deployment ----------------------------------------------------------------------------


class DeploymentResult(BaseModel):
    """The figures of one deployment."""

    label: str
    closed_messages: int
    closed_seconds: float
    closed_latencies: list[float]
    closed_errors: dict[str, int]
    handoffs_reported: int
    handoffs_found: int
    open_clean: OpenResult
    calls_p50_ms: float
    calls_p95_ms: float
    calls_errors: int
    faults: list[OpenResult]
    peak_rss_mib: list[float]
    restarted_worker: bool
    requests_per_batch: float = Field(description="closed loop, every worker (from /metrics)")
    texts_per_pass: float


def scrape_encoder(url: str) -> tuple[float, float]:
    """Requests per collected encoder batch and texts per forward pass so far, over every worker
    (the workers share a metrics directory)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text

    def mean(name: str) -> float:
        total = re.search(rf"^policydesk_{name}_sum (\S+)$", text, re.M)
        count = re.search(rf"^policydesk_{name}_count (\S+)$", text, re.M)
        if not total or not count or float(count.group(1)) == 0:
            return 0.0
        return float(total.group(1)) / float(count.group(1))

    return mean("encoder_batch_requests"), mean("encoder_forward_texts")


def run_deployment(
    label: str,
    settings: Settings,
    folder: Path,
    database_fault: Callable[[], None] | None = None,
) -> DeploymentResult:
    """Every run of the module's docstring against one deployment's settings.

    Raises:
        PolicyDeskError: the server could not start.
    """
    examples = load_routing_set(ROUTING_MESSAGES)
    closed_plans = plan_sessions(examples)
    per_open = int(OPEN_DURATION_S / OPEN_PERIOD_S)
    open_plans = plan_sessions(examples, OPEN_SESSIONS, per_open, seed=SEED + 2)
    agents, key = _credentials(settings, LIVE_CALLS)
    load_user(settings)
    calls = sorted(p.name for p in DEMO_CALLS.glob("*.jsonl"))
    with serve_api(settings, folder) as served:
        runs, closed_seconds = asyncio.run(_load(served.url, closed_plans))
        found = asyncio.run(_found(served.url, runs))
        encoder = scrape_encoder(served.url)
        streams = [
            _Running(served.url, key, _folder(folder, [calls[i % len(calls)]]), agents[i],
                     delay=5.0 * i / LIVE_CALLS)
            for i in range(LIVE_CALLS)
        ]  # fmt: skip
        open_clean = asyncio.run(_open_loop(served.url, open_plans, None))
        live = _join(streams)
        served.read_peaks()
        faults = [
            asyncio.run(
                _open_loop(served.url, open_plans, ("kill -9 one worker", served.kill_one_worker))
            )
        ]
        time.sleep(2.0)
        before = set(served.workers)
        served.note_workers(time.monotonic() + READY_TIMEOUT, WORKERS)
        restarted = len(served.workers - before) > 0 or len(served.workers) > WORKERS
        if database_fault is not None:
            faults.append(
                asyncio.run(
                    _open_loop(served.url, open_plans, ("restart PostgreSQL", database_fault))
                )
            )
        served.read_peaks()
        peaks = [value / 2**20 for value in served.peak_rss.values()]
    return DeploymentResult(
        label=label,
        closed_messages=sum(len(r.latencies_ms) for r in runs),
        closed_seconds=closed_seconds,
        closed_latencies=[ms for r in runs for ms in r.latencies_ms],
        closed_errors=dict(Counter(e for r in runs for e in r.errors)),
        handoffs_reported=sum(len(r.handoffs) for r in runs),
        handoffs_found=found,
        open_clean=open_clean,
        calls_p50_ms=live.p50_ms,
        calls_p95_ms=live.p95_ms,
        calls_errors=len(live.errors),
        faults=faults,
        peak_rss_mib=sorted(peaks),
        restarted_worker=restarted,
        requests_per_batch=encoder[0],
        texts_per_pass=encoder[1],
    )


def load_user(settings: Settings) -> None:
    """The agent who reads the handoffs back after the closed loop, in the served database."""
    from accounts.passwords import PasswordHashing
    from services.root import Services

    services = Services(settings, passwords=PasswordHashing.fast_for_tests())
    try:
        ensure_load_agent(services)
    finally:
        services.engine.dispose()


def _p(samples: Sequence[float], q: int) -> float:
    return percentiles(list(samples), [q])[0] if samples else 0.0


def _counts(counter: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{n} × {what}" for what, n in sorted(counter.items())) or "none"


def render(results: Sequence[DeploymentResult]) -> list[str]:
    """The section: one table per run kind, a row per deployment."""
    lines = [
        "## Serving: two API workers under chat and call load",
        "",
        f"`policydesk serve --workers {WORKERS} --no-console` (uvicorn's supervisor, two worker "
        "processes on one port; each worker's encoder threads are the cores shared out, glibc "
        "arenas capped). The load generator runs in the benchmark process on the same two cores. "
        "Texts are drawn from `data/eval/routing_messages.jsonl` as in the closed loop of the "
        "previous section. Clients honour 503 + Retry-After (up to three tries) and retry once "
        "after a broken connection.",
        "",
        "Closed loop: 50 sessions × 20 messages, each after the previous reply (targets: ≥ "
        f"{TARGETS['closed_msgs_per_s']:.0f} msg/s, p95 ≤ {TARGETS['closed_p95_ms']:.0f} ms, "
        "0 errors, 0 lost handoffs).",
        "",
        "| deployment | messages | throughput | p50 | p95 | errors | handoffs reported | lost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rate = r.closed_messages / r.closed_seconds if r.closed_seconds else 0.0
        lines.append(
            f"| {r.label} | {r.closed_messages} | {rate:.1f} msg/s "
            f"| {_p(r.closed_latencies, 50):.0f} ms | {_p(r.closed_latencies, 95):.0f} ms "
            f"| {_counts(r.closed_errors)} | {r.handoffs_reported} "
            f"| {r.handoffs_reported - r.handoffs_found} |"
        )
    lines += [
        "",
        f"Open loop: {OPEN_SESSIONS} sessions, each sending a message every "
        f"{OPEN_PERIOD_S:.0f} s for {OPEN_DURATION_S:.0f} s ({OPEN_SESSIONS / OPEN_PERIOD_S:.0f} "
        f"messages/s offered), with {LIVE_CALLS} live calls at the pace of speech alongside "
        f"(target: p95 ≤ {TARGETS['open_p95_ms']:.0f} ms). Latency is of the accepted try.",
        "",
        "| deployment | run | offered | accepted | p50 | p95 | failed (last answer) "
        "| retried (answers before success) | lost | stored without a success |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for run in [r.open_clean, *r.faults]:
            accepted = sum(s.accepted for s in run.sent)
            lines.append(
                f"| {r.label} | {run.fault or 'no fault'} | {run.offered} | {accepted} "
                f"| {_p(run.latencies, 50):.0f} ms | {_p(run.latencies, 95):.0f} ms "
                f"| {_counts(run.failed)} | {_counts(run.retried)} | {run.lost} "
                f"| {run.unanswered_stored} |"
            )
    lines += [
        "",
        f"The faults come {FAULT_AT_S:.0f} s into an open loop. A killed worker is replaced "
        "by uvicorn's supervisor; *lost* counts messages the API accepted that are missing "
        "from their session when it is read back afterwards (per session: accepted minus "
        "stored).",
        "",
        "| deployment | live calls: segment → assist p50 | p95 | errors | peak RSS per worker "
        "(VmHWM; a replaced worker is a row of its own) | killed worker replaced "
        "| encoder: requests per batch | texts per pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        peaks = ", ".join(f"{mib:.0f}" for mib in r.peak_rss_mib)
        lines.append(
            f"| {r.label} | {r.calls_p50_ms:.0f} ms | {r.calls_p95_ms:.0f} ms | {r.calls_errors} "
            f"| {peaks} MiB | {'yes' if r.restarted_worker else 'no'} "
            f"| {r.requests_per_batch:.2f} | {r.texts_per_pass:.2f} |"
        )
    lines.append("")
    return lines


SETUP_COMMANDS = (
    ["db", "upgrade"],
    ["ingest", "data/clauses", "data/cases"],
    ["customers", "seed"],
    ["kb", "seed"],
)


@contextmanager
def on_engines(folder: Path) -> Iterator[tuple[Settings, Callable[[], None]]]:
    """A durable PostgreSQL cluster (every commit synced, as deployed) and a Chroma server, set up
    by the commands ``make setup`` runs; yields the settings and the database restart.

    Raises:
        EngineStartError: PostgreSQL is not installed, or an engine did not start.
        PolicyDeskError: a set-up command failed.
    """
    with (
        postgres_server(folder / "pg", durable=True) as postgres,
        chroma_server(folder / "chroma") as chroma_url,
    ):
        settings = Settings(
            data_dir=folder / "var", database_url=postgres.url, chroma_url=chroma_url
        )
        env = {
            **os.environ,
            "POLICYDESK_DATABASE_URL": postgres.url,
            "POLICYDESK_CHROMA_URL": chroma_url,
        }
        for command in SETUP_COMMANDS:
            done = subprocess.run(
                [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir), *command],
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise PolicyDeskError(f"policydesk {' '.join(command)} failed: {done.stderr}")
        yield settings, postgres.restart


def bench_serving(settings: Settings, lines: list[str]) -> None:
    """Append the serving section: on a copy of the SQLite database and the Chroma directory,
    then on PostgreSQL and a Chroma server (skipped, and said so, without PostgreSQL).

    Raises:
        PolicyDeskError: a server could not start.
    """
    from evaluation.api_load import _isolated

    results: list[DeploymentResult] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        embedded = _isolated(settings, Path(tmp))
        if embedded is None:
            notes.append("SQLite: skipped (POLICYDESK_DATABASE_URL points elsewhere).")
        else:
            folder = Path(tmp) / "embedded"
            folder.mkdir()
            results.append(run_deployment("SQLite + Chroma directory", embedded, folder))
    if postgres_bin() is None:
        notes.append("PostgreSQL: skipped (not installed; `make test-engines` installs it).")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            os.chmod(folder, 0o711)  # the cluster's owner reaches its folder inside
            try:
                with on_engines(folder / "engines") as (engines, restart):
                    results.append(
                        run_deployment(
                            "PostgreSQL 15 + Chroma server", engines, folder, database_fault=restart
                        )
                    )
            except EngineStartError as exc:
                notes.append(f"PostgreSQL + Chroma server: could not start ({exc}).")
    lines += render(results)
    lines += [*notes, ""] if notes else []


def main() -> None:
    """Run the serving benchmark and print its section."""
    lines: list[str] = []
    bench_serving(Settings(), lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
