"""A publish in one process serves in every other running process within seconds, no restart.

Two real processes over one data directory: this test process and a long-lived child that keeps
its ``Services`` (as the console and each API worker do) and answers, on request, what its
compliance guard flags. A retire in the studio here reaches the child; a rollback by the
``policydesk kb`` command, a third process, reaches this one.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.studio import cmd_kb
from core.settings import PROJECT_ROOT
from services.root import Services

pytestmark = pytest.mark.integration

PROMISE = "这个肯定全赔，您放心。"
RULE = "promise-full-payout"
PASSWORD = "Reviewer-Pass-26"

CHILD = """
import sys
from pathlib import Path
from core.settings import Settings
from services.root import Services
from tests.fakes import FakeEmbedder

services = Services(Settings(data_dir=Path(sys.argv[1])), embedder=FakeEmbedder())
for line in sys.stdin:
    content = services.content()
    flagged = ",".join(content.guard.check(line.strip()).rules) or "-"
    print(content.generation, flagged, flush=True)
"""


class Child:
    """The other process: asks its own services what the guard flags now."""

    def __init__(self, data_dir: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
        )

    def flags(self, text: str) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        generation, flagged = self.process.stdout.readline().split()
        return int(generation), flagged

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def seeded(fake_services: Services) -> Services:
    accounts = fake_services.accounts
    accounts.add("tina", "Trainer-Pass-26", ["trainer"])
    accounts.add("rita", PASSWORD, ["reviewer"])
    assert cmd_kb(fake_services, argparse.Namespace(kb_command="seed"), io.StringIO()) == 0
    return fake_services


@pytest.fixture
def child(seeded: Services) -> Iterator[Child]:
    other = Child(seeded.settings.data_dir)
    yield other
    other.close()


def _within(seconds: float, check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_publish_in_either_process_serves_in_the_other_without_a_restart(
    seeded: Services, child: Child
) -> None:
    here = seeded
    start, flagged = child.flags(PROMISE)
    assert RULE in flagged.split(",")
    assert RULE in here.guard.check(PROMISE).rules

    # this process retires the red line: the running child stops flagging it
    rita = here.accounts.get("rita")
    here.studio.retire(rita, RULE, note="两个进程的测试")
    assert RULE not in here.guard.check(PROMISE).rules
    assert _within(3, lambda: RULE not in child.flags(PROMISE)[1].split(","))
    assert child.flags(PROMISE)[0] > start

    # a third process (the command line) rolls it back: this running process serves it again
    completed = subprocess.run(
        [
            sys.executable, "-m", "cli.main", "--data-dir", str(here.settings.data_dir),
            "kb", "--user", "rita", "rollback", RULE, "1", "--note", "恢复",
        ],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "POLICYDESK_PASSWORD": PASSWORD},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert _within(3, lambda: RULE in here.guard.check(PROMISE).rules)
    assert _within(3, lambda: RULE in child.flags(PROMISE)[1].split(","))
