"""``policydesk serve``: two API workers on one port; a worker killed is replaced while the other
serves; SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import PROJECT_ROOT, Settings
from tools.engines import free_port

pytestmark = pytest.mark.integration

START_TIMEOUT = 60.0


def _workers_seen(url: str, tries: int, want: int, deadline: float) -> set[int]:
    """The worker ids that answered /healthz, a new connection per request."""
    seen: set[int] = set()
    while time.monotonic() < deadline and len(seen) < want:
        for _ in range(tries):
            try:
                seen.add(httpx.get(f"{url}/healthz", timeout=5).json()["worker"])
            except httpx.TransportError:
                time.sleep(0.2)
        time.sleep(0.1)
    return seen


def test_two_workers_serve_one_port_and_a_killed_worker_is_replaced(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        # no encoder: this test is about the processes; the warm-up reports it and goes on
        "POLICYDESK_EMBEDDING_MODEL": str(tmp_path / "no-model"),
    }
    if settings.database_url:
        env["POLICYDESK_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir), "serve"]
    command += ["--workers", "2", "--port", str(port), "--no-console"]
    server = subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        first = _workers_seen(url, 20, 2, time.monotonic() + START_TIMEOUT)
        assert len(first) == 2, f"expected two workers answering, saw {first}"

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        survivors = _workers_seen(url, 20, 2, time.monotonic() + START_TIMEOUT)
        assert victim not in survivors
        assert len(survivors) == 2, f"the killed worker was not replaced: {survivors}"
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=40)
    text = output.decode(errors="replace")
    assert server.returncode == 0, text
    assert "stopping" in text
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)
