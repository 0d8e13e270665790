"""Background jobs end to end on a real database (fake encoder): a golden-set evaluation run by a
worker records the page's outcome and its progress; failures keep a message for people; a killed
worker's job is run again by the next one; inline mode runs the job in a thread of the
submitting process; the worker command runs and lists jobs."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.models import Role, User
from accounts.passwords import PasswordHashing
from cli.main import main
from core.settings import PROJECT_ROOT, Settings
from db.jobs import Job, JobState
from services.jobs import (
    EmotionRetrainRequest,
    GoldenEvalOutcome,
    GoldenEvalRequest,
    JobKind,
    JobRunner,
    JobSubmitter,
    job_result,
)
from services.root import Services
from studio.golden_eval import LIVE_LABEL
from tests.fakes import TEST_CLAUSES

pytestmark = pytest.mark.integration


def _trainer(services: Services, username: str = "tina", role: Role = Role.TRAINER) -> User:
    return services.accounts.add(username, f"Desk-{len(username)}x-Pass9", [role])


def _with_golden_set(services: Services, tmp_path: Path) -> User:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(TEST_CLAUSES, encoding="utf-8")
    services.ingest.ingest([kb])
    services.golden.add("车涉水被水淹的损失", ["t-1"], "", "tina")
    services.golden.add("被盗窃六十天", ["t-2"], "", "tina")
    services.golden.add("充电桩着火烧坏了能赔吗", ["pile-1"], "", "tina")
    return _trainer(services)


def _queue_only(services: Services) -> JobSubmitter:
    return JobSubmitter(services.jobs, inline=None)


LONG_AGO = timedelta(hours=1)


def _left_by_a_dead_worker(services: Services, tmp_path: Path, worker: str) -> Job:
    """A golden-set job a worker took an hour ago and never beat for again (it was killed)."""
    tina = _with_golden_set(services, tmp_path)
    _queue_only(services).submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina)
    claimed = services.jobs.claim(worker, now=datetime.now(UTC) - LONG_AGO)
    assert claimed is not None
    return claimed


def test_a_worker_runs_a_golden_eval_and_records_the_pages_outcome(
    fake_services: Services, tmp_path: Path
) -> None:
    tina = _with_golden_set(fake_services, tmp_path)
    job = _queue_only(fake_services).submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina)
    assert fake_services.jobs.get(job.id).state is JobState.QUEUED  # nobody runs it yet

    ended = fake_services.job_runner("test:1").run_next()
    assert ended is not None and ended.id == job.id and ended.state is JobState.DONE
    assert (ended.progress_done, ended.progress_total, ended.worker) == (3, 3, "test:1")
    outcome = job_result(ended, GoldenEvalOutcome)
    assert outcome is not None and outcome.label == LIVE_LABEL
    assert outcome.report.recall[1] == pytest.approx(2 / 3)
    assert [m.question for m in outcome.report.misses] == ["充电桩着火烧坏了能赔吗"]
    assert not outcome.delta.has_baseline
    stored = fake_services.eval_runs.latest(LIVE_LABEL)
    assert stored is not None and stored.report == outcome.report and stored.actor == "tina"
    assert fake_services.job_runner("test:1").run_next() is None  # the queue is empty


def test_failures_are_recorded_as_messages_for_people(
    fake_services: Services, tmp_path: Path
) -> None:
    tina = _trainer(fake_services)
    alan = _trainer(fake_services, "alan", Role.AGENT)
    submitter = _queue_only(fake_services)
    no_index = submitter.submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina)
    drafts = submitter.submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(drafts=True), tina)
    refused = submitter.submit(JobKind.EMOTION_RETRAIN, EmotionRetrainRequest(), alan)
    unknown = fake_services.jobs.submit("defragment", {}, "tina")
    runner = fake_services.job_runner("test:1")
    assert runner.serve(threading.Event(), once=True) == 4

    def error(job_id: int) -> str:
        job = fake_services.jobs.get(job_id)
        assert job.state is JobState.FAILED and job.result is None and job.error is not None
        assert "Traceback" not in job.error
        return job.error

    assert error(no_index.id).startswith("no knowledge index in")
    assert error(drafts.id) == "there are no unpublished drafts to preview"
    assert "retrain" in error(refused.id)  # the permission refused, by name
    assert error(unknown.id) == "unknown job kind 'defragment'"
    with pytest.raises(Exception, match="takes a GoldenEvalRequest"):
        submitter.submit(JobKind.GOLDEN_EVAL, EmotionRetrainRequest(), tina)


def test_a_killed_workers_job_is_run_by_the_next_worker(
    fake_services: Services, tmp_path: Path
) -> None:
    job = _left_by_a_dead_worker(fake_services, tmp_path, "killed:99")

    ended = fake_services.job_runner("test:2").run_next()
    assert ended is not None and ended.id == job.id
    assert (ended.state, ended.worker, ended.attempts) == (JobState.DONE, "test:2", 2)


def test_a_job_cancelled_while_it_runs_keeps_no_result(
    fake_services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tina = _with_golden_set(fake_services, tmp_path)
    _queue_only(fake_services).submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina)
    runner = JobRunner(fake_services, fake_services.jobs, "test:3", heartbeat_every=60)
    original = fake_services.jobs.progress

    def cancel_on_first_report(job_id: int, worker: str, done: int, total: int) -> None:
        fake_services.jobs.cancel(job_id)
        original(job_id, worker, done, total)

    monkeypatch.setattr(fake_services.jobs, "progress", cancel_on_first_report)
    ended = runner.run_next()
    assert ended is not None and ended.state is JobState.CANCELLED and ended.result is None
    assert fake_services.eval_runs.latest(LIVE_LABEL) is None  # the run stopped before recording


@pytest.fixture
def inline_services(fake_services: Services) -> Iterator[Services]:
    """The services with jobs run inline, whatever the engine (SQLite's default; on PostgreSQL
    a single-machine deployment may choose it too)."""
    services = Services(
        fake_services.settings.model_copy(update={"jobs_mode": "inline"}),
        embedder=fake_services.embedder,
        passwords=PasswordHashing.fast_for_tests(),
    )
    yield services
    services.engine.dispose()


def test_inline_mode_runs_the_job_in_a_thread_of_the_submitting_process(
    inline_services: Services, tmp_path: Path
) -> None:
    fake_services = inline_services
    tina = _with_golden_set(fake_services, tmp_path)
    submitter = fake_services.job_submitter
    assert submitter.inline
    jobs = [submitter.submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina) for _ in range(2)]
    assert submitter.wait(timeout=60)
    ended = [fake_services.jobs.get(job.id) for job in jobs]
    assert [job.state for job in ended] == [JobState.DONE, JobState.DONE]
    assert all(job.worker is not None and job.worker.endswith("/inline") for job in ended)
    second = job_result(ended[1], GoldenEvalOutcome)
    assert second is not None and second.delta.has_baseline  # the first run is its baseline


def test_inline_mode_runs_a_job_its_stopped_console_left_when_kicked(
    inline_services: Services, tmp_path: Path
) -> None:
    fake_services = inline_services
    job = _left_by_a_dead_worker(fake_services, tmp_path, "stopped-console:7/inline")
    assert fake_services.jobs.is_stale(job)
    assert not fake_services.jobs.is_stale(job, now=job.started_at)  # it had just started

    fake_services.job_submitter.kick()  # what the page's progress fragment does
    assert fake_services.job_submitter.wait(timeout=60)
    ended = fake_services.jobs.get(job.id)
    assert (ended.state, ended.attempts) == (JobState.DONE, 2)
    _queue_only(fake_services).kick()  # queue mode: the worker's business, nothing happens


def test_the_jobs_mode_follows_the_database_unless_set(fake_services: Services) -> None:
    settings = fake_services.settings
    sqlite = settings.model_copy(update={"database_url": "sqlite:////srv/pd/policydesk.db"})
    assert sqlite.resolved_jobs_mode == "inline"
    assert (
        settings.model_copy(
            update={"database_url": "postgresql+psycopg://db/pd"}
        ).resolved_jobs_mode
        == "queue"
    )
    assert settings.model_copy(update={"jobs_mode": "queue"}).resolved_jobs_mode == "queue"
    queue_services = Services(settings.model_copy(update={"jobs_mode": "queue"}))
    assert not queue_services.job_submitter.inline


def test_the_worker_command_runs_the_queue_and_lists_the_jobs(
    fake_services: Services, tmp_path: Path
) -> None:
    tina = _trainer(fake_services)
    job = _queue_only(fake_services).submit(JobKind.GOLDEN_EVAL, GoldenEvalRequest(), tina)
    data_dir = ["--data-dir", str(fake_services.settings.data_dir)]
    out = io.StringIO()
    assert main([*data_dir, "jobs", "worker", "--once"], out=out) == 0
    assert "ran 1 job" in out.getvalue()
    listed = io.StringIO()
    assert main([*data_dir, "jobs", "list", "--json"], out=listed) == 0
    (row,) = json.loads(listed.getvalue())
    assert row["id"] == job.id and row["state"] == "failed" and row["kind"] == "golden_eval"
    assert row["error"].startswith("no knowledge index in")
    table = io.StringIO()
    assert main([*data_dir, "jobs", "list"], out=table) == 0
    assert f"#{job.id}" in table.getvalue() and "failed" in table.getvalue()


def test_sigterm_stops_the_worker_command_cleanly(settings: Settings) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "POLICYDESK_JOBS_MODE": "queue"}
    command = [sys.executable, "-m", "cli", "--data-dir", str(settings.data_dir)]
    worker = subprocess.Popen(
        [*command, "jobs", "worker", "--poll", "0.2"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        started = worker.stdout.readline()  # once it is up and looking at the queue
        assert "job worker" in started and "started (mode queue)" in started
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert "stopped: ran 0 jobs" in output
