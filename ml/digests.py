"""Input digests: one hash of everything a training run reads, so ``--if-stale`` knows when to
retrain (the digest is stored in the artefact's manifest and compared with the current one)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.errors import PolicyDeskError

ML_CODE_VERSION = "ml/1"
"""The shared training code (``ml.heads``, ``ml.tfidf``): bumped when a change to it changes what
training produces, which makes every artefact stale."""


def inputs_digest(
    code_version: str,
    encoder: str,
    files: Sequence[Path] = (),
    records: Iterable[str] = (),
    params: Sequence[object] = (),
) -> str:
    """A digest of everything a training run depends on.

    Args:
        code_version: the pipeline's training-code version (with ``ML_CODE_VERSION`` mixed in).
        encoder: the encoder's fingerprint (its vectors are features).
        files: data and rule files, by name and content (their order counts).
        records: parts of a file that training reads, when the rest of it must not count (e.g.
            the dev part of an evaluation set).
        params: anything else that changes the result (format, search grid, folds, targets).

    Returns:
        24 hex characters.

    Raises:
        PolicyDeskError: a file that cannot be read (names it).
    """
    header = "|".join([ML_CODE_VERSION, code_version, encoder, *(repr(p) for p in params)])
    digest = hashlib.sha256(header.encode("utf-8"))
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PolicyDeskError(f"training input missing or unreadable: {path}") from exc
        digest.update(b"\0file\0" + path.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(content).digest())
    for record in records:
        digest.update(b"\0record\0" + hashlib.sha256(record.encode("utf-8")).digest())
    return digest.hexdigest()[:24]
