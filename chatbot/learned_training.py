"""Training the learned handoff detector (``chatbot.learned``): a seeded function of the data.

Data: our training set (``data/chatbot/routing_train.jsonl``) plus the dev part of the routing
evaluation set (``data/eval/routing_messages.jsonl``, read only through
``evaluation.routing_eval.split_routing``: its held-out third never reaches training, the
threshold or the manifest), plus seven sets written by other authors (``DEFAULT_AUTHOR_SETS``).
The sets not listed there (ROUTING.md, "Roles of the sets") are never read here.

Steps:
1. embed every message once with the shared encoder, exactly as the chatbot embeds a message;
2. cross-validation over a small grid of C (inverse L2 strength) and the encoder vector's weight
   against the TF-IDF view; the IDF is refitted inside every fold. Each author set is held out
   whole in turn (a model that never saw that author scores it), and our own messages are
   scored in stratified folds. The grid point with the fewest needless handoffs at the target
   recall on the author sets wins: what counts is how the router does on writing it never saw;
3. the threshold, chosen for the whole router (``choose_threshold``) on the out-of-fold scores of
   the author sets (all messages when there are none): the detector is only consulted on
   messages the hand-written rules keep with the bot, so the messages the rules hand over count
   as handed over, and the threshold keeps ``SYSTEM_TARGET_RECALL`` for rules and detector
   together;
4. every head refitted on all the data and stored as plain arrays.

``policydesk train routing [--out models/routing] [--if-stale]``
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from scipy import sparse

from chatbot.learned import (
    DEFAULT_REASON_THRESHOLD,
    FORMAT,
    HANDOFF_REASONS,
    HandoffArtefact,
    HandoffManifest,
)
from chatbot.routing import ROUTING_REASONS, VETOABLE_REASONS, RoutingSignals, route
from chatbot.routing_sets import RoutingExample, load_routing_set, split_routing
from chatbot.understanding import MessageRules
from core.errors import PolicyDeskError
from core.metrics import binary_scores
from core.settings import PROJECT_ROOT
from ml import digests
from ml.heads import LinearHead, average_precision, fit_logistic, roc_auc, stratified_folds
from ml.tfidf import HashedTfidf, hashed_counts
from retrieval.embedder import Embedder

CODE_VERSION = "handoff-detector/5"
TARGET_RECALL = 0.95
SYSTEM_TARGET_RECALL = 0.975
"""Out-of-fold recall of rules + detector the threshold keeps on the author sets: a margin above
the 0.95 product target for writing unlike any seen."""
MAX_NEEDLESS = 0.10
VETO_GRID: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1)
"""Candidate P(human) levels below which the detector overrules the rules' softer triggers."""
C_GRID: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0)
DENSE_SCALES: tuple[float, ...] = (0.5, 1.0)
FOLDS = 5
SEED = 0
MAX_ITER = 5000
_EDGE = 1e-6  # probabilities are clipped this far from 0 and 1 before taking log-odds

Scores = Sequence[float] | np.ndarray
"""One probability per message (a list or a numpy vector)."""
Flags = Sequence[bool] | np.ndarray
"""One yes/no per message (a list or a numpy vector)."""

DEFAULT_TRAIN = PROJECT_ROOT / "data" / "chatbot" / "routing_train.jsonl"
DEFAULT_MESSAGES = PROJECT_ROOT / "data" / "eval" / "routing_messages.jsonl"
DEFAULT_OUT = PROJECT_ROOT / "models" / "routing"
DEFAULT_RULES = PROJECT_ROOT / "data" / "chatbot" / "routing_rules.yaml"
DEFAULT_AUTHOR_SETS: tuple[Path, ...] = tuple(
    PROJECT_ROOT / "data" / "eval" / name
    for name in (
        "routing_heldout.jsonl",
        "routing_blind2.jsonl",
        "routing_blind3.jsonl",
        "routing_blind4.jsonl",
        "routing_blind5.jsonl",
        "routing_blind7.jsonl",
        "routing_blind8.jsonl",
    )
)
"""Labelled messages by seven other authors (ROUTING.md): trained on, and each held out whole in
cross-validation to choose the model and the threshold."""


@dataclass(frozen=True)
class TrainingSet:
    """The labelled messages the detector learns from, and where they came from."""

    examples: list[RoutingExample]
    sources: dict[str, int]
    authors: list[str | None] = field(default_factory=list)
    """Per message, the author set it came from; None (or an empty list) for our own and dev."""

    def author_of(self, index: int) -> str | None:
        """The author set of message ``index`` (None for our own and the dev part)."""
        return self.authors[index] if self.authors else None


class ThresholdChoice(BaseModel):
    """An operating threshold on P(human) and what it achieves on the scored messages."""

    threshold: float
    recall: float
    needless_rate: float
    targets_met: bool


def load_training_set(
    train_file: Path, messages_file: Path, author_files: Sequence[Path] = ()
) -> TrainingSet:
    """Our training messages, the dev part of the routing evaluation set and the author sets.

    A text that occurs twice (ignoring white space) is kept once, from the first file.

    Args:
        train_file: ``routing_train.jsonl``.
        messages_file: ``routing_messages.jsonl``; only its dev part (``split_routing``) is used.
        author_files: labelled sets by other authors, each its own cross-validation group.

    Returns:
        The messages and a count per source.

    Raises:
        PolicyDeskError: a missing or invalid file, or one text labelled with both routes.
    """
    train = load_routing_set(train_file)
    dev, _ = split_routing(load_routing_set(messages_file))
    labelled: list[tuple[RoutingExample, str | None]] = [(e, None) for e in [*train, *dev]]
    sources = {train_file.name: len(train), f"{messages_file.name} (dev part)": len(dev)}
    for path in author_files:
        loaded = load_routing_set(path)
        sources[f"{path.name} (author set)"] = len(loaded)
        labelled += [(e, path.name) for e in loaded]
    kept: dict[str, tuple[RoutingExample, str | None]] = {}
    dropped = conflicts = 0
    for example, author in labelled:
        key = "".join(example.text.split())
        first = kept.get(key)
        if first is None:
            kept[key] = (example, author)
            continue
        if first[0].route != example.route:
            if author is None:  # our own data must agree with itself
                raise PolicyDeskError(
                    f"{first[0].id} and {example.id} have the same text but routes "
                    f"{first[0].route!r} and {example.route!r}"
                )
            conflicts += 1  # another author read it differently: the first label stands
            continue
        dropped += 1
    if dropped:
        sources["duplicates dropped"] = dropped
    if conflicts:
        sources["label conflicts dropped"] = conflicts
    values = list(kept.values())
    authors = [a for _, a in values] if author_files else []
    return TrainingSet([e for e, _ in values], sources, authors)


def inputs_digest(
    train_file: Path,
    dev: Sequence[RoutingExample],
    encoder: str,
    folds: int = FOLDS,
    rules_file: Path | None = None,
    author_files: Sequence[Path] = (),
) -> str:
    """A digest of everything training depends on.

    The training file's bytes, the dev records (not the whole evaluation file, so editing its
    held-out third never looks like new training data), the routing rules (the threshold is
    chosen for rules and detector together), the encoder, the code version and the search grid.
    """
    return digests.inputs_digest(
        CODE_VERSION,
        encoder,
        [train_file, *([rules_file] if rules_file is not None else []), *author_files],
        records=[example.model_dump_json() for example in dev],
        params=[
            FORMAT,
            C_GRID,
            DENSE_SCALES,
            folds,
            TARGET_RECALL,
            SYSTEM_TARGET_RECALL,
            MAX_NEEDLESS,
        ],
    )


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


@dataclass(frozen=True)
class _Fold:
    """One cross-validation split: the rows fitted, the rows scored, and their TF-IDF rows.

    The IDF comes from the fitted rows alone, and the columns are only the n-grams those rows
    contain: every other column is zero in both (its IDF is 0), so dropping it changes nothing.
    Built once per split and shared by every grid point and head.
    """

    fit: np.ndarray
    held: np.ndarray
    fit_tfidf: sparse.csr_matrix
    held_tfidf: sparse.csr_matrix

    @classmethod
    def build(cls, counts: sparse.csr_matrix, fit: np.ndarray, held: np.ndarray) -> _Fold:
        tfidf = HashedTfidf.fit_counts(counts[fit])
        seen = np.flatnonzero(tfidf.idf)
        return cls(
            fit,
            held,
            tfidf.transform_counts(counts[fit])[:, seen],
            tfidf.transform_counts(counts[held])[:, seen],
        )

    def features(
        self, vectors: np.ndarray, scale: float
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """(fitted rows, scored rows) of the combined features at this dense scale."""
        return (
            _features(vectors[self.fit], self.fit_tfidf, scale),
            _features(vectors[self.held], self.held_tfidf, scale),
        )


def _features(
    vectors: np.ndarray, tfidf_rows: sparse.csr_matrix, scale: float
) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        sparse.hstack([sparse.csr_matrix(vectors * scale), tfidf_rows], format="csr")
    )


def _reason_matrix(examples: Sequence[RoutingExample]) -> np.ndarray:
    return np.array([[r in e.reasons for r in HANDOFF_REASONS] for e in examples], dtype=int)


def _fit(features: sparse.csr_matrix, labels: np.ndarray, c: float, balanced: bool) -> LinearHead:
    return fit_logistic(features, labels, c, balanced=balanced, max_iter=MAX_ITER, seed=SEED)


def _grid_out_of_fold(
    vectors: np.ndarray, human: np.ndarray, folds: Sequence[_Fold]
) -> dict[tuple[float, float], np.ndarray]:
    """Out-of-fold P(human) at every (C, dense scale) of the grid."""
    out = {(c, scale): np.zeros(len(human)) for c in C_GRID for scale in DENSE_SCALES}
    for fold in folds:
        for scale in DENSE_SCALES:
            fit_x, held_x = fold.features(vectors, scale)
            for c in C_GRID:
                head = _fit(fit_x, human[fold.fit], c, False)
                out[c, scale][fold.held] = head.positive_probability(held_x)
    return out


def _reasons_out_of_fold(
    vectors: np.ndarray, reasons: np.ndarray, folds: Sequence[_Fold], c: float, scale: float
) -> np.ndarray:
    """Out-of-fold probabilities of every reason head, one column per reason."""
    out = np.zeros(reasons.shape)
    for fold in folds:
        fit_x, held_x = fold.features(vectors, scale)
        for k in range(reasons.shape[1]):
            head = _fit(fit_x, reasons[fold.fit, k], c, True)
            out[fold.held, k] = head.positive_probability(held_x)
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
        "auc": round(roc_auc(human, oof[:, 0]), 4),
        "average_precision": round(average_precision(human, oof[:, 0]), 4),
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


def _counted(p_human: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """P(human) with the rules' handoffs counted as handed over at any threshold."""
    return np.where(covered, 1.0, p_human)


def default_author_sets() -> tuple[Path, ...]:
    """The author sets of ``DEFAULT_AUTHOR_SETS`` present in this checkout."""
    return tuple(p for p in DEFAULT_AUTHOR_SETS if p.exists())


def _folds(
    human: np.ndarray, authors: Sequence[str | None], folds: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held rows) pairs: each author set held out whole, our own messages in folds."""
    rows = np.arange(len(human))
    own = (
        np.array([a is None for a in authors], dtype=bool) if authors else np.ones(len(human), bool)
    )
    split: list[tuple[np.ndarray, np.ndarray]] = []
    for author in dict.fromkeys(a for a in authors if a is not None):
        held = rows[np.array([a == author for a in authors])]
        split.append((np.setdiff1d(rows, held), held))
    own_rows = rows[own]
    for held_in_own in stratified_folds(human[own_rows], folds, SEED):
        held = own_rows[held_in_own]
        split.append((np.setdiff1d(rows, held), held))
    return split


def _author_metrics(
    data: TrainingSet, handed: np.ndarray, human: np.ndarray, covered: np.ndarray
) -> dict[str, float]:
    """Recall and needless handoffs of rules + detector on each author set, held out whole."""
    metrics: dict[str, float] = {}
    names = [data.author_of(i) for i in range(len(data.examples))]
    groups = {"all": np.array([n is not None for n in names])}
    groups.update({n: np.array([x == n for x in names]) for n in dict.fromkeys(names) if n})
    for name, rows in groups.items():
        if not rows.any():
            continue
        prefix = "authors" if name == "all" else f"author.{name}"
        metrics[f"{prefix}.messages"] = float(rows.sum())
        metrics[f"{prefix}.human_recall"] = round(_share(handed[rows & human]), 4)
        metrics[f"{prefix}.needless_handoff_rate"] = round(_share(handed[rows & ~human]), 4)
        if name == "all":
            metrics[f"{prefix}.rules_human_recall"] = round(_share(covered[rows & human]), 4)
            metrics[f"{prefix}.rules_needless_handoff_rate"] = round(
                _share(covered[rows & ~human]), 4
            )
    return metrics


def train_handoff_detector(
    data: TrainingSet,
    vectors: np.ndarray,
    encoder: str,
    digest: str,
    folds: int = FOLDS,
    rules_human: Flags | None = None,
    rules_firm: Flags | None = None,
) -> HandoffArtefact:
    """Cross-validate, choose the threshold, and fit every head on all the data.

    Args:
        data: the labelled messages, with the author set of each (``TrainingSet.authors``).
        vectors: their query embeddings, one row per message, in the same order.
        encoder: the encoder's fingerprint (stored; the detector refuses other vectors).
        digest: the inputs digest (stored, for staleness).
        folds: cross-validation folds over our own messages.
        rules_human: per message, whether the hand-written rules alone hand it over. Those
            count as handed over when the threshold is chosen (``SYSTEM_TARGET_RECALL``);
            without them the threshold is the detector's own (``TARGET_RECALL``).
        rules_firm: per message, whether the rules hand it over for a reason the detector may
            not overrule (``chatbot.routing.VETOABLE_REASONS``). With it, training also chooses
            ``rule_veto`` from ``VETO_GRID``: the level of P(human) below which the other rule
            triggers do not count, the one with the fewest needless handoffs at the target
            recall (0 when overruling never helps). Without it nothing is overruled.

    Returns:
        The artefact (not yet saved), its manifest carrying the out-of-fold figures.

    Raises:
        PolicyDeskError: too few messages overall or for some reason, or vectors or rule
            verdicts that do not match the messages.
    """
    started = time.perf_counter()
    examples = data.examples
    if vectors.ndim != 2 or vectors.shape[0] != len(examples):
        raise PolicyDeskError(
            f"{vectors.shape[0] if vectors.ndim else 0} vectors for {len(examples)} messages"
        )
    if data.authors and len(data.authors) != len(examples):
        raise PolicyDeskError(f"{len(data.authors)} authors for {len(examples)} messages")
    _check_coverage(examples, folds)
    covered = (
        np.zeros(len(examples), dtype=bool)
        if rules_human is None
        else np.asarray(rules_human, dtype=bool)
    )
    if covered.shape != (len(examples),):
        raise PolicyDeskError(f"{covered.size} rule verdicts for {len(examples)} messages")
    firm = covered if rules_firm is None else np.asarray(rules_firm, dtype=bool) & covered
    if firm.shape != (len(examples),):
        raise PolicyDeskError(f"{firm.size} firm rule verdicts for {len(examples)} messages")
    texts = [e.text for e in examples]
    human = np.array([e.route == "human" for e in examples], dtype=int)
    gold = human.astype(bool)
    reasons = _reason_matrix(examples)
    split = _folds(human, data.authors, folds)
    # the figures that choose: the author sets, held out whole; else every message
    scored = np.array([data.author_of(i) is not None for i in range(len(examples))])
    if not scored.any():
        scored = np.ones(len(examples), dtype=bool)
    target = TARGET_RECALL if rules_human is None else SYSTEM_TARGET_RECALL

    counts = hashed_counts(texts)  # every text counted once; each fold weighs its own rows
    prepared = [_Fold.build(counts, fit, held) for fit, held in split]
    by_point = _grid_out_of_fold(vectors, human, prepared)
    grid: dict[str, float] = {}
    best: tuple[float, float, float, float] | None = None  # (needless, -AP, c, scale)
    for c in C_GRID:
        for scale in DENSE_SCALES:
            p = by_point[c, scale]
            needless = needless_at_recall(_counted(p, covered)[scored], gold[scored], target)
            ap = average_precision(human[scored], p[scored])
            grid[f"grid.c={c:g},scale={scale:g}.needless_at_target_recall"] = round(needless, 4)
            candidate = (needless, -ap, c, scale)
            if best is None or candidate < best:
                best = candidate
    assert best is not None  # the grid is not empty
    _, _, c, scale = best

    oof = np.column_stack(
        [by_point[c, scale], _reasons_out_of_fold(vectors, reasons, prepared, c, scale)]
    )
    vetoes: dict[str, float] = {}
    # (needless, veto, choice, what the rules hand over at that veto)
    best_veto: tuple[float, float, ThresholdChoice, np.ndarray] | None = None
    for veto in VETO_GRID if rules_firm is not None else (0.0,):
        counted = firm | (covered & (oof[:, 0] >= veto))
        at_veto = choose_threshold(_counted(oof[:, 0], counted)[scored], gold[scored], target)
        vetoes[f"veto={veto:g}.needless_at_target_recall"] = round(at_veto.needless_rate, 4)
        if best_veto is None or (at_veto.needless_rate, veto) < best_veto[:2]:
            best_veto = (at_veto.needless_rate, veto, at_veto, counted)
    assert best_veto is not None  # the grid is not empty
    _, rule_veto, choice, covered = best_veto
    metrics = _cv_metrics(examples, oof, choice, reasons, DEFAULT_REASON_THRESHOLD, covered)
    metrics["rule_veto"] = rule_veto
    metrics.update(vetoes)
    metrics["needless_at_target_recall"] = grid[
        f"grid.c={c:g},scale={scale:g}.needless_at_target_recall"
    ]
    metrics.update(grid)
    metrics.update(_author_metrics(data, covered | (oof[:, 0] >= choice.threshold), gold, covered))

    tfidf = HashedTfidf.fit_counts(counts)
    features = _features(vectors, tfidf.transform_counts(counts), scale)
    heads = [_fit(features, human, c, False)] + [
        _fit(features, reasons[:, k], c, True) for k in range(reasons.shape[1])
    ]
    coef = np.vstack([h.coef for h in heads])
    width = vectors.shape[1]
    manifest = HandoffManifest(
        code_version=CODE_VERSION,
        inputs_digest=digest,
        encoder=encoder,
        dimension=width,
        reasons=list(HANDOFF_REASONS),
        threshold=round(choice.threshold, 6),
        reason_threshold=DEFAULT_REASON_THRESHOLD,
        rule_veto=rule_veto,
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
        head_bias=np.concatenate([h.intercept for h in heads]).astype(np.float32),
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
        author_files: Sequence[Path] = (),
    ) -> None:
        self._train = train_file
        self._messages = messages_file
        self._model = model_dir
        self._embedder = embedder
        self._folds = folds
        self._rules = rules_file
        self._authors = tuple(author_files)

    def load(self) -> TrainingSet:
        """The training messages (see ``load_training_set``)."""
        return load_training_set(self._train, self._messages, self._authors)

    def digest(self) -> str:
        """Digest of the inputs, the encoder, the code and the grid."""
        dev, _ = split_routing(load_routing_set(self._messages))
        return inputs_digest(
            self._train,
            dev,
            self._embedder.fingerprint,
            self._folds,
            self._rules,
            self._authors,
        )

    def rules_verdicts(
        self, examples: Sequence[RoutingExample]
    ) -> tuple[list[bool], list[bool]] | None:
        """Per message, whether the routing rules alone hand it over, and whether for a reason
        the detector may not overrule (None without a rule file).

        Raises:
            ConfigurationError: an invalid rule file.
        """
        if self._rules is None:
            return None
        rules = MessageRules.load(self._rules)
        decisions = [route(RoutingSignals(reading=rules.read(e.text))) for e in examples]
        human = [d.route == "human" for d in decisions]
        firm = [bool(set(d.reasons) & (ROUTING_REASONS - VETOABLE_REASONS)) for d in decisions]
        return human, firm

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
        vectors = self._embedder.embed_queries([e.text for e in data.examples])
        verdicts = self.rules_verdicts(data.examples)
        artefact = train_handoff_detector(
            data,
            vectors,
            self._embedder.fingerprint,
            digest,
            self._folds,
            verdicts[0] if verdicts else None,
            verdicts[1] if verdicts else None,
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
        f"threshold {manifest.threshold:.3f}, rules overruled below P(human) "
        f"{manifest.rule_veto:g} "
        f"({'targets met' if m['targets_met'] else 'recall kept, needless target missed'})",
        "  overruling the rules (needless handoffs at the target recall): "
        + ", ".join(
            f"{k.removeprefix('veto=').removesuffix('.needless_at_target_recall')} {v:.3f}"
            for k, v in m.items()
            if k.startswith("veto=")
        ),
        f"{manifest.cv_folds}-fold CV at the threshold: human recall {m['human_recall']:.3f}, "
        f"precision {m['human_precision']:.3f}, needless handoffs "
        f"{m['needless_handoff_rate']:.3f}, route accuracy {m['route_accuracy']:.3f}",
        f"  with the rules (rules alone: recall {m['rules_human_recall']:.3f}, needless "
        f"{m['rules_needless_handoff_rate']:.3f}): human recall {m['system_human_recall']:.3f}, "
        f"needless handoffs {m['system_needless_handoff_rate']:.3f}",
        *(
            [
                f"  author sets, each held out whole ({m['authors.messages']:.0f} messages; "
                f"rules alone: recall {m['authors.rules_human_recall']:.3f}, needless "
                f"{m['authors.rules_needless_handoff_rate']:.3f}): human recall "
                f"{m['authors.human_recall']:.3f}, needless handoffs "
                f"{m['authors.needless_handoff_rate']:.3f}",
                *(
                    f"    {k.removeprefix('author.').removesuffix('.human_recall')}: recall "
                    f"{v:.3f}, needless "
                    f"{m[k.removesuffix('human_recall') + 'needless_handoff_rate']:.3f}"
                    for k, v in m.items()
                    if k.startswith("author.") and k.endswith(".human_recall")
                ),
            ]
            if "authors.messages" in m
            else []
        ),
        f"  hard messages: human recall {m['hard_human_recall']:.3f}, needless "
        f"{m['hard_needless_handoff_rate']:.3f}; AUC {m['auc']:.3f}, AP "
        f"{m['average_precision']:.3f}; top reason right {m['top_reason_accuracy']:.3f}",
        "  reason recall: "
        + ", ".join(f"{r.value} {m[f'reason_recall.{r.value}']:.2f}" for r in manifest.reasons),
        "  grid (needless handoffs at the target recall): "
        + ", ".join(
            f"{k.removeprefix('grid.').removesuffix('.needless_at_target_recall')} {v:.3f}"
            for k, v in m.items()
            if k.startswith("grid.")
        ),
        f"trained in {manifest.seconds:.1f}s",
    ]
    return lines
