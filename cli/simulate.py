"""``policydesk calls simulate``: a telephony stand-in that drives the call-event API exactly as a
connector would (a ``calls`` API key, interim and final segments, real-time pacing), for demos,
tests and load runs.

Each of N parallel streams plays the recorded calls of a folder one after another: it opens a
call for its agent, sends every turn as interim pieces then a final segment, and ends the call.
It reports how long each final segment took to answer.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import TextIO

import httpx
from pydantic import BaseModel, Field

from assist.calls import read_call
from core.errors import PolicyDeskError
from core.metrics import percentiles
from services.root import Services

SPEECH_CHARS_PER_SECOND = 4.0  # how fast a caller's words arrive in real time
INTERIM_EVERY_CHARS = 8  # speech-to-text sends a growing interim text about this often
MAX_PAUSE_SECONDS = 6.0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``calls`` command."""
    calls = sub.add_parser("calls", help="live calls (a telephony stand-in for demos and load)")
    which = calls.add_subparsers(dest="calls_command", required=True)
    simulate = which.add_parser("simulate", help="play recorded calls through the call API")
    simulate.add_argument(
        "--api", required=True, help="the API's base URL, e.g. http://127.0.0.1:8000"
    )
    simulate.add_argument("--key", required=True, help="a calls API key (policydesk apikey create)")
    simulate.add_argument("--agents", type=int, default=1, help="parallel calls (default 1)")
    simulate.add_argument(
        "--agent",
        action="append",
        default=[],
        help="agent username(s) the calls go to, in turn (default agent01)",
    )
    simulate.add_argument("--calls", type=Path, required=True, help="folder of CALL.jsonl files")
    simulate.add_argument("--pace", choices=["realtime", "fast"], default="realtime")
    simulate.add_argument("--caller", action="append", default=[], help="caller number(s) to use")
    simulate.add_argument(
        "--rounds", type=int, default=1, help="times each stream plays the folder"
    )
    simulate.add_argument(
        "--leave-open",
        action="store_true",
        help="do not end the calls (a demo goes on at the console: the draft, the wrap-up)",
    )
    simulate.add_argument("--json", action="store_true", help="print the report as JSON")


class SimulationReport(BaseModel):
    """A simulator run: how much was played and how fast final segments were answered."""

    streams: int
    calls: int
    segments: int
    p50_ms: float
    p95_ms: float
    seconds: float
    errors: list[str]
    latencies_ms: list[float] = Field(
        default_factory=list, exclude=True, description="each final segment's, in order"
    )


@dataclass
class StreamReport:
    """What one stream saw."""

    calls: int = 0
    segments: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _pieces(text: str) -> list[str]:
    """The interim texts speech-to-text would send before the final one."""
    return [text[:end] for end in range(INTERIM_EVERY_CHARS, len(text), INTERIM_EVERY_CHARS)]


def play(
    client: httpx.Client,
    files: list[Path],
    agent: str,
    caller: str,
    realtime: bool,
    report: StreamReport,
    leave_open: bool = False,
) -> None:
    """Play the call files for one agent, one call after another, into ``report``; each call
    is ended after its last turn unless ``leave_open``."""
    for path in files:
        opened = client.post("/v1/calls", json={"caller_number": caller, "agent": agent})
        if opened.status_code != 201:
            report.errors.append(f"open {path.name}: {opened.status_code} {opened.text[:200]}")
            continue
        call_id = opened.json()["call_id"]
        report.calls += 1
        for seq, turn in enumerate(read_call(path)):
            speaking = min(MAX_PAUSE_SECONDS, len(turn.text) / SPEECH_CHARS_PER_SECOND)
            pieces = _pieces(turn.text) if realtime else []
            for piece in pieces:
                if realtime:
                    time.sleep(speaking / (len(pieces) + 1))
                client.post(
                    f"/v1/calls/{call_id}/segments",
                    json={"seq": seq, "speaker": turn.speaker.value, "text": piece, "final": False},
                )
            if realtime:
                time.sleep(speaking / (len(pieces) + 1))
            started = time.perf_counter()
            final = client.post(
                f"/v1/calls/{call_id}/segments",
                json={"seq": seq, "speaker": turn.speaker.value, "text": turn.text, "final": True},
            )
            elapsed = (time.perf_counter() - started) * 1000
            if final.status_code == 200:
                report.latencies_ms.append(elapsed)
                report.segments += 1
            else:
                report.errors.append(f"{path.name} #{seq}: {final.status_code}")
        if leave_open:
            continue
        ended = client.post(f"/v1/calls/{call_id}/end")
        if ended.status_code != 200:
            report.errors.append(f"end {path.name}: {ended.status_code}")


def simulate(
    api: str,
    key: str,
    folder: Path,
    agents: int,
    agent_names: list[str],
    callers: list[str],
    realtime: bool,
    rounds: int = 1,
    leave_open: bool = False,
) -> SimulationReport:
    """Run ``agents`` parallel streams over the call files; the combined report.

    Raises:
        PolicyDeskError: no call files, a bad count, or an API that does not answer.
    """
    if agents < 1 or rounds < 1:
        raise PolicyDeskError("--agents and --rounds must be at least 1")
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise PolicyDeskError(f"no call files (*.jsonl) in {folder}")
    for path in files:
        read_call(path)  # every file is valid before the first request
    names = cycle(agent_names or ["agent01"])
    numbers = cycle(callers or [f"1990000{n:04d}" for n in range(agents)])
    headers = {"Authorization": f"Bearer {key}"}
    reports = [StreamReport() for _ in range(agents)]
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=api, headers=headers, timeout=30.0) as probe:
            probe.get("/healthz").raise_for_status()
    except httpx.HTTPError as exc:
        raise PolicyDeskError(f"the API at {api} does not answer ({type(exc).__name__})") from exc

    def stream(index: int, agent: str, caller: str) -> None:
        with httpx.Client(base_url=api, headers=headers, timeout=30.0) as client:
            for _ in range(rounds):
                play(client, files, agent, caller, realtime, reports[index], leave_open)

    threads = [
        threading.Thread(target=stream, args=(i, next(names), next(numbers)), daemon=True)
        for i in range(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [ms for r in reports for ms in r.latencies_ms]
    p50, p95 = percentiles(latencies, [50, 95]) if latencies else (0.0, 0.0)
    return SimulationReport(
        streams=agents,
        calls=sum(r.calls for r in reports),
        segments=sum(r.segments for r in reports),
        p50_ms=round(p50, 1),
        p95_ms=round(p95, 1),
        seconds=round(time.perf_counter() - started, 1),
        errors=[e for r in reports for e in r.errors],
        latencies_ms=latencies,
    )


def cmd_calls(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Run the simulator; exit status 1 when any request failed."""
    report = simulate(
        args.api,
        args.key,
        args.calls,
        args.agents,
        args.agent,
        args.caller,
        realtime=args.pace == "realtime",
        rounds=args.rounds,
        leave_open=args.leave_open,
    )
    if args.json:
        out.write(report.model_dump_json() + "\n")
    else:
        out.write(
            f"{report.calls} calls, {report.segments} final segments on {report.streams} "
            f"streams in {report.seconds} s; segment → assist p50 {report.p50_ms} ms, "
            f"p95 {report.p95_ms} ms; {len(report.errors)} errors\n"
        )
        for error in report.errors:
            out.write(f"  error: {error}\n")
    return 1 if report.errors else 0


COMMANDS = {"calls": cmd_calls}
