"""Retraining the caller-emotion model from trainers' labelled utterances, with keep or discard.

A trainer's added or corrected utterances (published in the studio) override the shipped files by
id. ``propose`` trains a candidate into its own folder and measures the current model and the
candidate on the same dev split; nothing serves until ``keep`` moves the candidate into the
data directory's model folder (which then takes precedence over the shipped artefact, so `make`
retraining the shipped one from files never undoes a trainer's choice). ``discard`` deletes it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import PolicyDeskError
from retrieval.embedder import Embedder
from sentiment.artefact import SentimentArtefact, read_manifest
from sentiment.classifier import EmotionClassifier
from sentiment.cues import CueBook
from sentiment.data import LabelledUtterance, Split
from sentiment.training import measure, train_emotion_model


class UtteranceOverride(BaseModel):
    """A trainer's utterance: new, or a correction of a shipped one with the same id."""

    utterance: LabelledUtterance
    split: Split = "train"


class RetrainResult(BaseModel):
    """The current model and the candidate measured on the same dev split."""

    before: dict[str, float] = Field(description="the serving model's dev metrics")
    after: dict[str, float] = Field(description="the candidate's dev metrics")
    train_size: int
    dev_size: int
    overrides: int = Field(description="trainer utterances applied (added or corrected)")
    seconds: float

    @property
    def improved(self) -> bool:
        """True when the candidate is at least as good on upset F1 and on label accuracy."""
        return all(self.after[m] >= self.before[m] for m in ("upset_f1", "label_accuracy"))


class NoCandidateError(PolicyDeskError):
    """Keep or discard without a trained candidate."""


def apply_overrides(
    train: Sequence[LabelledUtterance],
    dev: Sequence[LabelledUtterance],
    overrides: Sequence[UtteranceOverride],
) -> tuple[list[LabelledUtterance], list[LabelledUtterance]]:
    """The train and dev splits with trainers' utterances applied (pure).

    An override replaces the shipped utterance with the same id wherever it was, and lands in the
    split it names; new ids are added to their split.
    """
    by_id = {o.utterance.id: o for o in overrides}
    new_train = [u for u in train if u.id not in by_id]
    new_dev = [u for u in dev if u.id not in by_id]
    for override in overrides:
        (new_dev if override.split == "dev" else new_train).append(override.utterance)
    return new_train, new_dev


class EmotionRetrainer:
    """Proposes, keeps or discards a retrained caller-emotion model."""

    def __init__(
        self,
        embedder: Embedder,
        cues: CueBook,
        serving: Path,
        live_dir: Path,
        extra_corpora: Sequence[Path] = (),
        cache: Path | None = None,
    ) -> None:
        """
        Args:
            embedder: the shared encoder.
            cues: the cue rules.
            serving: the folder of the artefact that serves now (measured as "before").
            live_dir: where a kept model goes (in the data directory).
            extra_corpora: polarity corpora, as ``make setup`` trains with.
            cache: the training cache (the polarity stage ``make setup`` fitted is read there).
        """
        self._embedder = embedder
        self._cues = cues
        self._serving = serving
        self._live = live_dir
        self._candidate = live_dir.with_name(live_dir.name + ".candidate")
        self._extra = [p for p in extra_corpora if p.exists()]
        self._cache = cache

    @property
    def candidate(self) -> Path | None:
        """The trained candidate's folder, if one waits for a decision."""
        return self._candidate if read_manifest(self._candidate) is not None else None

    def propose(
        self,
        train: Sequence[LabelledUtterance],
        dev: Sequence[LabelledUtterance],
        overrides: Sequence[UtteranceOverride],
    ) -> RetrainResult:
        """Train a candidate with the overrides applied and measure both models.

        Raises:
            PolicyDeskError: a split without utterances or a label without examples.
        """
        started = time.perf_counter()
        new_train, new_dev = apply_overrides(train, dev, overrides)
        serving = SentimentArtefact.load(self._serving)
        current = EmotionClassifier(serving, self._embedder, self._cues)
        before = measure(current, new_dev)
        artefact = train_emotion_model(
            new_train,
            new_dev,
            self._embedder,
            self._cues,
            "studio-retrain",
            self._extra,
            self._cache,
        )
        shutil.rmtree(self._candidate, ignore_errors=True)
        artefact.save(self._candidate)
        return RetrainResult(
            before=before,
            after=dict(artefact.manifest.dev_metrics),
            train_size=len(new_train),
            dev_size=len(new_dev),
            overrides=len(overrides),
            seconds=round(time.perf_counter() - started, 1),
        )

    def keep(self) -> Path:
        """Make the candidate the serving model; the previous one is kept beside it.

        Raises:
            NoCandidateError: nothing trained to keep.
        """
        if self.candidate is None:
            raise NoCandidateError("no retrained model waiting: run the retraining first")
        previous = self._live.with_name(self._live.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if self._live.exists():
            os.replace(self._live, previous)
        os.replace(self._candidate, self._live)
        return self._live

    def discard(self) -> None:
        """Delete the candidate; the serving model is untouched.

        Raises:
            NoCandidateError: nothing trained to discard.
        """
        if self.candidate is None:
            raise NoCandidateError("no retrained model waiting")
        shutil.rmtree(self._candidate)
