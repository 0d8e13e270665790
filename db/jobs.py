"""The job queue: long work (an evaluation, a retraining) recorded and handed out in the database.

A job is submitted ``queued``; a worker claims it (``running``), reports ``progress`` (which is
also its heartbeat) and ends it ``done`` with a result or ``failed`` with a message for people. A
trainer may ``cancel`` it; a worker then loses it at its next report.

Claiming is one statement, so two workers never take the same job: an ``UPDATE`` of the oldest
queued row, picked by a subquery that on PostgreSQL locks the row ``FOR UPDATE SKIP LOCKED``
(concurrent claimers take different rows instead of waiting) and on SQLite runs inside the
statement's own write transaction (SQLite has one writer at a time). The ``state = 'queued'``
condition on the update itself makes a lost race claim nothing rather than a job twice.

A worker that stops heart-beating (killed, its machine gone) for longer than ``stale_after``
loses its job: ``reap`` puts it back in the queue, or fails it once it was started
``max_attempts`` times, so a killed worker loses no job and a job that kills workers stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, Row, insert, select, update

from core.errors import JobError, JobLostError, JobNotFoundError
from db.schema import jobs_table
from db.store import SqlStore

DEFAULT_STALE_AFTER = timedelta(minutes=2)
DEFAULT_MAX_ATTEMPTS = 3
MAX_ERROR_CHARS = 2000


class JobState(StrEnum):
    """Where a job is: waiting, being run, or ended (done, failed, cancelled)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        """True for done, failed and cancelled: nothing will change the job any more."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class Job(BaseModel):
    """One job as stored."""

    id: int
    kind: str
    payload: dict[str, Any] = Field(description="what to do (the kind's request model, as JSON)")
    state: JobState
    progress_done: int
    progress_total: int = Field(description="0 until the job knows how much work there is")
    result: dict[str, Any] | None = Field(description="the kind's result model, as JSON, when done")
    error: str | None = Field(description="why it failed, for people (never a traceback)")
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None = Field(description="host:pid of the worker that runs or ran it")
    heartbeat_at: datetime | None
    attempts: int = Field(description="how many times a worker started it")

    @property
    def fraction(self) -> float | None:
        """The share of the work done (0 to 1), or None while the total is unknown."""
        if self.progress_total <= 0:
            return None
        return min(1.0, self.progress_done / self.progress_total)


def _job(row: Row[Any]) -> Job:
    return Job.model_validate(dict(row._mapping))


class JobQueue(SqlStore):
    """Submits, hands out and records jobs.

    Args:
        engine: the shared engine.
        stale_after: a running job whose heartbeat is older than this is taken from its worker.
        max_attempts: a job started this many times is failed instead of re-queued.

    Raises:
        ValueError: a ``stale_after`` not above zero or ``max_attempts`` below one.
    """

    def __init__(
        self,
        engine: Engine,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if stale_after <= timedelta(0):
            raise ValueError(f"stale_after must be above zero, got {stale_after}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        super().__init__(engine)
        self.stale_after = stale_after
        self.max_attempts = max_attempts

    def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        requested_by: str,
        now: datetime | None = None,
    ) -> Job:
        """Queue a job.

        Args:
            kind: what kind of work (a registered kind; the worker fails unknown ones).
            payload: the request, JSON-serialisable.
            requested_by: the user who asked.
            now: the time (tests pin it).
        """
        if not kind.strip():
            raise JobError("a job needs a kind")
        values = {
            "kind": kind,
            "payload": dict(payload),
            "state": JobState.QUEUED.value,
            "progress_done": 0,
            "progress_total": 0,
            "requested_by": requested_by,
            "created_at": now or datetime.now(UTC),
            "attempts": 0,
        }
        with self.transaction() as conn:
            row = conn.execute(insert(jobs_table).values(values).returning(*jobs_table.c)).one()
        return _job(row)

    def claim(
        self, worker: str, job_id: int | None = None, now: datetime | None = None
    ) -> Job | None:
        """Take the oldest queued job (or the one given, if still queued) for ``worker``.

        Args:
            worker: who takes it (host:pid).
            job_id: claim only this job.
            now: the time (tests pin it).

        Returns:
            The job, now running, or None when there is nothing to take.
        """
        when = now or datetime.now(UTC)
        jobs = jobs_table.c
        oldest = select(jobs.id).where(jobs.state == JobState.QUEUED.value)
        if job_id is not None:
            oldest = oldest.where(jobs.id == job_id)
        # PostgreSQL locks the picked row and skips rows other claimers hold; SQLite ignores the
        # clause (its one writer at a time serialises the statement)
        picked = oldest.order_by(jobs.id).limit(1).with_for_update(skip_locked=True)
        statement = (
            update(jobs_table)
            .where(jobs.id == picked.scalar_subquery(), jobs.state == JobState.QUEUED.value)
            .values(
                state=JobState.RUNNING.value,
                worker=worker[:160],
                started_at=when,
                heartbeat_at=when,
                attempts=jobs.attempts + 1,
                progress_done=0,
                progress_total=0,
            )
            .returning(*jobs_table.c)
        )
        with self.transaction() as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _job(row)

    def progress(
        self, job_id: int, worker: str, done: int, total: int, now: datetime | None = None
    ) -> None:
        """Record how far a running job is; this is also its heartbeat.

        Raises:
            JobLostError: the job is no longer this worker's (cancelled, or re-queued).
        """
        self._update_held(
            job_id,
            worker,
            progress_done=max(0, done),
            progress_total=max(0, total),
            heartbeat_at=now or datetime.now(UTC),
        )

    def heartbeat(self, job_id: int, worker: str, now: datetime | None = None) -> None:
        """Say the worker is still on the job (while it runs without progress to report).

        Raises:
            JobLostError: the job is no longer this worker's.
        """
        self._update_held(job_id, worker, heartbeat_at=now or datetime.now(UTC))

    def finish(
        self, job_id: int, worker: str, result: Mapping[str, Any], now: datetime | None = None
    ) -> Job:
        """End a running job with its result.

        Raises:
            JobLostError: the job is no longer this worker's (the result is not recorded).
        """
        when = now or datetime.now(UTC)
        return self._update_held(
            job_id,
            worker,
            state=JobState.DONE.value,
            result=dict(result),
            finished_at=when,
            heartbeat_at=when,
        )

    def fail(self, job_id: int, worker: str, message: str, now: datetime | None = None) -> Job:
        """End a running job as failed, with a message for people.

        Raises:
            JobLostError: the job is no longer this worker's.
        """
        when = now or datetime.now(UTC)
        return self._update_held(
            job_id,
            worker,
            state=JobState.FAILED.value,
            error=message[:MAX_ERROR_CHARS],
            finished_at=when,
            heartbeat_at=when,
        )

    def release(self, job_id: int, worker: str) -> Job:
        """Give a running job back to the queue unfinished (a worker told to stop at once); the
        start does not count as an attempt.

        Raises:
            JobLostError: the job is no longer this worker's.
        """
        return self._update_held(
            job_id,
            worker,
            state=JobState.QUEUED.value,
            worker=None,
            started_at=None,
            heartbeat_at=None,
            progress_done=0,
            progress_total=0,
            attempts=jobs_table.c.attempts - 1,
        )

    def cancel(self, job_id: int, now: datetime | None = None) -> Job:
        """Cancel a queued or running job (a running one's worker stops at its next report).

        Returns:
            The job; unchanged when it had already ended.

        Raises:
            JobNotFoundError: no such job.
        """
        jobs = jobs_table.c
        with self.transaction() as conn:
            conn.execute(
                update(jobs_table)
                .where(
                    jobs.id == job_id,
                    jobs.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]),
                )
                .values(state=JobState.CANCELLED.value, finished_at=now or datetime.now(UTC))
            )
            return self._get(conn, job_id)

    def is_stale(self, job: Job, now: datetime | None = None) -> bool:
        """True for a running job whose worker has not beaten for longer than ``stale_after``
        (the next ``reap`` takes it from the worker)."""
        if job.state is not JobState.RUNNING or job.heartbeat_at is None:
            return False
        return job.heartbeat_at < (now or datetime.now(UTC)) - self.stale_after

    def reap(self, now: datetime | None = None) -> list[Job]:
        """Take running jobs from workers that stopped heart-beating: re-queue each, or fail it
        when it was started ``max_attempts`` times already.

        Returns:
            The jobs re-queued or failed.
        """
        when = now or datetime.now(UTC)
        jobs = jobs_table.c
        stale = (jobs.state == JobState.RUNNING.value) & (
            jobs.heartbeat_at < when - self.stale_after
        )
        minutes = self.stale_after.total_seconds() / 60
        with self.transaction() as conn:
            failed = conn.execute(
                update(jobs_table)
                .where(stale, jobs.attempts >= self.max_attempts)
                .values(
                    state=JobState.FAILED.value,
                    finished_at=when,
                    error=(
                        f"the worker running it stopped answering (more than {minutes:g} minutes "
                        f"without a heartbeat) on each of {self.max_attempts} attempts"
                    ),
                )
                .returning(*jobs_table.c)
            ).all()
            requeued = conn.execute(
                update(jobs_table)
                .where(stale)
                .values(
                    state=JobState.QUEUED.value,
                    worker=None,
                    heartbeat_at=None,
                    progress_done=0,
                    progress_total=0,
                )
                .returning(*jobs_table.c)
            ).all()
        return [_job(row) for row in [*failed, *requeued]]

    def get(self, job_id: int) -> Job:
        """One job.

        Raises:
            JobNotFoundError: no such job.
        """
        with self.reading() as conn:
            return self._get(conn, job_id)

    def recent(
        self, kind: str | None = None, limit: int = 20, requested_by: str | None = None
    ) -> list[Job]:
        """The latest jobs, newest first.

        Args:
            kind: only this kind.
            limit: at most this many.
            requested_by: only this user's.
        """
        jobs = jobs_table.c
        query = select(jobs_table).order_by(jobs.id.desc()).limit(max(1, limit))
        if kind is not None:
            query = query.where(jobs.kind == kind)
        if requested_by is not None:
            query = query.where(jobs.requested_by == requested_by)
        with self.reading() as conn:
            return [_job(row) for row in conn.execute(query)]

    def _get(self, conn: Connection, job_id: int) -> Job:
        row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).one_or_none()
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    def _update_held(self, job_id: int, holder: str, **values: Any) -> Job:
        """Change a job only while ``holder`` (a worker) holds it running."""
        jobs = jobs_table.c
        with self.transaction() as conn:
            row = conn.execute(
                update(jobs_table)
                .where(
                    jobs.id == job_id,
                    jobs.worker == holder[:160],
                    jobs.state == JobState.RUNNING.value,
                )
                .values(**values)
                .returning(*jobs_table.c)
            ).one_or_none()
        if row is None:
            raise JobLostError(job_id, holder)
        return _job(row)
