"""The typed error hierarchy; the CLI and the UI turn these into plain messages, not tracebacks."""

from __future__ import annotations

from pathlib import Path


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
