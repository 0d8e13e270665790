"""The process plan of ``policydesk serve`` (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.serve import serve_plan, worker_threads
from core.errors import PolicyDeskError


def test_cores_are_shared_out_among_the_workers() -> None:
    assert worker_threads(cores=2, workers=2) == 1
    assert worker_threads(cores=8, workers=2) == 4
    assert worker_threads(cores=2, workers=4) == 1  # never zero threads


def test_plan_runs_the_workers_under_one_supervisor_and_the_console() -> None:
    plan = serve_plan(3, "0.0.0.0", 8100, 8600, Path("/srv/pd"), cores=6)
    api, console = plan
    assert api.argv[api.argv.index("--workers") + 1] == "3"
    assert api.argv[api.argv.index("--port") + 1] == "8100"
    assert "api.app:create_app" in api.argv
    assert api.env["OMP_NUM_THREADS"] == "2"
    assert api.env["MALLOC_ARENA_MAX"] == "2"
    assert api.env["POLICYDESK_DATA_DIR"] == "/srv/pd"
    assert console.argv[console.argv.index("--server.port") + 1] == "8600"
    assert console.argv[console.argv.index("--server.address") + 1] == "0.0.0.0"


def test_plan_without_console_and_data_dir() -> None:
    plan = serve_plan(1, "127.0.0.1", 8000, None, None, cores=2)
    assert [p.name for p in plan] == ["api (1 worker)"]
    assert "POLICYDESK_DATA_DIR" not in plan[0].env


@pytest.mark.parametrize(
    ("workers", "port", "console", "named"),
    [
        (0, 8000, 8501, "--workers"),
        (33, 8000, 8501, "--workers"),
        (2, 0, 8501, "--port"),
        (2, 8000, 70000, "--console-port"),
        (2, 8000, 8000, "share port 8000"),
    ],
)
def test_bad_arguments_name_the_problem(workers: int, port: int, console: int, named: str) -> None:
    with pytest.raises(PolicyDeskError, match=named):
        serve_plan(workers, "127.0.0.1", port, console, None, cores=2)
