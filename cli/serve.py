"""``policydesk serve``: N stateless API workers and the console over the configured engines.

Every process shares nothing but the database and the vector store (sessions, calls, handoffs,
rate limits and the published-content generation all live in the database), so any worker can
serve any request and a load balancer may send each request anywhere. uvicorn's supervisor runs
the API workers and starts a new one when one dies; this command runs that supervisor and the
console side by side, and stops both when either stops or when it is interrupted.

Per process the environment is set before anything is imported:
- ``MALLOC_ARENA_MAX=2``: glibc gives every thread that allocates its own arena, and the API's
  thread pool then holds hundreds of MB of freed but unreturned memory per worker;
- ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``: the encoder's threads per worker, the machine's cores
  shared out among the workers, so N workers do not each start one thread per core.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from pydantic import BaseModel, Field

from core.errors import PolicyDeskError
from core.settings import PROJECT_ROOT
from services.root import Services

MAX_WORKERS = 32
STOP_GRACE_S = 15.0  # a process that has not stopped this long after SIGTERM is killed
POLL_S = 0.5


class ServedProcess(BaseModel):
    """One child process of ``policydesk serve``."""

    name: str
    argv: list[str]
    env: dict[str, str] = Field(description="added to the inherited environment")


def worker_threads(cores: int, workers: int) -> int:
    """The encoder threads each API worker gets: the cores shared out, at least one (pure)."""
    return max(1, cores // max(1, workers))


def serve_plan(
    workers: int,
    host: str,
    port: int,
    console_port: int | None,
    data_dir: Path | None,
    cores: int,
) -> list[ServedProcess]:
    """The processes to start: the API workers (one uvicorn supervisor) and, unless
    ``console_port`` is None, the console.

    Raises:
        PolicyDeskError: a worker count or port out of range, or the two ports the same.
    """
    if not 1 <= workers <= MAX_WORKERS:
        raise PolicyDeskError(f"--workers must be 1 to {MAX_WORKERS}, got {workers}")
    for name, value in (("--port", port), ("--console-port", console_port)):
        if value is not None and not 1 <= value <= 65535:
            raise PolicyDeskError(f"{name} must be a TCP port (1-65535), got {value}")
    if console_port == port:
        raise PolicyDeskError(f"the API and the console cannot share port {port}")
    threads = str(worker_threads(cores, workers))
    env = {"MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    if data_dir is not None:
        env["POLICYDESK_DATA_DIR"] = str(data_dir)
    python = sys.executable
    plan = [
        ServedProcess(
            name=f"api ({workers} worker{'s' if workers > 1 else ''})",
            argv=[
                python,
                "-m",
                "uvicorn",
                "--factory",
                "api.app:create_app",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--timeout-graceful-shutdown",
                "10",
                "--no-server-header",
            ],
            env=env,
        )
    ]
    if console_port is not None:
        plan.append(
            ServedProcess(
                name="console",
                argv=[
                    python,
                    "-m",
                    "streamlit",
                    "run",
                    str(PROJECT_ROOT / "app.py"),
                    "--server.address",
                    host,
                    "--server.port",
                    str(console_port),
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                ],
                env={**env, "OMP_NUM_THREADS": str(max(1, cores // 2))},
            )
        )
    return plan


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``serve`` command."""
    serve = sub.add_parser(
        "serve", help="run N API workers and the console over the configured engines"
    )
    serve.add_argument("--workers", type=int, default=2, help="API worker processes (default 2)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the API's port (default 8000)")
    serve.add_argument(
        "--console-port", type=int, default=8501, help="the console's port (default 8501)"
    )
    serve.add_argument("--no-console", action="store_true", help="the API workers only")


class _Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _stop_all(children: list[tuple[ServedProcess, subprocess.Popen[bytes]]]) -> None:
    for _, child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for _, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def cmd_serve(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Start the processes of the plan; return when one stops (1) or on SIGTERM/Ctrl-C (0)."""
    services.require_database()  # a database behind the code's schema: say so now, not per worker
    plan = serve_plan(
        args.workers,
        args.host,
        args.port,
        None if args.no_console else args.console_port,
        args.data_dir,
        os.cpu_count() or 1,
    )
    database = services.engine.dialect.name
    vectors = services.settings.chroma_url or f"directory {services.settings.chroma_path}"
    out.write(f"database: {database}; vectors: {vectors}\n")
    out.write(f"API: http://{args.host}:{args.port} (readiness: /readyz, metrics: /metrics)\n")
    if not args.no_console:
        out.write(f"console: http://{args.host}:{args.console_port}\n")
    out.flush()
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: list[tuple[ServedProcess, subprocess.Popen[bytes]]] = []
    try:
        for spec in plan:
            env = {**os.environ, **spec.env}
            children.append((spec, subprocess.Popen(spec.argv, env=env, cwd=PROJECT_ROOT)))
        while True:
            for spec, child in children:
                if child.poll() is not None:
                    out.write(f"{spec.name} stopped (exit {child.returncode}); stopping the rest\n")
                    return 1
            time.sleep(POLL_S)
    except (_Stop, KeyboardInterrupt):
        out.write("stopping\n")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_all(children)


COMMANDS = {"serve": cmd_serve}
