"""Training orchestration: which files feed the artefact, staleness, and atomic saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.errors import PolicyDeskError
from ml.digests import inputs_digest
from retrieval.embedder import Embedder
from sentiment.artefact import FORMAT, SentimentManifest, read_manifest
from sentiment.cues import CueBook
from sentiment.data import load_labelled
from sentiment.training import CODE_VERSION, train_emotion_model


class SentimentTrainer:
    """Trains the caller-emotion artefact from ``data/sentiment`` (+ optional corpora)."""

    def __init__(
        self,
        data_dir: Path,
        model_dir: Path,
        embedder: Embedder,
        cues: CueBook,
        cache: Path | None = None,
    ) -> None:
        """
        Args:
            data_dir: labelled utterances and cue rules.
            model_dir: where the artefact goes.
            embedder: the shared encoder (for training: the cached one).
            cues: the cue rules.
            cache: the training cache (the polarity stage is kept there), or None.
        """
        self._data = data_dir
        self._model = model_dir
        self._embedder = embedder
        self._cues = cues
        self._cache = cache

    def inputs(self, extra_corpora: Sequence[Path] = ()) -> list[Path]:
        """Every file the artefact depends on.

        Raises:
            PolicyDeskError: a missing input file.
        """
        files = [self._data / "train.jsonl", self._data / "dev.jsonl", self._data / "cues.yaml"]
        files += list(extra_corpora)
        for path in files:
            if not path.exists():
                raise PolicyDeskError(f"training input missing: {path}")
        return files

    def digest(self, extra_corpora: Sequence[Path] = ()) -> str:
        """Digest of the inputs, the encoder and the training code."""
        return inputs_digest(
            CODE_VERSION, self._embedder.fingerprint, self.inputs(extra_corpora), params=[FORMAT]
        )

    def is_stale(self, extra_corpora: Sequence[Path] = ()) -> bool:
        """True when there is no artefact or it was trained from other inputs."""
        manifest = read_manifest(self._model)
        return manifest is None or manifest.inputs_digest != self.digest(extra_corpora)

    def train(self, extra_corpora: Sequence[Path] = (), save: bool = True) -> SentimentManifest:
        """Train and (by default) replace the artefact atomically.

        Returns:
            The new artefact's manifest, with its dev metrics.
        """
        digest = self.digest(extra_corpora)
        artefact = train_emotion_model(
            load_labelled(self._data / "train.jsonl"),
            load_labelled(self._data / "dev.jsonl"),
            self._embedder,
            self._cues,
            digest,
            extra_corpora,
            self._cache,
        )
        if save:
            artefact.save(self._model)
        return artefact.manifest
