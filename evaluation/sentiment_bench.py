"""Caller-emotion benchmarks: external polarity and anger data, our dev split, speed, size."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import PolicyDeskError
from core.metrics import binary_scores, percentiles
from core.models import Emotion
from ml.baselines import char_tfidf_logistic
from sentiment.data import load_conversation_corpus, load_labelled
from sentiment.training import upset_f1
from services.root import Services

BATCH = 128


def _classify(services: Services, texts: Sequence[str]) -> list[Emotion]:
    classifier, limit = services.emotion, services.settings.max_query_chars
    labels: list[Emotion] = []
    for start in range(0, len(texts), BATCH):
        chunk = [t[:limit] for t in texts[start : start + BATCH]]
        labels += [r.label for r in classifier.classify_many(chunk)]
    return labels


def _tfidf_baseline(train: Path, test_texts: Sequence[str]) -> list[bool]:
    texts, labels = load_conversation_corpus(train)
    return [bool(p) for p in char_tfidf_logistic(texts, labels, test_texts)]


def _snownlp(test_texts: Sequence[str]) -> list[bool]:
    from snownlp import SnowNLP

    return [SnowNLP(t).sentiments < 0.5 for t in test_texts]


def bench_sentiment(services: Services, shared_data: Path, lines: list[str]) -> None:
    """Append the caller-emotion section to the report."""
    folder = shared_data / "conversation_sentiment"
    test_path, train_path = folder / "sentiment_XS_test.txt", folder / "sentiment_XS_30k.txt"
    dialogue = shared_data / "emotion_dialogue" / "multi_emotion_dialogue.csv"
    for path in (test_path, train_path, dialogue):
        if not path.exists():
            raise PolicyDeskError(f"external evaluation data missing: {path}")
    manifest = services.emotion.manifest
    test_texts, test_negative = load_conversation_corpus(test_path)
    gold_negative = [bool(n) for n in test_negative]
    sources = ", ".join(f"{k} ({v})" for k, v in manifest.sources.items())
    lines += [
        "## Caller emotion",
        "",
        f"Shipped classifier trained from: {sources} in {manifest.seconds:.1f} s "
        "(training time measured by `policydesk train sentiment`).",
        "",
        f"### `sentiment_XS_test.txt` (external, {len(test_texts)} hand-labelled; "
        "negative = upset)",
        "",
        "| method | accuracy | F1(negative) |",
        "|---|---|---|",
    ]
    shipped = [label.is_negative for label in _classify(services, test_texts)]
    rows = [
        ("**shipped classifier** (e5 + polarity + cues → upset)", shipped),
        ("snownlp 0.12.3 `sentiments < 0.5`", _snownlp(test_texts)),
        ("char 1-3-gram TF-IDF + LR trained on XS_30k", _tfidf_baseline(train_path, test_texts)),
    ]
    for name, predicted in rows:
        accuracy, _, _, f1 = binary_scores(gold_negative, predicted)
        lines.append(f"| {name} | {accuracy:.3f} | {f1:.3f} |")
    lines += ["", "Reference: snownlp F1 0.61, TF-IDF baseline 0.84; target ≥ 0.85.", ""]

    with dialogue.open(encoding="utf-8", newline="") as handle:
        records = [(r["text"], r["label"]) for r in csv.DictReader(handle) if r.get("text")]
    angry_gold = [label == "生气" for _, label in records]
    angry_pred = [e is Emotion.ANGRY for e in _classify(services, [t for t, _ in records])]
    accuracy, _, _, f1 = binary_scores(angry_gold, angry_pred)
    lines += [
        f"### `multi_emotion_dialogue.csv` (external, {len(records)} utterances, noisy labels)",
        "",
        f"F1 of `angry` against 生气: **{f1:.3f}** "
        f"(accuracy of the angry/not split {accuracy:.3f}).",
        "",
    ]

    dev = load_labelled(services.settings.sentiment_data / "dev.jsonl")
    predicted_dev = _classify(services, [u.text for u in dev])
    gold_dev = [u.label for u in dev]
    label_accuracy = sum(g == p for g, p in zip(gold_dev, predicted_dev, strict=True)) / len(dev)
    lines += [
        f"### Our dev split (`data/sentiment/dev.jsonl`, {len(dev)} utterances)",
        "",
        f"Upset F1 **{upset_f1(gold_dev, predicted_dev):.3f}** (target ≥ 0.95); label accuracy "
        f"**{label_accuracy:.3f}** (target ≥ 0.85).",
        "",
    ]

    classifier = services.emotion
    texts = [u.text for u in dev][:200]
    classifier.classify(texts[0])
    with_embedding: list[float] = []
    reused: list[float] = []
    for text in texts:
        start = time.perf_counter()
        classifier.classify(text)
        with_embedding.append((time.perf_counter() - start) * 1000)
    vectors = services.embedder.embed_queries(texts)
    for text, vector in zip(texts, vectors, strict=True):
        start = time.perf_counter()
        classifier.classify(text, vector=np.asarray(vector))
        reused.append((time.perf_counter() - start) * 1000)
    size = sum(p.stat().st_size for p in services.settings.sentiment_model.iterdir())
    p50, p95 = percentiles(with_embedding)
    r50, r95 = percentiles(reused)
    lines += [
        "### Speed and size",
        "",
        "| measure | value |",
        "|---|---|",
        f"| per utterance, warm, embedding included (p50 / p95, {len(texts)}) "
        f"| {p50:.1f} ms / {p95:.1f} ms (target p95 ≤ 40 ms) |",
        f"| per utterance, vector reused from retrieval (p50 / p95) "
        f"| {r50:.2f} ms / {r95:.2f} ms (target p95 ≤ 5 ms) |",
        f"| training time (last `policydesk train sentiment`) | {manifest.seconds:.1f} s |",
        f"| artefact size (`models/sentiment/`) | {size / 1024:.0f} KiB |",
        "",
    ]
