"""Background jobs: the kinds of long work, the runner that does a claimed job, and the submitter.

A kind (``JobKind``) has a typed request, a typed result and a handler that reuses the one
implementation of the work: ``run_golden_eval`` for a golden-set evaluation (live, or as if the
drafts were published) and ``propose_retraining`` for a caller-emotion retraining (the trainer
then keeps or discards the candidate, as before). The queue itself is ``db.jobs.JobQueue``.

``JobRunner`` claims a job, runs its handler with a progress reporter (each report is also the
job's heartbeat; a thread beats besides, for handlers that report nothing for a while) and records
the result, or a failure's message for people: a ``PolicyDeskError``'s own message, never a
traceback (that goes to the worker's log). ``serve`` is the worker's loop
(``policydesk jobs worker``).

``JobSubmitter`` queues a job and, in inline mode (the SQLite default: one machine), runs the
queue in a background thread of the submitting process; in queue mode a worker process does.
Either way the job is a row, so the pages show the same progress and result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from accounts.models import User
from accounts.permissions import Action, require
from core.errors import JobError, JobLostError, PolicyDeskError, describe_validation_error
from db.jobs import Job, JobQueue, JobState
from sentiment.retrain import RetrainResult
from studio.curation import unpublished_ids
from studio.golden_eval import DRAFT_LABEL, LIVE_LABEL, EvalDelta, EvalReport, run_golden_eval
from studio.golden_eval import search_with as live_search
from studio.utterances import propose_retraining

if TYPE_CHECKING:
    from services.root import Services

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Told (work done, work in all) as a job goes."""

REPORT_EVERY = 0.5  # seconds between progress writes (the last one is always written)
ResultT = TypeVar("ResultT", bound=BaseModel)


class JobKind(StrEnum):
    """The kinds of background work."""

    GOLDEN_EVAL = "golden_eval"
    EMOTION_RETRAIN = "emotion_retrain"


class GoldenEvalRequest(BaseModel):
    """Evaluate the golden set on the live index, or as if every unpublished draft were
    published (``drafts``)."""

    drafts: bool = False


class GoldenEvalOutcome(BaseModel):
    """A golden-set run: what was measured, its report and its change since the last live run."""

    label: str
    report: EvalReport
    delta: EvalDelta


class EmotionRetrainRequest(BaseModel):
    """Retrain the caller-emotion model with every published utterance change (no options)."""


def golden_eval(
    services: Services, request: GoldenEvalRequest, user: User, progress: Progress
) -> GoldenEvalOutcome:
    """Run the golden set, as the evaluation page did in its own run.

    Raises:
        PermissionDeniedError: the user may not run evaluations.
        JobError: a draft preview with no unpublished drafts.
        PolicyDeskError: an empty golden set, no index yet.
    """
    require(user, Action.RUN_EVAL)
    if request.drafts:
        ids = unpublished_ids(services.studio, user)
        if not ids:
            raise JobError("there are no unpublished drafts to preview")
        search = services.draft_preview(user, ids).searcher()
        label = DRAFT_LABEL
    else:
        search = live_search(services.retriever(), services.embedder)
        label = LIVE_LABEL
    report, delta = run_golden_eval(
        services.golden, services.eval_runs, search, user.username, label, progress=progress
    )
    return GoldenEvalOutcome(label=label, report=report, delta=delta)


def emotion_retrain(
    services: Services, request: EmotionRetrainRequest, user: User, progress: Progress
) -> RetrainResult:
    """Train a candidate caller-emotion model and measure it against the serving one.

    Raises:
        PermissionDeniedError: the user may not retrain.
        PolicyDeskError: unreadable shipped files, or training cannot run.
    """
    require(user, Action.RETRAIN)
    progress(0, 1)
    result = propose_retraining(
        services.studio, services.emotion_retrainer(), services.settings.sentiment_data
    )
    progress(1, 1)
    return result


@dataclass(frozen=True)
class JobType:
    """A kind's request and result models and its handler."""

    request: type[BaseModel]
    result: type[BaseModel]
    run: Callable[[Services, Any, User, Progress], BaseModel]


JOB_TYPES: dict[JobKind, JobType] = {
    JobKind.GOLDEN_EVAL: JobType(GoldenEvalRequest, GoldenEvalOutcome, golden_eval),
    JobKind.EMOTION_RETRAIN: JobType(EmotionRetrainRequest, RetrainResult, emotion_retrain),
}


def job_result(job: Job, model: type[ResultT]) -> ResultT | None:
    """A done job's result as its kind's model; None while it is not done.

    Raises:
        JobError: a stored result that does not fit the model (a job from another version).
    """
    if job.state is not JobState.DONE or job.result is None:
        return None
    try:
        return model.model_validate(job.result)
    except ValidationError as exc:
        raise JobError(
            f"job #{job.id}'s result cannot be read: {describe_validation_error(exc, 3)}"
        ) from exc


def worker_name(suffix: str = "") -> str:
    """This process as a job's worker: host:pid (and what runs it, e.g. ``inline``)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}/{suffix}" if suffix else name


class _Reporter:
    """A job's progress callback: writes at most every ``REPORT_EVERY`` seconds (and always the
    last step), each write a heartbeat; raises ``JobLostError`` once the job is taken away."""

    def __init__(self, queue: JobQueue, job: Job, worker: str, lost: threading.Event) -> None:
        self._queue = queue
        self._job = job
        self._worker = worker
        self._lost = lost
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self._lost.is_set():
            raise JobLostError(self._job.id, self._worker)
        now = time.monotonic()
        if done < total and now - self._last < REPORT_EVERY:
            return
        self._last = now
        try:
            self._queue.progress(self._job.id, self._worker, done, total)
        except JobLostError:
            self._lost.set()
            raise


class _Heartbeat:
    """Beats for a running job every ``every`` seconds in a thread, until stopped or the job is
    taken away (then ``lost`` is set)."""

    def __init__(self, queue: JobQueue, job: Job, worker: str, every: float) -> None:
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._args = (queue, job.id, worker, every)
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.id}-beat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        queue, job_id, worker, every = self._args
        while not self._stop.wait(every):
            try:
                queue.heartbeat(job_id, worker)
            except JobLostError:
                self.lost.set()
                return
            except Exception:  # a database blip: the next beat tries again
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class JobRunner:
    """Claims jobs and runs them.

    Args:
        services: what the handlers use.
        queue: the job queue.
        worker: this worker's name (``worker_name()``).
        heartbeat_every: seconds between heartbeats while a job runs.
    """

    def __init__(
        self, services: Services, queue: JobQueue, worker: str, heartbeat_every: float
    ) -> None:
        self._services = services
        self._queue = queue
        self.worker = worker
        self._every = heartbeat_every

    def run_next(self, job_id: int | None = None) -> Job | None:
        """Reap stale jobs, claim the oldest queued one (or ``job_id``) and run it.

        Returns:
            The job as it ended, or None when nothing was queued.
        """
        for reaped in self._queue.reap():
            log.warning("job %s: its worker stopped answering; now %s", reaped.id, reaped.state)
        job = self._queue.claim(self.worker, job_id)
        if job is None:
            return None
        log.info("job %s (%s) for %s: started", job.id, job.kind, job.requested_by)
        self._run(job)
        ended = self._queue.get(job.id)
        log.info("job %s: %s", job.id, ended.state)
        return ended

    def serve(self, stop: threading.Event, poll: float = 2.0, once: bool = False) -> int:
        """The worker's loop: run jobs until ``stop`` is set (checked between jobs, so a job
        that has started is finished and recorded first).

        Args:
            stop: set to stop (SIGTERM).
            poll: seconds to wait when the queue is empty.
            once: stop when the queue is empty.

        Returns:
            How many jobs were run.
        """
        ran = 0
        while not stop.is_set():
            if self.run_next() is not None:
                ran += 1
                continue
            if once:
                break
            stop.wait(poll)
        return ran

    def release_current(self, job: Job) -> None:
        """Give a job back to the queue (the worker was interrupted while running it)."""
        with contextlib.suppress(JobLostError):
            self._queue.release(job.id, self.worker)

    def _run(self, job: Job) -> None:
        beat = _Heartbeat(self._queue, job, self.worker, self._every)
        try:
            result = self._handle(job, _Reporter(self._queue, job, self.worker, beat.lost))
            self._queue.finish(job.id, self.worker, result.model_dump(mode="json"))
        except JobLostError:
            log.warning("job %s was cancelled or re-queued while it ran: result dropped", job.id)
        except PolicyDeskError as exc:
            self._fail(job, str(exc))
        except KeyboardInterrupt:
            self.release_current(job)
            raise
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._fail(
                job,
                f"the job stopped on an unexpected error ({type(exc).__name__}); "
                "the worker's log has the details",
            )
        finally:
            beat.stop()

    def _handle(self, job: Job, progress: Progress) -> BaseModel:
        try:
            job_type = JOB_TYPES[JobKind(job.kind)]
        except ValueError:
            raise JobError(f"unknown job kind {job.kind!r}") from None
        try:
            request = job_type.request.model_validate(job.payload)
        except ValidationError as exc:
            raise JobError(
                f"invalid {job.kind} request: {describe_validation_error(exc, 3)}"
            ) from exc
        user = self._services.accounts.get(job.requested_by)
        return job_type.run(self._services, request, user, progress)

    def _fail(self, job: Job, message: str) -> None:
        try:
            self._queue.fail(job.id, self.worker, message)
        except JobLostError:
            log.warning("job %s was cancelled or re-queued while it ran", job.id)


class JobSubmitter:
    """Queues jobs; in inline mode also runs the queue in a background thread of this process.

    Args:
        queue: the job queue.
        inline: a runner to run the queue here (inline mode), or None (a worker process runs it).
    """

    def __init__(self, queue: JobQueue, inline: JobRunner | None) -> None:
        self._queue = queue
        self._inline = inline
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending = False

    @property
    def inline(self) -> bool:
        """True when this process runs the jobs it submits."""
        return self._inline is not None

    def submit(self, kind: JobKind, request: BaseModel, requested_by: User) -> Job:
        """Queue a job for ``requested_by`` (and start running the queue here, inline).

        Raises:
            JobError: a request that is not the kind's request model.
        """
        expected = JOB_TYPES[kind].request
        if not isinstance(request, expected):
            raise JobError(f"a {kind.value} job takes a {expected.__name__}")
        job = self._queue.submit(kind.value, request.model_dump(mode="json"), requested_by.username)
        if self._inline is not None:
            self._drain_in_background()
        return job

    def kick(self) -> None:
        """Inline mode: run the queue here now, e.g. for a job re-queued after the process that
        ran it stopped (nothing else would start it until the next submit); a no-op otherwise."""
        if self._inline is not None:
            self._drain_in_background()

    def look_after(self, job: Job) -> None:
        """A page follows ``job``: in inline mode, run the queue here when the job waits or its
        runner went silent (its console process stopped); a no-op otherwise."""
        if job.state is JobState.QUEUED or self._queue.is_stale(job):
            self.kick()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the inline thread has run every queued job (tests, shutdown).

        Returns:
            True when nothing runs any more; False when ``timeout`` passed first.
        """
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _drain_in_background(self) -> None:
        with self._lock:
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="jobs-inline", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        runner = self._inline
        assert runner is not None
        while True:
            with self._lock:
                self._pending = False
            try:
                while runner.run_next() is not None:
                    pass
            except Exception:  # the database went away: the next submit starts a new thread
                log.exception("inline job runner stopped")
                with self._lock:
                    self._thread = None
                return
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
