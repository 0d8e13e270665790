"""The typed error hierarchy; the CLI and the UI turn these into plain messages, not tracebacks."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class PolicyDeskError(Exception):
    """Base class of every error PolicyDesk raises on purpose."""


class ConfigurationError(PolicyDeskError):
    """A setting is missing or inconsistent."""


class ModelNotReadyError(PolicyDeskError):
    """A model directory (the encoder, or a trained artefact) is missing or incomplete."""

    def __init__(self, path: Path, remedy: str | None = None) -> None:
        super().__init__(
            f"model not found at {path}: "
            + (
                remedy
                or "run `make setup` (or `policydesk model build`) to build it, "
                "or set POLICYDESK_EMBEDDING_MODEL"
            )
        )
        self.path = path


class IngestError(PolicyDeskError):
    """A source file cannot be ingested; names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class IndexNotBuiltError(PolicyDeskError):
    """Searching a data directory that has no index yet."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"no knowledge index in {data_dir}: "
            f"run `policydesk --data-dir {data_dir} ingest PATH...` first"
        )
        self.data_dir = data_dir


class InvalidQueryError(PolicyDeskError):
    """A search request that cannot be answered (empty, too long, bad filter)."""


class ModelBuildError(PolicyDeskError):
    """The embedding model cannot be built (source package missing, weights file malformed)."""


class DatabaseNotReadyError(PolicyDeskError):
    """The database schema is missing or older than the code: ``policydesk db upgrade``."""


class JobError(PolicyDeskError):
    """A background job that cannot be submitted, found or run (the message says which)."""


class JobNotFoundError(JobError):
    """No job with this id."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no job #{job_id}")
        self.job_id = job_id


class JobLostError(JobError):
    """A worker's job was taken from it: cancelled, or re-queued after its heartbeat stopped."""

    def __init__(self, job_id: int, worker: str) -> None:
        super().__init__(f"job #{job_id} is no longer held by worker {worker}")
        self.job_id = job_id


class OverloadedError(PolicyDeskError):
    """A bounded queue is full: the request is refused at once rather than left to pile up.

    Args:
        what: the queue that is full.
        retry_after: whole seconds after which a retry is likely to be accepted.
    """

    def __init__(self, what: str, retry_after: int) -> None:
        if retry_after < 1:
            raise ValueError(f"retry_after must be at least 1 second, got {retry_after}")
        super().__init__(f"the {what} is busy; please try again in {retry_after} s")
        self.what = what
        self.retry_after = retry_after


def describe_validation_error(exc: ValidationError, limit: int | None = None) -> str:
    """A validation error as one line: each problem as ``field: reason``, with the value that was
    given when the reason does not quote it already.

    Args:
        exc: the error.
        limit: describe at most this many problems (all by default).
    """
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        given = error.get("input")
        if not isinstance(given, dict | list) and repr(given) not in message:
            message += f" (got {given!r})"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
