"""Training the learned handoff detector (``chatbot.learned``): a seeded function of the data.

Data: our training set (``data/chatbot/routing_train.jsonl``) plus the dev part of the routing
evaluation set (``data/eval/routing_messages.jsonl``, read only through
``evaluation.routing_eval.split_routing``: its held-out third never reaches training, the
threshold or the manifest). Two sets by other authors (``routing_heldout.jsonl``,
``routing_blind2.jsonl``) are calibration data: they choose the threshold and fit nothing. The
blind sets (``routing_blind3.jsonl``, ``routing_blind4.jsonl``) are never read here.

Steps:
1. embed every message once with the shared encoder, exactly as the chatbot embeds a message;
2. stratified k-fold cross-validation over a small grid of C (inverse L2 strength) and the
   encoder vector's weight against the TF-IDF view; the IDF is refitted inside every fold;
   the grid point with the fewest needless handoffs at the target recall wins;
3. the threshold, chosen for the whole router (``choose_threshold``): the detector is only
   consulted on messages the hand-written rules keep with the bot, so the messages the rules
   hand over count as handed over and the threshold is chosen for rules and detector together.
   With calibration sets (labelled messages by other authors, ``DEFAULT_CALIBRATION``) it is the
   highest threshold keeping ``CALIBRATION_TARGET_RECALL`` on them, scored by the fitted heads;
   without, it comes from the out-of-fold scores (``SYSTEM_TARGET_RECALL``);
4. every head refitted on all the data and stored as plain arrays.

``python -m chatbot.learned_training --out models/routing [--if-stale]``
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from pydantic import BaseModel
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from chatbot.learned import (
    DEFAULT_REASON_THRESHOLD,
    FORMAT,
    HANDOFF_REASONS,
    HandoffArtefact,
    HandoffManifest,
)
from chatbot.routing import RoutingSignals, route
from chatbot.understanding import MessageRules
from core.errors import PolicyDeskError
from core.settings import PROJECT_ROOT
from evaluation.metrics import binary_scores
from evaluation.routing_eval import RoutingExample, load_routing_set, split_routing
from retrieval.embedder import Embedder
from sentiment.tfidf import HashedTfidf

CODE_VERSION = "handoff-detector/2"
TARGET_RECALL = 0.95
SYSTEM_TARGET_RECALL = 0.975
"""Out-of-fold recall of rules + detector the threshold keeps when there is no calibration set."""
CALIBRATION_TARGET_RECALL = 0.975
"""Recall of rules + detector on the calibration sets the threshold must keep: a margin above the
0.95 product target for messages unlike any seen."""
MAX_NEEDLESS = 0.10
C_GRID: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0)
DENSE_SCALES: tuple[float, ...] = (0.5, 1.0)
FOLDS = 5
SEED = 0
_EDGE = 1e-6  # probabilities are clipped this far from 0 and 1 before taking log-odds

Scores = Sequence[float] | np.ndarray
"""One probability per message (a list or a numpy vector)."""
Flags = Sequence[bool] | np.ndarray
"""One yes/no per message (a list or a numpy vector)."""

DEFAULT_TRAIN = PROJECT_ROOT / "data" / "chatbot" / "routing_train.jsonl"
DEFAULT_MESSAGES = PROJECT_ROOT / "data" / "eval" / "routing_messages.jsonl"
DEFAULT_OUT = PROJECT_ROOT / "models" / "routing"
DEFAULT_RULES = PROJECT_ROOT / "data" / "chatbot" / "routing_rules.yaml"
DEFAULT_CALIBRATION: tuple[Path, ...] = (
    PROJECT_ROOT / "data" / "eval" / "routing_heldout.jsonl",
    PROJECT_ROOT / "data" / "eval" / "routing_blind2.jsonl",
)
"""Labelled messages by two other authors: they choose the operating threshold, never fit a head."""


@dataclass(frozen=True)
class Calibration:
    """Held-apart labelled messages that choose the threshold: texts, vectors, rule verdicts."""

    examples: list[RoutingExample]
    vectors: np.ndarray
    rules_human: np.ndarray


@dataclass(frozen=True)
class TrainingSet:
    """The labelled messages the detector learns from, and where they came from."""

    examples: list[RoutingExample]
    sources: dict[str, int]


class ThresholdChoice(BaseModel):
    """An operating threshold on P(human) and what it achieves on the scored messages."""

    threshold: float
    recall: float
    needless_rate: float
    targets_met: bool


def load_training_set(train_file: Path, messages_file: Path) -> TrainingSet:
    """Our training messages plus the dev part of the routing evaluation set.

    A text that occurs in both (ignoring white space) is kept once, from the training file.

    Args:
        train_file: ``routing_train.jsonl``.
        messages_file: ``routing_messages.jsonl``; only its dev part (``split_routing``) is used.

    Returns:
        The messages and a count per source.

    Raises:
        PolicyDeskError: a missing or invalid file, or one text labelled with both routes.
    """
    train = load_routing_set(train_file)
    dev, _ = split_routing(load_routing_set(messages_file))
    kept: dict[str, RoutingExample] = {}
    dropped = 0
    for example in [*train, *dev]:
        key = "".join(example.text.split())
        first = kept.get(key)
        if first is None:
            kept[key] = example
            continue
        if first.route != example.route:
            raise PolicyDeskError(
                f"{first.id} and {example.id} have the same text but routes "
                f"{first.route!r} and {example.route!r}"
            )
        dropped += 1
    sources = {train_file.name: len(train), f"{messages_file.name} (dev part)": len(dev)}
    if dropped:
        sources["duplicates dropped"] = dropped
    return TrainingSet(list(kept.values()), sources)


def inputs_digest(
    train_file: Path,
    dev: Sequence[RoutingExample],
    encoder: str,
    folds: int = FOLDS,
    rules_file: Path | None = None,
    calibration_files: Sequence[Path] = (),
) -> str:
    """A digest of everything training depends on.

    The training file's bytes, the dev records (not the whole evaluation file, so editing its
    held-out third never looks like new training data), the routing rules (the threshold is
    chosen for rules and detector together), the encoder, the code version and the search grid.
    """
    digest = hashlib.sha256(
        f"{FORMAT}|{CODE_VERSION}|{encoder}|{C_GRID}|{DENSE_SCALES}|{folds}|"
        f"{TARGET_RECALL}|{SYSTEM_TARGET_RECALL}|{CALIBRATION_TARGET_RECALL}|{MAX_NEEDLESS}".encode()
    )
    digest.update(hashlib.sha256(train_file.read_bytes()).digest())
    for path in [*([rules_file] if rules_file is not None else []), *calibration_files]:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for example in dev:
        digest.update(example.model_dump_json().encode())
    return digest.hexdigest()[:24]


def _clip(p: float) -> float:
    return min(max(p, _EDGE), 1.0 - _EDGE)


def _logit(p: float) -> float:
    p = _clip(p)
    return math.log(p / (1.0 - p))


def choose_threshold(
    p_human: Scores,
    human: Flags,
    target_recall: float = TARGET_RECALL,
    max_needless: float = MAX_NEEDLESS,
) -> ThresholdChoice:
    """The operating threshold on P(human), from scored messages with known routes (pure).

    ``high`` is the highest threshold that still hands over ``target_recall`` of the human
    messages; ``low`` the lowest that hands over at most ``max_needless`` of the bot messages.
    When ``low <= high`` both targets hold anywhere between, and the threshold is their
    midpoint in log-odds (margin on both sides). Otherwise recall wins: a missed handoff costs
    more than a needless one, so the threshold is ``high``.

    Args:
        p_human: P(human) per message (out-of-fold).
        human: whether each message is labelled human.
        target_recall: share of human messages that must be handed over.
        max_needless: share of bot messages that may be handed over.

    Returns:
        The threshold (a message hands over when P(human) >= threshold), its recall and
        needless-handoff rate on these messages, and whether both targets hold.

    Raises:
        ValueError: mismatched lengths, or no human or no bot messages.
    """
    p = np.asarray(p_human, dtype=np.float64)
    gold = np.asarray(human, dtype=bool)
    if p.shape != gold.shape:
        raise ValueError(f"{p.size} scores for {gold.size} labels")
    positives = np.sort(p[gold])[::-1]
    negatives = np.sort(p[~gold])[::-1]
    if not positives.size or not negatives.size:
        raise ValueError("choosing a threshold needs both human and bot messages")
    needed = max(1, math.ceil(target_recall * positives.size - 1e-9))
    high = _clip(float(positives[needed - 1]))
    allowed = math.floor(max_needless * negatives.size + 1e-9)
    low = (
        _clip(float(np.nextafter(negatives[allowed], np.inf)))
        if allowed < negatives.size
        else _EDGE
    )
    met = low <= high
    threshold = 1.0 / (1.0 + math.exp(-(_logit(low) + _logit(high)) / 2)) if met else high
    threshold = min(max(threshold, low), high) if met else threshold
    return ThresholdChoice(
        threshold=threshold,
        recall=float(np.mean(p[gold] >= threshold)),
        needless_rate=float(np.mean(p[~gold] >= threshold)),
        targets_met=met,
    )


def needless_at_recall(
    p_human: Scores, human: Flags, target_recall: float = TARGET_RECALL
) -> float:
    """Share of bot messages handed over at the highest threshold meeting the recall target.

    The grid search's criterion: how many needless handoffs the target recall costs (pure).

    Raises:
        ValueError: as ``choose_threshold``.
    """
    return choose_threshold(p_human, human, target_recall, max_needless=0.0).needless_rate


def _features(
    vectors: np.ndarray, tfidf: HashedTfidf, texts: Sequence[str], scale: float
) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        sparse.hstack([sparse.csr_matrix(vectors * scale), tfidf.transform(texts)]).tocsr()
    )


def _fit(
    features: sparse.csr_matrix, labels: np.ndarray, c: float, balanced: bool
) -> LogisticRegression:
    model = LogisticRegression(
        C=c, max_iter=5000, class_weight="balanced" if balanced else None, random_state=SEED
    )
    return model.fit(features, labels)


def _reason_matrix(examples: Sequence[RoutingExample]) -> np.ndarray:
    return np.array([[r in e.reasons for r in HANDOFF_REASONS] for e in examples], dtype=int)


def _out_of_fold(
    texts: Sequence[str],
    vectors: np.ndarray,
    human: np.ndarray,
    reasons: np.ndarray | None,
    c: float,
    scale: float,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Out-of-fold probabilities: column 0 P(human), then one per reason when asked."""
    columns = 1 + (reasons.shape[1] if reasons is not None else 0)
    out = np.zeros((len(texts), columns))
    for fit_rows, held_rows in folds:
        tfidf = HashedTfidf.fit([texts[i] for i in fit_rows])
        fit_x = _features(vectors[fit_rows], tfidf, [texts[i] for i in fit_rows], scale)
        held_x = _features(vectors[held_rows], tfidf, [texts[i] for i in held_rows], scale)
        out[held_rows, 0] = _fit(fit_x, human[fit_rows], c, False).predict_proba(held_x)[:, 1]
        if reasons is not None:
            for k in range(reasons.shape[1]):
                head = _fit(fit_x, reasons[fit_rows, k], c, True)
                out[held_rows, 1 + k] = head.predict_proba(held_x)[:, 1]
    return out


def _check_coverage(examples: Sequence[RoutingExample], folds: int) -> None:
    human = sum(e.route == "human" for e in examples)
    if human < folds or len(examples) - human < folds:
        raise PolicyDeskError(
            f"training needs at least {folds} human and {folds} bot messages "
            f"(got {human} and {len(examples) - human})"
        )
    thin = [
        f"{r.value} ({n})"
        for r in HANDOFF_REASONS
        if (n := sum(r in e.reasons for e in examples)) < folds
    ]
    if thin:
        raise PolicyDeskError(
            f"too few training messages (fewer than {folds}) for: {', '.join(thin)}"
        )


def _share(flags: np.ndarray) -> float:
    """The share of true flags; 0 for none."""
    return float(flags.mean()) if flags.size else 0.0


def _cv_metrics(
    examples: Sequence[RoutingExample],
    oof: np.ndarray,
    choice: ThresholdChoice,
    reasons: np.ndarray,
    reason_threshold: float,
    rules_human: np.ndarray,
) -> dict[str, float]:
    human = np.array([e.route == "human" for e in examples])
    hard = np.array([e.hard for e in examples])
    handed = oof[:, 0] >= choice.threshold
    system = handed | rules_human
    scores = binary_scores(human.tolist(), handed.tolist())
    metrics = {
        "messages": float(len(examples)),
        "human_messages": float(human.sum()),
        "threshold": round(choice.threshold, 4),
        "targets_met": float(choice.targets_met),
        "human_recall": round(scores.recall, 4),
        "human_precision": round(scores.precision, 4),
        "needless_handoff_rate": round(float(handed[~human].mean()), 4),
        "route_accuracy": round(scores.accuracy, 4),
        "hard_human_recall": round(_share(handed[human & hard]), 4),
        "hard_needless_handoff_rate": round(_share(handed[~human & hard]), 4),
        "auc": round(float(roc_auc_score(human, oof[:, 0])), 4),
        "average_precision": round(float(average_precision_score(human, oof[:, 0])), 4),
        "rules_human_recall": round(float(rules_human[human].mean()), 4),
        "rules_needless_handoff_rate": round(float(rules_human[~human].mean()), 4),
        "system_human_recall": round(float(system[human].mean()), 4),
        "system_needless_handoff_rate": round(float(system[~human].mean()), 4),
    }
    top = oof[:, 1:].argmax(axis=1)
    rows = np.flatnonzero(human)
    metrics["top_reason_accuracy"] = round(float(reasons[rows, top[rows]].mean()), 4)
    for k, reason in enumerate(HANDOFF_REASONS):
        carrying = reasons[:, k] == 1
        found = oof[carrying, 1 + k] >= reason_threshold
        metrics[f"reason_recall.{reason.value}"] = round(float(found.mean()), 4)
    return metrics


def train_handoff_detector(
    data: TrainingSet,
    vectors: np.ndarray,
    encoder: str,
    digest: str,
    folds: int = FOLDS,
    rules_human: Flags | None = None,
    calibration: Calibration | None = None,
) -> HandoffArtefact:
    """Cross-validate, choose the threshold, and fit every head on all the data.

    Args:
        data: the labelled messages.
        vectors: their query embeddings, one row per message, in the same order.
        encoder: the encoder's fingerprint (stored; the detector refuses other vectors).
        digest: the inputs digest (stored, for staleness).
        folds: cross-validation folds.
        rules_human: per message, whether the hand-written rules alone hand it over. Those
            count as handed over when the threshold is chosen (for ``SYSTEM_TARGET_RECALL``);
            without them the threshold is the detector's own (``TARGET_RECALL``).
        calibration: messages by other authors, never fitted on; when given, the threshold is
            the highest at which rules + detector keep ``CALIBRATION_TARGET_RECALL`` on them.

    Returns:
        The artefact (not yet saved), its manifest carrying the out-of-fold figures.

    Raises:
        PolicyDeskError: too few messages overall or for some reason, or vectors that do not
            match the messages.
    """
    started = time.perf_counter()
    examples = data.examples
    if vectors.ndim != 2 or vectors.shape[0] != len(examples):
        raise PolicyDeskError(
            f"{vectors.shape[0] if vectors.ndim else 0} vectors for {len(examples)} messages"
        )
    _check_coverage(examples, folds)
    covered = (
        np.zeros(len(examples), dtype=bool)
        if rules_human is None
        else np.asarray(rules_human, dtype=bool)
    )
    if covered.shape != (len(examples),):
        raise PolicyDeskError(f"{covered.size} rule verdicts for {len(examples)} messages")
    texts = [e.text for e in examples]
    human = np.array([e.route == "human" for e in examples], dtype=int)
    reasons = _reason_matrix(examples)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    split = list(splitter.split(np.zeros(len(examples)), human))

    grid: dict[str, float] = {}
    best: tuple[float, float, float, float] | None = None  # (needless, -AP, c, scale)
    for c in C_GRID:
        for scale in DENSE_SCALES:
            p = _out_of_fold(texts, vectors, human, None, c, scale, split)[:, 0]
            needless = needless_at_recall(p, human.astype(bool))
            ap = float(average_precision_score(human, p))
            grid[f"grid.c={c:g},scale={scale:g}.needless_at_target_recall"] = round(needless, 4)
            candidate = (needless, -ap, c, scale)
            if best is None or candidate < best:
                best = candidate
    assert best is not None  # the grid is not empty
    _, _, c, scale = best

    oof = _out_of_fold(texts, vectors, human, reasons, c, scale, split)
    tfidf = HashedTfidf.fit(texts)
    features = _features(vectors, tfidf, texts, scale)
    heads = [_fit(features, human, c, False)] + [
        _fit(features, reasons[:, k], c, True) for k in range(reasons.shape[1])
    ]

    calibrated: dict[str, float] = {}
    if calibration is not None:
        cal_texts = [e.text for e in calibration.examples]
        cal_human = np.array([e.route == "human" for e in calibration.examples])
        cal_covered = np.asarray(calibration.rules_human, dtype=bool)
        cal_p = heads[0].predict_proba(_features(calibration.vectors, tfidf, cal_texts, scale))[
            :, 1
        ]
        choice = choose_threshold(
            np.where(cal_covered, 1.0, cal_p), cal_human, CALIBRATION_TARGET_RECALL
        )
        calibrated = {
            "calibration_messages": float(len(cal_texts)),
            "calibration_human_messages": float(cal_human.sum()),
            "calibration_human_recall": round(choice.recall, 4),
            "calibration_needless_handoff_rate": round(choice.needless_rate, 4),
            "calibration_rules_human_recall": round(_share(cal_covered[cal_human]), 4),
            "calibration_rules_needless_handoff_rate": round(_share(cal_covered[~cal_human]), 4),
        }
    elif rules_human is None:
        choice = choose_threshold(oof[:, 0], human.astype(bool))
    else:  # the rules' handoffs count as handed over at any threshold
        system_p = np.where(covered, 1.0, oof[:, 0])
        choice = choose_threshold(system_p, human.astype(bool), SYSTEM_TARGET_RECALL)
    metrics = _cv_metrics(examples, oof, choice, reasons, DEFAULT_REASON_THRESHOLD, covered)
    metrics["needless_at_target_recall"] = grid[
        f"grid.c={c:g},scale={scale:g}.needless_at_target_recall"
    ]
    metrics.update(grid)
    metrics.update(calibrated)

    coef = np.vstack([h.coef_ for h in heads])
    width = vectors.shape[1]
    manifest = HandoffManifest(
        code_version=CODE_VERSION,
        inputs_digest=digest,
        encoder=encoder,
        dimension=width,
        reasons=list(HANDOFF_REASONS),
        threshold=round(choice.threshold, 6),
        reason_threshold=DEFAULT_REASON_THRESHOLD,
        c=c,
        dense_scale=scale,
        sources=data.sources,
        cv_folds=folds,
        cv_metrics=metrics,
        seconds=0.0,
    )
    artefact = HandoffArtefact(
        manifest=manifest,
        tfidf=tfidf,
        head_dense=(coef[:, :width] * scale).astype(np.float32),
        head_sparse=coef[:, width:].astype(np.float32),
        head_bias=np.concatenate([h.intercept_ for h in heads]).astype(np.float32),
    )
    manifest.seconds = round(time.perf_counter() - started, 2)
    return artefact


class HandoffTrainer:
    """Trains the handoff detector from its data files into a model folder."""

    def __init__(
        self,
        train_file: Path,
        messages_file: Path,
        model_dir: Path,
        embedder: Embedder,
        folds: int = FOLDS,
        rules_file: Path | None = None,
        calibration_files: Sequence[Path] = (),
    ) -> None:
        self._train = train_file
        self._messages = messages_file
        self._model = model_dir
        self._embedder = embedder
        self._folds = folds
        self._rules = rules_file
        self._calibration = tuple(calibration_files)

    def load(self) -> TrainingSet:
        """The training messages (see ``load_training_set``)."""
        return load_training_set(self._train, self._messages)

    def digest(self) -> str:
        """Digest of the inputs, the encoder, the code and the grid."""
        dev, _ = split_routing(load_routing_set(self._messages))
        return inputs_digest(
            self._train,
            dev,
            self._embedder.fingerprint,
            self._folds,
            self._rules,
            self._calibration,
        )

    def rules_human(self, examples: Sequence[RoutingExample]) -> list[bool] | None:
        """Whether the routing rules alone hand each message over (None without a rule file).

        Raises:
            ConfigurationError: an invalid rule file.
        """
        if self._rules is None:
            return None
        rules = MessageRules.load(self._rules)
        return [
            route(RoutingSignals(reading=rules.read(e.text))).route == "human" for e in examples
        ]

    def calibration(self) -> tuple[Calibration | None, dict[str, int]]:
        """The calibration messages, embedded and read by the rules, and a count per file.

        Raises:
            PolicyDeskError: a missing or invalid calibration file.
        """
        if not self._calibration:
            return None, {}
        examples: list[RoutingExample] = []
        sources: dict[str, int] = {}
        for path in self._calibration:
            loaded = load_routing_set(path)
            sources[f"{path.name} (calibration)"] = len(loaded)
            examples += loaded
        verdicts = self.rules_human(examples) or [False] * len(examples)
        vectors = self._embedder.embed_queries([e.text for e in examples])
        return Calibration(examples, vectors, np.array(verdicts, dtype=bool)), sources

    def is_stale(self) -> bool:
        """True when there is no readable artefact or it was trained from other inputs."""
        try:
            manifest = HandoffManifest.model_validate_json(
                (self._model / "manifest.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return True
        return manifest.inputs_digest != self.digest()

    def train(self, save: bool = True) -> HandoffManifest:
        """Embed, cross-validate, fit, and (by default) replace the artefact atomically.

        Returns:
            The new manifest, with the threshold and the out-of-fold figures.

        Raises:
            PolicyDeskError: invalid data files, an invalid rule file or too few messages.
        """
        started = time.perf_counter()
        digest = self.digest()
        data = self.load()
        calibration, calibration_sources = self.calibration()
        vectors = self._embedder.embed_queries([e.text for e in data.examples])
        artefact = train_handoff_detector(
            TrainingSet(data.examples, {**data.sources, **calibration_sources}),
            vectors,
            self._embedder.fingerprint,
            digest,
            self._folds,
            self.rules_human(data.examples),
            calibration,
        )
        artefact.manifest.seconds = round(time.perf_counter() - started, 2)
        if save:
            artefact.save(self._model)
        return artefact.manifest


def summary(manifest: HandoffManifest) -> list[str]:
    """The manifest's figures as report lines (for the command line)."""
    m = manifest.cv_metrics
    lines = [
        f"sources: {manifest.sources}",
        f"chosen: C {manifest.c:g}, dense scale {manifest.dense_scale:g}, "
        f"threshold {manifest.threshold:.3f} "
        f"({'targets met' if m['targets_met'] else 'recall kept, needless target missed'})",
        f"{manifest.cv_folds}-fold CV at the threshold: human recall {m['human_recall']:.3f}, "
        f"precision {m['human_precision']:.3f}, needless handoffs "
        f"{m['needless_handoff_rate']:.3f}, route accuracy {m['route_accuracy']:.3f}",
        f"  with the rules (rules alone: recall {m['rules_human_recall']:.3f}, needless "
        f"{m['rules_needless_handoff_rate']:.3f}): human recall {m['system_human_recall']:.3f}, "
        f"needless handoffs {m['system_needless_handoff_rate']:.3f}",
        *(
            [
                f"  calibration ({m['calibration_messages']:.0f} messages by other authors, "
                f"rules alone: recall {m['calibration_rules_human_recall']:.3f}, needless "
                f"{m['calibration_rules_needless_handoff_rate']:.3f}): human recall "
                f"{m['calibration_human_recall']:.3f}, needless handoffs "
                f"{m['calibration_needless_handoff_rate']:.3f}"
            ]
            if "calibration_messages" in m
            else []
        ),
        f"  hard messages: human recall {m['hard_human_recall']:.3f}, needless "
        f"{m['hard_needless_handoff_rate']:.3f}; AUC {m['auc']:.3f}, AP "
        f"{m['average_precision']:.3f}; top reason right {m['top_reason_accuracy']:.3f}",
        "  reason recall: "
        + ", ".join(f"{r.value} {m[f'reason_recall.{r.value}']:.2f}" for r in manifest.reasons),
        "  grid (needless at recall "
        f"{TARGET_RECALL:.2f}): "
        + ", ".join(
            f"{k.removeprefix('grid.').removesuffix('.needless_at_target_recall')} {v:.3f}"
            for k, v in m.items()
            if k.startswith("grid.")
        ),
        f"trained in {manifest.seconds:.1f}s",
    ]
    return lines


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Train the detector; returns the exit status (0 ok, 1 a PolicyDesk error)."""
    parser = argparse.ArgumentParser(
        prog="python -m chatbot.learned_training",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="artefact folder")
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument(
        "--messages",
        type=Path,
        default=DEFAULT_MESSAGES,
        help="routing evaluation set; only its dev part (id %% 3 != 0) is used",
    )
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument(
        "--calibration",
        type=Path,
        action="append",
        help="labelled messages that choose the threshold (repeatable; default: "
        + ", ".join(p.name for p in DEFAULT_CALIBRATION)
        + "); --no-calibration for none",
    )
    parser.add_argument(
        "--no-calibration",
        action="store_true",
        help="choose the threshold from the out-of-fold scores instead",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=DEFAULT_RULES,
        help="routing rules; the threshold is chosen for rules and detector together",
    )
    parser.add_argument(
        "--if-stale", action="store_true", help="do nothing when the artefact is up to date"
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    out = out or sys.stdout
    # nothing may reach a model hub (as the policydesk command)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from core.services import Services
    from core.settings import Settings

    try:
        embedder = Services(Settings()).embedder
        calibration = () if args.no_calibration else tuple(args.calibration or DEFAULT_CALIBRATION)
        trainer = HandoffTrainer(
            args.train, args.messages, args.out, embedder, args.folds, args.rules, calibration
        )
        if args.if_stale and not trainer.is_stale():
            out.write(f"handoff detector up to date at {args.out}\n")
            return 0
        manifest = trainer.train()
    except PolicyDeskError as exc:
        sys.stderr.write(f"learned_training: error: {exc}\n")
        return 1
    out.write(f"handoff detector trained into {args.out}\n")
    out.write("\n".join(summary(manifest)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
