"""Caller-emotion inference: the trained head on the shared encoder, plus cue rules, and the
polarity stage that shares the upset decision with it."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from core.files import clean_text
from core.models import CueMatch, Emotion, EmotionResult
from retrieval.embedder import Embedder
from retrieval.text import InsuranceTokenizer
from sentiment.artefact import SentimentArtefact, SentimentManifest
from sentiment.cues import CueBook, cue_features
from sentiment.decision import decide


@functools.cache
def _segmenter() -> InsuranceTokenizer:
    # jieba's own dictionary, no user dictionary: training and serving segment alike whatever
    # the retrieval terms say (jieba itself loads on the first call, not at import)
    return InsuranceTokenizer()


def polarity_words(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words for the polarity stage (training and inference use this one)."""
    segmenter = _segmenter()
    return [segmenter.words(t) for t in texts]


POLARITY_SCALE = 0.2  # log-odds enter the head on roughly the scale of the other features


def dense_features(
    vectors: np.ndarray, polarity_logits: np.ndarray, cue_rows: Sequence[Sequence[float]]
) -> np.ndarray:
    """The dense part of the head's input: encoder vector, scaled polarity, cue features."""
    cues = np.asarray(cue_rows, dtype=np.float32).reshape(len(vectors), -1)
    polarity = (np.asarray(polarity_logits, dtype=np.float32) * POLARITY_SCALE).reshape(-1, 1)
    return np.hstack([np.asarray(vectors, dtype=np.float32), polarity, cues])


class EmotionClassifier:
    """Thread-safe: the artefact is read-only; the encoder serialises its own forward passes."""

    def __init__(
        self,
        artefact: SentimentArtefact,
        embedder: Embedder,
        cues: CueBook,
        max_chars: int = 2000,
    ) -> None:
        self._artefact = artefact
        self._embedder = embedder
        self._cues = cues
        self._max_chars = max_chars
        self._labels = artefact.manifest.labels

    @property
    def manifest(self) -> SentimentManifest:
        """What the loaded artefact was trained on and its dev metrics."""
        return self._artefact.manifest

    def validate(self, text: str) -> str:
        """The stripped text.

        Raises:
            InvalidQueryError: empty or longer than the limit.
        """
        return clean_text(text, self._max_chars, "text")

    def classify(self, text: str, vector: np.ndarray | None = None) -> EmotionResult:
        """Classify one caller utterance.

        Args:
            text: what the caller said.
            vector: the utterance's query embedding when the caller already has it (the assist
                pipeline embeds each utterance once for retrieval and emotion).

        Raises:
            InvalidQueryError: empty or over-long text.
        """
        return self.classify_many([text], None if vector is None else vector.reshape(1, -1))[0]

    def classify_many(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> list[EmotionResult]:
        """Classify several utterances with one encoder call."""
        cleaned = [self.validate(t) for t in texts]
        if not cleaned:
            return []
        if vectors is None:
            vectors = self._embedder.embed_queries(cleaned)
        matches = [self._cues.find(t) for t in cleaned]
        rows = [cue_features(m, self._cues.rule_ids) for m in matches]
        logits = self._artefact.polarity.logits(cleaned, polarity_words(cleaned))
        scores = self._artefact.scores(dense_features(vectors, logits, rows), cleaned)
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        results: list[EmotionResult] = []
        general = 1.0 / (1.0 + np.exp(-logits))
        for text, found, probs, negative in zip(
            cleaned, matches, probabilities, general, strict=True
        ):
            by_label = {e: round(float(p), 4) for e, p in zip(self._labels, probs, strict=True)}
            label, upset, intensity = decide(by_label, found, float(negative))
            results.append(
                EmotionResult(
                    text=text,
                    label=label,
                    upset=upset,
                    intensity=intensity,
                    cues=self._cue_words(text, found, label),
                    probabilities=by_label,
                    matches=found,
                    situation=self._cues.situation(text),
                )
            )
        return results

    def _cue_words(self, text: str, matches: Sequence[CueMatch], label: Emotion) -> list[str]:
        """Rule matches first, then (for an upset reading) the n-grams that drove the label."""
        words = [f"{m.text}（{m.rule}）" for m in matches]
        if label.is_negative:
            row = self._artefact.head_sparse[self._labels.index(label)]
            seen = {m.text for m in matches}
            words += [
                g
                for g in self._artefact.own_tfidf.explain(text, row)
                if not any(g in s or s in g for s in seen)
            ]
        return words
