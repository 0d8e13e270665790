"""Live calls under load: segment → assist latency through the call API, and the first turn after
a fresh start.

* **Concurrent live calls.** The telephony stand-in (``policydesk calls simulate``'s streams)
  plays recorded calls at the pace of speech (interim pieces, then the final segment) for 1, 10
  and 30 agents at once, against a real uvicorn server over loopback; the latency is the final
  segment's request (the assist pipeline included), as a connector sees it.
* **Saturation.** 10 streams with no pauses at all: what the server does when segments arrive as
  fast as it answers them (far more than 10 real calls send).
* **Fresh start.** A new API process on the same data: how long until ``/readyz`` says ready,
  then the first final segment of the first call against the ones after it.

The servers write to a copy of the database in a temp directory; the Chroma index is shared
read-only. ``python -m evaluation.calls_bench`` prints the section alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from accounts.passwords import PasswordHashing
from api.app import create_app
from cli.simulate import SimulationReport, simulate
from core.errors import PolicyDeskError
from core.metrics import percentiles
from core.settings import PROJECT_ROOT, Settings
from evaluation.api_load import _free_port, _isolated, serve
from services.root import Services

DEMO_CALLS = PROJECT_ROOT / "data" / "demo" / "calls"
LEVELS = (1, 10, 30)
SATURATION_STREAMS = 10
TARGET_P95_MS = 150.0  # at 10 concurrent calls
AGENT_PASSWORD = "Bench-Agent-2026"
FIRST_TURN_CALL = "02_angry_refusal.jsonl"
READY_TIMEOUT = 300.0


def _agents(services: Services, count: int) -> list[str]:
    names = [f"bench{n:02d}" for n in range(count)]
    existing = {u.username for u in services.accounts.list()}
    for name in names:
        if name not in existing:
            services.accounts.add(name, AGENT_PASSWORD, ["agent"])
    return names


def _folder(root: Path, files: list[str]) -> Path:
    folder = root / f"calls-{len(list(root.iterdir()))}"
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes((DEMO_CALLS / name).read_bytes())
    return folder


def run_levels(services: Services, root: Path) -> list[tuple[str, SimulationReport]]:
    """Each level's simulator report, on a server over ``services``."""
    calls = sorted(p.name for p in DEMO_CALLS.glob("*.jsonl"))
    agents = _agents(services, max(LEVELS))
    key = services.api_keys.create(f"bench-{time.time_ns()}", "calls", created_by="bench").key
    reports: list[tuple[str, SimulationReport]] = []
    with serve(create_app(services)) as url:
        # one call per stream at the pace of speech; every stream plays another recording
        for level in LEVELS:
            streams = [
                _Running(url, key, _folder(root, [calls[i % len(calls)]]), agents[i])
                for i in range(level)
            ]
            reports.append((f"{level} concurrent calls, speech pace", _join(streams)))
        folder = _folder(root, calls)
        report = simulate(
            url, key, folder, SATURATION_STREAMS, agents[:SATURATION_STREAMS], [],
            realtime=False,
        )  # fmt: skip
        reports.append((f"{SATURATION_STREAMS} streams, no pauses (saturation)", report))
    return reports


class _Running:
    """One simulator stream at the pace of speech, running in a thread."""

    def __init__(self, url: str, key: str, folder: Path, agent: str) -> None:
        self.report: SimulationReport | None = None
        self.error: str | None = None

        def run() -> None:
            try:
                self.report = simulate(url, key, folder, 1, [agent], [], realtime=True)
            except PolicyDeskError as exc:
                self.error = str(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


def _join(streams: list[_Running]) -> SimulationReport:
    """The streams' reports combined (latency percentiles over every final segment)."""
    for stream in streams:
        stream.thread.join()
    done = [s.report for s in streams if s.report is not None]
    errors = [s.error for s in streams if s.error] + [e for r in done for e in r.errors]
    latencies = [ms for r in done for ms in r.latencies_ms]
    p50, p95 = percentiles(latencies, [50, 95]) if latencies else (0.0, 0.0)
    return SimulationReport(
        streams=len(streams),
        calls=sum(r.calls for r in done),
        segments=sum(r.segments for r in done),
        p50_ms=round(p50, 1),
        p95_ms=round(p95, 1),
        seconds=max((r.seconds for r in done), default=0.0),
        errors=errors,
        latencies_ms=latencies,
    )


def fresh_start(settings: Settings, root: Path) -> tuple[float, float, list[float]]:
    """A new API process: seconds to ready, the first final segment's ms, and the others'."""
    port = _free_port()
    env = dict(os.environ)
    env["POLICYDESK_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url is not None:
        env["POLICYDESK_DATABASE_URL"] = settings.database_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    services = Services(settings, passwords=PasswordHashing.fast_for_tests())
    (agent,) = _agents(services, 1)
    key = services.api_keys.create(f"bench-fresh-{time.time_ns()}", "calls", "bench").key
    services.engine.dispose()
    log = (root / "fresh-api.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise PolicyDeskError("the fresh API process exited while starting")
            if time.perf_counter() - started > READY_TIMEOUT:
                raise PolicyDeskError(f"the fresh API was not ready in {READY_TIMEOUT:.0f} s")
            try:
                if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        ready = time.perf_counter() - started
        report = simulate(
            url, key, _folder(root, [FIRST_TURN_CALL]), 1, [agent], [], realtime=False
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    if report.errors or not report.latencies_ms:
        raise PolicyDeskError(f"the first call after a fresh start failed: {report.errors}")
    return ready, report.latencies_ms[0], report.latencies_ms[1:]


def bench_calls(services: Services, lines: list[str]) -> None:
    """Append the "Live calls" section to ``lines``."""
    lines += ["## Live calls: segment → assist through the call API", ""]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = _isolated(services.settings, root)
        if settings is None:
            lines += ["Skipped: runs only on the default SQLite database (copied).", ""]
            return
        bench_services = Services(settings, passwords=PasswordHashing.fast_for_tests())
        try:
            levels = run_levels(bench_services, root)
        finally:
            bench_services.engine.dispose()
        ready, first, rest = fresh_start(settings, root)
    lines += [
        "Final segments posted by the telephony stand-in (`policydesk calls simulate`'s "
        "streams) to a real uvicorn server on this machine; the latency is the connector's "
        "request, the whole assist pipeline included. At speech pace each caller turn arrives "
        "as interim pieces, then the final text, as a live call does.",
        "",
        "| load | calls | final segments | p50 | p95 | errors |",
        "|---|---|---|---|---|---|",
    ]
    for label, report in levels:
        lines.append(
            f"| {label} | {report.calls} | {report.segments} | {report.p50_ms:.0f} ms "
            f"| {report.p95_ms:.0f} ms | {len(report.errors)} |"
        )
    at_ten = next(r for label, r in levels if label.startswith("10 concurrent"))
    verdict = "met" if at_ten.p95_ms <= TARGET_P95_MS else "NOT met"
    rest_p50 = percentiles(rest, [50])[0] if rest else 0.0
    lines += [
        "",
        f"Target p95 ≤ {TARGET_P95_MS:.0f} ms at 10 concurrent calls: **{verdict}** "
        f"({at_ten.p95_ms:.0f} ms).",
        "",
        "| fresh start (a new API process on the same data) | value |",
        "|---|---|",
        f"| start to `/readyz` 200 (models, index, warm-up) | {ready:.1f} s |",
        f"| first final segment of the first call | {first:.0f} ms |",
        f"| the call's later final segments (p50, {len(rest)}) | {rest_p50:.0f} ms |",
        "",
    ]


def main() -> None:
    """``python -m evaluation.calls_bench``: print the section alone."""
    lines: list[str] = []
    bench_calls(Services(Settings()), lines)
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
