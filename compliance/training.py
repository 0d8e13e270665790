"""Training the guard's sentence judge: a seeded function of the labelled replies.

Authors are held out whole: for each author, the heads are fitted on everyone else's sentences
and judge that author's replies, so the figures say how the guard does on a writer it has never
read. A reply is flagged when a rule fires in it or the judge flags one of the sentences no rule
flagged (exactly what ``ComplianceGuard.check`` does). The threshold is the lowest that keeps the
pooled out-of-fold precision at ``PRECISION_FLOOR``; the grid point with the best recall there
wins. The final heads are fitted on every author.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from compliance.classifier import STORE, GuardArtefact, GuardManifest, head_scores
from compliance.data import LabelledReply, load_replies, reply_sentences, training_units
from core.errors import PolicyDeskError
from core.metrics import binary_scores
from ml.digests import inputs_digest
from ml.heads import LinearHead, fit_logistic, roc_auc
from ml.tfidf import N_FEATURES, HashedTfidf, hashed_counts
from ml.two_view import TwoViewHeads
from prompts.guard import ComplianceGuard, RuleCategory
from retrieval.embedder import Embedder

CODE_VERSION = "guard-judge/2"
C_GRID = (2.0, 8.0, 32.0)
DENSE_SCALES = (0.5, 1.0, 2.0)
SCREEN_GRID = (0.45, 0.4, 0.3, 0.2, 0.1, 0.05)
"""Cutoffs tried for the n-gram screen, largest first: the largest that loses no out-of-fold
recall at the threshold is kept (none: every sentence is embedded)."""
SCREEN_C = 8.0
PRECISION_FLOOR = 0.93
"""Out-of-fold precision the threshold keeps (the product target is 0.90 on blind sets: the
margin is for authors unlike ours)."""


@dataclass(frozen=True)
class Sentences:
    """Every sentence of every reply, with what the rules and the labels say about it."""

    texts: list[str]
    reply: np.ndarray  # index of the reply each sentence belongs to
    ruled: np.ndarray  # a rule fires in the sentence
    unit: np.ndarray  # trained on (a labelled unit)
    violation: np.ndarray  # the unit's label (False where not a unit)
    category: np.ndarray  # the unit's category index, -1 where none


def reply_sentences_with_rules(
    replies: Sequence[LabelledReply], guard: ComplianceGuard
) -> Sentences:
    """Split the replies and mark the sentences the rules flag and the training units."""
    categories = list(RuleCategory)
    units = {(u.reply, u.text): u for u in training_units(replies)}
    texts: list[str] = []
    reply_of: list[int] = []
    ruled: list[bool] = []
    unit: list[bool] = []
    violation: list[bool] = []
    category: list[int] = []
    for index, reply in enumerate(replies):
        report = guard.check(reply.text)
        flagged = {f.sentence for f in report.findings}
        pieces = reply_sentences(reply.text)
        whole = (reply.id, reply.text.strip())
        if whole in units and len(pieces) > 1:
            pieces = [reply.text.strip()]  # a violation without evidence is judged whole
        for text in pieces:
            found = units.get((reply.id, text))
            texts.append(text)
            reply_of.append(index)
            ruled.append(text in flagged or (bool(flagged) and text == reply.text.strip()))
            unit.append(found is not None)
            violation.append(bool(found and found.violation))
            category.append(
                categories.index(found.category) if found and found.category is not None else -1
            )
    return Sentences(
        texts,
        np.asarray(reply_of),
        np.asarray(ruled),
        np.asarray(unit),
        np.asarray(violation),
        np.asarray(category),
    )


def reply_scores(data: Sentences, p_sentence: np.ndarray, replies: int) -> np.ndarray:
    """Per reply: 1.0 when a rule fires, else the judge's highest P over its sentences."""
    scores = np.zeros(replies)
    for s in range(len(data.texts)):
        r = int(data.reply[s])
        value = 1.0 if data.ruled[s] else float(p_sentence[s])
        scores[r] = max(scores[r], value)
    return scores


def operating_threshold(positive: np.ndarray, scores: np.ndarray, floor: float) -> float:
    """The lowest threshold whose precision reaches ``floor`` (rule hits score 1.0)."""
    candidates = sorted({float(s) for s in scores if 0.0 < s < 1.0}, reverse=True)
    best = 0.999
    for t in candidates:
        flagged = scores >= t
        if not flagged.any():
            continue
        precision = float(positive[flagged].mean())
        if precision >= floor:
            best = t
    return best


def _fit_heads(
    dense: np.ndarray,
    tfidf_rows: sparse.csr_matrix,
    violation: np.ndarray,
    category: np.ndarray,
    c: float,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    features = sparse.hstack([sparse.csr_matrix(dense * scale), tfidf_rows]).tocsr()
    binary = fit_logistic(features, violation.astype(int), c)
    positive = np.flatnonzero(violation)
    labels = category[positive]
    present = sorted(set(labels.tolist()))
    remap = {k: i for i, k in enumerate(present)}
    width = features.shape[1]
    n_categories = len(RuleCategory)
    coef = np.zeros((1 + n_categories, width))
    bias = np.full(1 + n_categories, -1e4)  # a category no violation showed is never chosen
    coef[0] = binary.coef[0]
    bias[0] = binary.intercept[0]
    if len(present) == 1:  # one category: it is always the one named
        bias[1 + present[0]] = 0.0
        return coef, bias
    multi = fit_logistic(features[positive], [remap[k] for k in labels], c)
    multi_coef = multi.coef if multi.coef.shape[0] > 1 else np.vstack([-multi.coef, multi.coef])
    multi_bias = (
        multi.intercept
        if multi.intercept.shape[0] > 1
        else np.concatenate([-multi.intercept, multi.intercept])
    )
    for k, i in remap.items():
        coef[1 + k] = multi_coef[i]
        bias[1 + k] = multi_bias[i]
    return coef, bias


def _artefact(
    coef: np.ndarray,
    bias: np.ndarray,
    idf: HashedTfidf,
    dimension: int,
    scale: float,
    manifest: GuardManifest,
    screen: LinearHead | None = None,
) -> GuardArtefact:
    heads = TwoViewHeads(
        idf,
        (coef[:, :dimension] * scale).astype(np.float32),
        coef[:, dimension:].astype(np.float32),
        bias.astype(np.float32),
    )
    if screen is None:
        weights, screen_bias = np.zeros(N_FEATURES, dtype=np.float32), np.zeros(1, np.float32)
    else:
        weights = screen.coef[0].astype(np.float32)
        screen_bias = screen.intercept.astype(np.float32)
    return GuardArtefact(manifest, heads, weights, screen_bias)


def train_guard_judge(
    replies: Sequence[LabelledReply],
    vectors: np.ndarray,
    guard: ComplianceGuard,
    data: Sentences,
    encoder: str,
    digest: str,
    say: Callable[[str], None] = lambda _: None,
) -> GuardArtefact:
    """Cross-validate over authors, pick the grid point and threshold, fit on everything.

    Args:
        replies: the labelled replies.
        vectors: the query embedding of every sentence in ``data``, in order.
        guard: the rules-only guard (its findings are part of every figure).
        data: the replies' sentences (``reply_sentences_with_rules``).
        encoder: the encoder's fingerprint.
        digest: the inputs digest stored in the manifest.
        say: progress lines.

    Returns:
        The trained artefact, its manifest holding the author-held-out figures.

    Raises:
        PolicyDeskError: fewer than two authors, or no violations or no compliant sentences.
    """
    started = time.perf_counter()
    authors = sorted({r.author for r in replies})
    if len(authors) < 2:
        raise PolicyDeskError("training the guard's judge needs replies from two authors or more")
    if not data.violation.any() or not (data.unit & ~data.violation).any():
        raise PolicyDeskError("training the guard's judge needs violations and compliant replies")
    counts = hashed_counts(data.texts)
    author_of = np.asarray([replies[int(r)].author for r in data.reply])
    positive = np.asarray([not r.compliant for r in replies])
    dimension = vectors.shape[1]
    scratch = GuardManifest(
        inputs_digest=digest,
        code_version=CODE_VERSION,
        dimension=dimension,
        categories=list(RuleCategory),
        threshold=0.5,
        c=1.0,
        dense_scale=1.0,
        sources={},
        sentences=1,
        cv={},
        seconds=0,
    )
    grid: dict[tuple[float, float], np.ndarray] = {}
    for c in C_GRID:
        for scale in DENSE_SCALES:
            oof = np.zeros(len(data.texts))
            for author in authors:
                train = data.unit & (author_of != author)
                held = author_of == author
                idf = HashedTfidf.fit_counts(counts[train])
                coef, bias = _fit_heads(
                    vectors[train],
                    idf.transform_counts(counts[train]),
                    data.violation[train],
                    data.category[train],
                    c,
                    scale,
                )
                artefact = _artefact(coef, bias, idf, dimension, scale, scratch)
                p, _ = head_scores(
                    artefact, [data.texts[i] for i in np.flatnonzero(held)], vectors[held]
                )
                oof[held] = p
            grid[(c, scale)] = oof
            scores = reply_scores(data, oof, len(replies))
            t = operating_threshold(positive, scores, PRECISION_FLOOR)
            recall = binary_scores(positive.tolist(), (scores >= t).tolist()).recall
            say(f"  C {c:g}, dense scale {scale:g}: recall {recall:.3f} at threshold {t:.3f}")

    def _recall(key: tuple[float, float]) -> float:
        scores = reply_scores(data, grid[key], len(replies))
        t = operating_threshold(positive, scores, PRECISION_FLOOR)
        return binary_scores(positive.tolist(), (scores >= t).tolist()).recall

    best = max(grid, key=lambda k: (_recall(k), -k[0]))
    c, scale = best
    scores = reply_scores(data, grid[best], len(replies))
    threshold = operating_threshold(positive, scores, PRECISION_FLOOR)
    cv = cv_figures(replies, data, scores, threshold, positive)
    screen_oof = np.zeros(len(data.texts))
    for author in authors:
        train = data.unit & (author_of != author)
        held = author_of == author
        idf = HashedTfidf.fit_counts(counts[train])
        head = fit_logistic(
            idf.transform_counts(counts[train]), data.violation[train].astype(int), SCREEN_C
        )
        screen_oof[held] = head.positive_probability(idf.transform_counts(counts[held]))
    screen = choose_screen(data, grid[best], screen_oof, threshold, positive)
    cv["screened_out"] = round(float(np.mean(screen_oof < screen)), 4)
    say(
        f"  n-gram screen below {screen:g} (sentences spared the encoder: {cv['screened_out']:.3f})"
    )
    idf = HashedTfidf.fit_counts(counts[data.unit])
    screen_head = fit_logistic(
        idf.transform_counts(counts[data.unit]), data.violation[data.unit].astype(int), SCREEN_C
    )
    coef, bias = _fit_heads(
        vectors[data.unit],
        idf.transform_counts(counts[data.unit]),
        data.violation[data.unit],
        data.category[data.unit],
        c,
        scale,
    )
    manifest = GuardManifest(
        inputs_digest=digest,
        encoder=encoder,
        code_version=CODE_VERSION,
        dimension=dimension,
        categories=list(RuleCategory),
        threshold=threshold,
        screen=screen,
        c=c,
        dense_scale=scale,
        sources={a: sum(r.author == a for r in replies) for a in authors},
        sentences=int(data.unit.sum()),
        cv=cv,
        seconds=round(time.perf_counter() - started, 2),
    )
    return _artefact(coef, bias, idf, dimension, scale, manifest, screen_head)


def choose_screen(
    data: Sentences,
    p_judge: np.ndarray,
    p_screen: np.ndarray,
    threshold: float,
    positive: np.ndarray,
) -> float:
    """The largest cutoff in ``SCREEN_GRID`` (below the threshold) under which clearing sentences
    without the encoder flags exactly the same violations out of fold (0.0 when every cutoff
    loses one)."""
    replies = len(positive)
    caught = (reply_scores(data, p_judge, replies) >= threshold) & positive
    for cutoff in (c for c in SCREEN_GRID if c < threshold):
        screened = np.where(p_screen < cutoff, 0.0, p_judge)
        if np.array_equal((reply_scores(data, screened, replies) >= threshold) & positive, caught):
            return cutoff
    return 0.0


def cv_figures(
    replies: Sequence[LabelledReply],
    data: Sentences,
    scores: np.ndarray,
    threshold: float,
    positive: np.ndarray,
) -> dict[str, float]:
    """Out-of-fold figures at the threshold: overall, rules alone, per author, per category."""
    flagged = scores >= threshold
    ruled = reply_scores(data, np.zeros(len(data.texts)), len(replies)) >= 1.0
    both = binary_scores(positive.tolist(), flagged.tolist())
    rules = binary_scores(positive.tolist(), ruled.tolist())
    figures = {
        "replies": float(len(replies)),
        "precision": round(both.precision, 4),
        "recall": round(both.recall, 4),
        "rules_precision": round(rules.precision, 4),
        "rules_recall": round(rules.recall, 4),
        "auc": round(roc_auc(positive, scores), 4),
        "near_miss_false_alarms": round(
            float(np.mean([flagged[i] for i, r in enumerate(replies) if r.near_miss] or [0.0])), 4
        ),
    }
    for author in sorted({r.author for r in replies}):
        rows = [i for i, r in enumerate(replies) if r.author == author]
        s = binary_scores(positive[rows].tolist(), flagged[rows].tolist())
        figures[f"author.{author}.precision"] = round(s.precision, 4)
        figures[f"author.{author}.recall"] = round(s.recall, 4)
    for category in RuleCategory:
        rows = [i for i, r in enumerate(replies) if r.categories[:1] == [category]]
        if rows:
            figures[f"category.{category.value}.recall"] = round(float(flagged[rows].mean()), 4)
    return figures


class GuardTrainer:
    """Trains the judge from the labelled reply files into a model folder."""

    def __init__(
        self,
        files: Sequence[Path],
        rules_file: Path,
        model_dir: Path,
        embedder: Embedder,
    ) -> None:
        self._files = list(files)
        self._rules = rules_file
        self._model = model_dir
        self._embedder = embedder

    def digest(self) -> str:
        """Digest of the data files, the rule file, the encoder, the code and the grid."""
        return inputs_digest(
            CODE_VERSION,
            self._embedder.fingerprint,
            [*self._files, self._rules],
            params=(C_GRID, DENSE_SCALES, PRECISION_FLOOR, SCREEN_GRID, SCREEN_C),
        )

    def is_stale(self) -> bool:
        """True when there is no readable artefact or it was trained from other inputs."""
        manifest = STORE.read_manifest(self._model)
        return manifest is None or manifest.inputs_digest != self.digest()

    def train(
        self, save: bool = True, say: Callable[[str], None] = lambda _: None
    ) -> GuardManifest:
        """Embed, cross-validate over authors, fit, and (by default) replace the artefact
        atomically.

        Raises:
            PolicyDeskError: no data files, invalid data or rule files, too few authors.
        """
        started = time.perf_counter()
        if not self._files:
            raise PolicyDeskError("no labelled reply files to train the guard's judge on")
        digest = self.digest()
        replies = load_replies(self._files)
        guard = ComplianceGuard.load(self._rules)
        data = reply_sentences_with_rules(replies, guard)
        say(f"{len(replies)} replies, {len(data.texts)} sentences; embedding")
        vectors = self._embedder.embed_queries(data.texts)
        artefact = train_guard_judge(
            replies, vectors, guard, data, self._embedder.fingerprint, digest, say
        )
        artefact.manifest.seconds = round(time.perf_counter() - started, 2)
        if save:
            artefact.save(self._model)
        return artefact.manifest


def summary(manifest: GuardManifest) -> list[str]:
    """The manifest's figures as report lines (for the command line)."""
    m = manifest.cv
    return [
        f"sources: {manifest.sources} ({manifest.sentences} training sentences)",
        f"chosen: C {manifest.c:g}, dense scale {manifest.dense_scale:g}, threshold "
        f"{manifest.threshold:.3f}",
        f"authors held out whole ({m['replies']:.0f} replies): precision {m['precision']:.3f}, "
        f"recall {m['recall']:.3f} (rules alone: precision {m['rules_precision']:.3f}, recall "
        f"{m['rules_recall']:.3f}); AUC {m['auc']:.3f}; near misses flagged "
        f"{m['near_miss_false_alarms']:.3f}; n-gram screen below {manifest.screen:g} spares the "
        f"encoder {m.get('screened_out', 0.0):.3f} of the sentences",
        "  per author: "
        + ", ".join(
            f"{k.split('.')[1]} P {m[k]:.2f} R {m[k.replace('precision', 'recall')]:.2f}"
            for k in m
            if k.startswith("author.") and k.endswith(".precision")
        ),
        "  recall per category: "
        + ", ".join(
            f"{k.split('.')[1]} {v:.2f}" for k, v in m.items() if k.startswith("category.")
        ),
        f"trained in {manifest.seconds:.1f}s",
    ]
