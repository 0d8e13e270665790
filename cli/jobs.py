"""``policydesk jobs worker|list``: run the background-job queue, and see what it holds.

``worker`` claims and runs jobs (golden-set evaluations, emotion retraining) until stopped. SIGTERM
lets the job in hand finish and be recorded, then exits; Ctrl-C (SIGINT) gives the job in hand
back to the queue at once, for another worker. A worker killed outright loses no job either: its
heartbeat stops and the next worker re-queues the job (``POLICYDESK_JOBS_STALE_SECONDS``).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType
from typing import TextIO

from core.errors import PolicyDeskError
from db.jobs import Job
from services.root import Services

LIST_LIMIT = 20


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``jobs`` command."""
    jobs = sub.add_parser("jobs", help="background jobs: evaluations and retraining")
    which = jobs.add_subparsers(dest="jobs_command", required=True)
    worker = which.add_parser("worker", help="claim and run queued jobs until stopped")
    worker.add_argument("--once", action="store_true", help="stop when the queue is empty")
    worker.add_argument(
        "--poll", type=float, default=2.0, help="seconds between looks at an empty queue"
    )
    listing = which.add_parser("list", help="the latest jobs, newest first")
    listing.add_argument("--kind", help="only jobs of this kind (e.g. golden_eval)")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT, help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")


def _line(job: Job) -> str:
    progress = f"{job.progress_done}/{job.progress_total}" if job.progress_total else "-"
    when = job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    tail = f"  {job.error}" if job.error else ""
    return (
        f"#{job.id}  {job.kind:<16} {job.state.value:<9} {progress:>9}  {when}  "
        f"{job.requested_by}  {job.worker or '-'}{tail}\n"
    )


def cmd_jobs(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Run the worker, or list jobs."""
    services.require_database()
    if args.jobs_command == "list":
        if not 1 <= args.limit <= 1000:
            raise PolicyDeskError(f"--limit must be between 1 and 1000, got {args.limit}")
        jobs = services.jobs.recent(args.kind, args.limit)
        if args.json:
            out.write(
                json.dumps([job.model_dump(mode="json") for job in jobs], ensure_ascii=False) + "\n"
            )
        else:
            out.writelines(_line(job) for job in jobs)
            if not jobs:
                out.write("no jobs\n")
        return 0
    if not 0.1 <= args.poll <= 3600:
        raise PolicyDeskError(f"--poll must be between 0.1 and 3600 seconds, got {args.poll}")
    runner = services.job_runner()
    stop = threading.Event()

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # the job in hand finishes and is recorded; then the loop ends

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        out.write(
            f"job worker {runner.worker} started (mode {services.settings.resolved_jobs_mode})\n"
        )
        out.flush()
        ran = runner.serve(stop, poll=args.poll, once=args.once)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.write(f"job worker {runner.worker} stopped: ran {ran} job{'s' if ran != 1 else ''}\n")
    return 0


COMMANDS = {"jobs": cmd_jobs}
