"""The process environment every entry point sets up first (console, API, CLI, benchmarks)."""

from __future__ import annotations

import logging
import os

# Nothing may reach a model hub or a telemetry endpoint: the machines are air-gapped, and a
# library that tries blocks for its timeout first. Set before any such library is imported.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",  # no fork-after-threads warnings in the API's workers
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's product telemetry
}


def configure_runtime() -> None:
    """Set the offline environment (keeping any value the operator set) and quiet the libraries
    whose logs could carry request text. Idempotent; call it before building ``Services``."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for noisy in ("chromadb.telemetry", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
