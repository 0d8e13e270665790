"""The trained caller-emotion artefact: weights (npz) and a manifest (json), no pickles."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from core.errors import ModelNotReadyError, PolicyDeskError
from core.models import Emotion
from ml.tfidf import HashedTfidf, PolarityModel

FORMAT = 2
WEIGHTS = "weights.npz"
MANIFEST = "manifest.json"


class SentimentManifest(BaseModel):
    """What the artefact was trained from and how well it did on the dev split."""

    format: int = FORMAT
    inputs_digest: str
    encoder: str
    labels: list[Emotion]
    cue_rules: list[str]
    sources: dict[str, int] = Field(description="training source -> number of samples")
    dev_metrics: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class SentimentArtefact:
    """Everything inference needs besides the shared encoder and the cue rules."""

    manifest: SentimentManifest
    polarity: PolarityModel
    own_tfidf: HashedTfidf
    head_dense: np.ndarray  # (labels, encoder + 1 + cue rules)
    head_sparse: np.ndarray  # (labels, hashed n-grams)
    head_bias: np.ndarray  # (labels,)

    def scores(self, dense: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Unnormalised label scores for rows of dense features and their texts."""
        sparse_part = np.asarray(self.own_tfidf.transform(texts) @ self.head_sparse.T)
        return np.asarray(dense @ self.head_dense.T) + sparse_part + self.head_bias

    def save(self, folder: Path) -> None:
        """Write atomically: a crash leaves the previous artefact in place."""
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            staging = Path(tmp)
            np.savez_compressed(
                staging / WEIGHTS,
                polarity_idf=self.polarity.tfidf.idf,
                polarity_coef=self.polarity.coef,
                polarity_intercept=np.array([self.polarity.intercept], np.float32),
                own_idf=self.own_tfidf.idf,
                head_dense=self.head_dense.astype(np.float32),
                head_sparse=self.head_sparse.astype(np.float32),
                head_bias=self.head_bias.astype(np.float32),
            )
            (staging / MANIFEST).write_text(
                self.manifest.model_dump_json(indent=2), encoding="utf-8"
            )
            # weights first, manifest last: a manifest always describes the weights beside it
            os.replace(staging / WEIGHTS, folder / WEIGHTS)
            os.replace(staging / MANIFEST, folder / MANIFEST)

    @classmethod
    def load(cls, folder: Path) -> SentimentArtefact:
        """Read an artefact.

        Raises:
            ModelNotReadyError: nothing trained there yet.
            PolicyDeskError: an unreadable or incompatible artefact.
        """
        if not (folder / MANIFEST).exists() or not (folder / WEIGHTS).exists():
            raise ModelNotReadyError(folder, "run `policydesk train sentiment` (or `make setup`)")
        try:
            manifest = SentimentManifest.model_validate_json(
                (folder / MANIFEST).read_text(encoding="utf-8")
            )
            with np.load(folder / WEIGHTS) as data:
                polarity = PolarityModel(
                    tfidf=HashedTfidf(data["polarity_idf"]),
                    coef=data["polarity_coef"],
                    intercept=float(data["polarity_intercept"][0]),
                )
                own = HashedTfidf(data["own_idf"])
                dense, sparse_w, bias = data["head_dense"], data["head_sparse"], data["head_bias"]
        except (OSError, ValueError, KeyError) as exc:
            raise PolicyDeskError(f"unreadable sentiment artefact in {folder}: {exc}") from exc
        if manifest.format != FORMAT:
            raise PolicyDeskError(
                f"sentiment artefact in {folder} has format {manifest.format}, expected {FORMAT}:"
                " run `policydesk train sentiment`"
            )
        return cls(manifest, polarity, own, dense, sparse_w, bias)


def read_manifest(folder: Path) -> SentimentManifest | None:
    """The manifest if there is a readable one."""
    try:
        return SentimentManifest.model_validate_json(
            (folder / MANIFEST).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None


def inputs_digest(files: list[Path], encoder: str, code_version: str) -> str:
    """A digest of everything training depends on (data files, encoder, training code)."""
    digest = hashlib.sha256(f"{FORMAT}|{encoder}|{code_version}".encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def manifest_summary(manifest: SentimentManifest) -> str:
    """One line for the CLI."""
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(manifest.dev_metrics.items()))
    return f"{json.dumps(manifest.sources)}; dev: {metrics}; {manifest.seconds:.1f}s"
