"""The job queue on a real database: one claim per job under concurrent workers, progress as the
heartbeat, results and failures, cancelling, and a silent worker's job re-queued or failed."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from core.errors import JobLostError, JobNotFoundError
from db.jobs import JobQueue, JobState

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_a_job_goes_from_queued_to_done_with_its_progress_and_result(
    migrated_engine: Engine,
) -> None:
    queue = JobQueue(migrated_engine)
    job = queue.submit("golden_eval", {"drafts": False}, "tina", now=T0)
    assert (job.state, job.attempts, job.fraction) == (JobState.QUEUED, 0, None)

    claimed = queue.claim("host:1", now=T0 + timedelta(seconds=1))
    assert claimed is not None and claimed.id == job.id
    assert (claimed.state, claimed.worker, claimed.attempts) == (JobState.RUNNING, "host:1", 1)
    assert queue.claim("host:2") is None  # nothing else queued

    queue.progress(job.id, "host:1", 3, 4, now=T0 + timedelta(seconds=5))
    running = queue.get(job.id)
    assert running.fraction == 0.75 and running.heartbeat_at == T0 + timedelta(seconds=5)
    with pytest.raises(JobLostError):
        queue.progress(job.id, "host:2", 4, 4)  # not that worker's job

    done = queue.finish(job.id, "host:1", {"mrr": 0.5}, now=T0 + timedelta(seconds=9))
    assert (done.state, done.result, done.error) == (JobState.DONE, {"mrr": 0.5}, None)
    assert done.finished_at == T0 + timedelta(seconds=9) and done.state.ended
    assert [j.id for j in queue.recent("golden_eval")] == [job.id]
    assert queue.recent("emotion_retrain") == []


def test_jobs_are_claimed_oldest_first_and_a_named_job_only_while_queued(
    migrated_engine: Engine,
) -> None:
    queue = JobQueue(migrated_engine)
    first, second, third = (queue.submit("k", {"n": n}, "tina") for n in range(3))
    named = queue.claim("w", job_id=third.id)
    assert named is not None and named.id == third.id
    assert queue.claim("w", job_id=third.id) is None  # already running
    oldest = queue.claim("w")
    assert oldest is not None and oldest.id == first.id and oldest.payload == {"n": 0}
    assert [j.id for j in queue.recent(limit=2)] == [third.id, second.id]


def test_a_failure_keeps_its_message_and_a_cancelled_job_is_lost_to_its_worker(
    migrated_engine: Engine,
) -> None:
    queue = JobQueue(migrated_engine)
    failing, cancelled, waiting = (queue.submit("k", {}, "tina") for _ in range(3))
    queue.claim("w", job_id=failing.id)
    failed = queue.fail(failing.id, "w", "the golden question set is empty: add questions first")
    assert failed.state is JobState.FAILED and failed.error is not None
    assert failed.error.startswith("the golden question set is empty")

    queue.claim("w", job_id=cancelled.id)
    assert queue.cancel(cancelled.id).state is JobState.CANCELLED
    with pytest.raises(JobLostError):
        queue.progress(cancelled.id, "w", 1, 2)
    with pytest.raises(JobLostError):
        queue.finish(cancelled.id, "w", {})
    assert queue.get(cancelled.id).result is None

    assert queue.cancel(waiting.id).state is JobState.CANCELLED
    assert queue.claim("w") is None  # a cancelled job is never handed out
    assert queue.cancel(failing.id).state is JobState.FAILED  # an ended job stays as it ended
    with pytest.raises(JobNotFoundError, match="no job #999"):
        queue.get(999)


def test_a_silent_workers_job_is_requeued_then_failed_after_the_last_attempt(
    migrated_engine: Engine,
) -> None:
    queue = JobQueue(migrated_engine, stale_after=timedelta(minutes=2), max_attempts=2)
    job = queue.submit("emotion_retrain", {}, "tina", now=T0)
    queue.claim("killed:1", now=T0)
    queue.heartbeat(job.id, "killed:1", now=T0 + timedelta(minutes=1))
    assert queue.reap(now=T0 + timedelta(minutes=2, seconds=30)) == []  # beat 90 s ago: alive

    (requeued,) = queue.reap(now=T0 + timedelta(minutes=3, seconds=1))
    assert (requeued.state, requeued.worker, requeued.attempts) == (JobState.QUEUED, None, 1)
    with pytest.raises(JobLostError):
        queue.finish(job.id, "killed:1", {})  # the old worker, back, cannot record over it

    again = queue.claim("killed:2", now=T0 + timedelta(minutes=4))
    assert again is not None and again.attempts == 2
    (failed,) = queue.reap(now=T0 + timedelta(minutes=7))
    assert failed.state is JobState.FAILED and failed.attempts == 2
    assert failed.error is not None and "on each of 2 attempts" in failed.error
    assert queue.claim("w") is None


def test_a_released_job_goes_back_to_the_queue_without_using_an_attempt(
    migrated_engine: Engine,
) -> None:
    queue = JobQueue(migrated_engine)
    job = queue.submit("k", {}, "tina")
    queue.claim("w")
    released = queue.release(job.id, "w")
    assert (released.state, released.worker, released.attempts) == (JobState.QUEUED, None, 0)


def test_concurrent_workers_claim_each_job_exactly_once(migrated_engine: Engine) -> None:
    queue = JobQueue(migrated_engine)
    submitted = [queue.submit("k", {"n": n}, "tina").id for n in range(40)]
    claims: list[tuple[str, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(worker: str) -> None:
        start.wait()
        while (job := queue.claim(worker)) is not None:
            with lock:
                claims.append((worker, job.id))
            time.sleep(0.002)  # the work, during which the others claim

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counts = Counter(job_id for _, job_id in claims)
    assert sorted(counts) == submitted and set(counts.values()) == {1}
    assert len({worker for worker, _ in claims}) > 1  # the workers really raced
    rows = {job.id: job for job in queue.recent(limit=100)}
    assert all(rows[job_id].worker == worker for worker, job_id in claims)
    assert {job.state for job in rows.values()} == {JobState.RUNNING}
