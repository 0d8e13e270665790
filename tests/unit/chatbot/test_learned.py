"""The learned handoff detector: artefact round trip, errors, threshold logic (no encoder)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from chatbot.learned import (
    HANDOFF_REASONS,
    MANIFEST,
    WEIGHTS,
    HandoffArtefact,
    HandoffDetector,
    HandoffManifest,
    verdict_from_probabilities,
)
from chatbot.learned_training import (
    SYSTEM_TARGET_RECALL,
    TrainingSet,
    _folds,
    choose_threshold,
    inputs_digest,
    load_training_set,
    needless_at_recall,
    train_handoff_detector,
)
from chatbot.routing_sets import RoutingExample
from chatbot.understanding import HUMAN_TRIGGERS, ChatIntent, Reason
from core.errors import ConfigurationError, ModelNotReadyError, PolicyDeskError
from ml.tfidf import N_FEATURES, HashedTfidf, gram_index

DIMENSION = 4
ROWS = 1 + len(HANDOFF_REASONS)


def _manifest(threshold: float = 0.5, **overrides: object) -> HandoffManifest:
    fields: dict[str, object] = {
        "code_version": "test",
        "inputs_digest": "abc",
        "encoder": "fake-v1",
        "dimension": DIMENSION,
        "reasons": list(HANDOFF_REASONS),
        "threshold": threshold,
        "c": 1.0,
        "dense_scale": 1.0,
        "sources": {"synthetic": 3},
        "cv_folds": 5,
        "cv_metrics": {"human_recall": 0.96},
        "seconds": 0.1,
    }
    fields.update(overrides)
    return HandoffManifest.model_validate(fields)


def _artefact(threshold: float = 0.5, bias: np.ndarray | None = None) -> HandoffArtefact:
    """Tiny synthetic weights: '投诉' pushes P(human) and the complaint head up."""
    rng = np.random.default_rng(7)
    sparse_w = np.zeros((ROWS, N_FEATURES), dtype=np.float32)
    complaint_row = 1 + HANDOFF_REASONS.index(Reason.COMPLAINT)
    for gram in ("投诉", "投"):
        sparse_w[0, gram_index(gram)] = 6.0
        sparse_w[complaint_row, gram_index(gram)] = 6.0
    return HandoffArtefact(
        manifest=_manifest(threshold),
        tfidf=HashedTfidf.fit(["我要投诉", "怎么续保", "你好"]),
        head_dense=rng.normal(size=(ROWS, DIMENSION)).astype(np.float32) * 0.1,
        head_sparse=sparse_w,
        head_bias=(np.full(ROWS, -2.0, dtype=np.float32) if bias is None else bias),
    )


def _vector() -> np.ndarray:
    return np.full(DIMENSION, 0.5, dtype=np.float32)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    artefact = _artefact()
    folder = tmp_path / "routing"
    artefact.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, WEIGHTS]

    loaded = HandoffArtefact.load(folder)
    assert loaded.manifest == artefact.manifest
    assert np.array_equal(loaded.head_dense, artefact.head_dense)
    assert np.array_equal(loaded.head_sparse, artefact.head_sparse)
    assert np.array_equal(loaded.head_bias, artefact.head_bias)
    assert np.array_equal(loaded.tfidf.idf, artefact.tfidf.idf)

    texts = ["我要投诉", "怎么续保"]
    vectors = np.stack([_vector(), _vector()])
    before = HandoffDetector(artefact).score_many(texts, vectors)
    after = HandoffDetector.load(folder).score_many(texts, vectors)
    assert before == after
    assert after[0].above_threshold and after[0].reasons[0] is Reason.COMPLAINT
    assert not after[1].above_threshold and after[1].reasons == []


def test_saving_again_replaces_the_artefact_and_leaves_no_staging(tmp_path: Path) -> None:
    folder = tmp_path / "routing"
    _artefact(threshold=0.5).save(folder)
    _artefact(threshold=0.7).save(folder)
    assert HandoffArtefact.load(folder).manifest.threshold == 0.7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["routing"]


def test_missing_artefact_names_the_path_and_the_command(tmp_path: Path) -> None:
    folder = tmp_path / "nothing"
    with pytest.raises(ModelNotReadyError, match="train routing") as caught:
        HandoffDetector.load(folder)
    assert str(folder) in str(caught.value)
    assert caught.value.path == folder


def test_manifest_without_weights_is_not_ready(tmp_path: Path) -> None:
    folder = tmp_path / "routing"
    _artefact().save(folder)
    (folder / WEIGHTS).unlink()
    with pytest.raises(ModelNotReadyError):
        HandoffArtefact.load(folder)


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"format": 1}), ""],
    ids=["bad json", "missing fields", "empty"],
)
def test_a_corrupted_manifest_is_a_clear_error(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "routing"
    _artefact().save(folder)
    (folder / MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="unreadable routing manifest") as caught:
        HandoffArtefact.load(folder)
    assert not isinstance(caught.value, ModelNotReadyError)
    assert str(folder / MANIFEST) in str(caught.value)
    assert "policydesk train routing" in str(caught.value)


def test_a_manifest_with_an_impossible_threshold_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "routing"
    _artefact().save(folder)
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    data["threshold"] = 1.5
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="threshold"):
        HandoffArtefact.load(folder)


def test_a_manifest_naming_a_non_trigger_reason_is_rejected() -> None:
    with pytest.raises(ValueError, match="account_specific"):
        _manifest(reasons=[Reason.COMPLAINT, Reason.ACCOUNT_SPECIFIC])


def test_another_format_asks_for_retraining(tmp_path: Path) -> None:
    folder = tmp_path / "routing"
    _artefact().save(folder)
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    data["format"] = 99
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="format 99"):
        HandoffArtefact.load(folder)


def test_corrupted_or_mis_shaped_weights_are_clear_errors(tmp_path: Path) -> None:
    folder = tmp_path / "routing"
    _artefact().save(folder)
    (folder / WEIGHTS).write_bytes(b"not an npz")
    with pytest.raises(PolicyDeskError, match="unreadable routing weights"):
        HandoffArtefact.load(folder)

    artefact = _artefact()
    np.savez_compressed(
        folder / WEIGHTS,
        idf=artefact.tfidf.idf,
        head_dense=np.zeros((ROWS, DIMENSION + 1), dtype=np.float32),
        head_sparse=artefact.head_sparse,
        head_bias=artefact.head_bias,
    )
    with pytest.raises(PolicyDeskError, match="head_dense has shape") as caught:
        HandoffArtefact.load(folder)
    assert str(folder) in str(caught.value)


@pytest.mark.parametrize(("nudge", "hands_over"), [(1e-3, True), (-1e-3, False)])
def test_the_detector_hands_over_from_the_threshold_up(nudge: float, hands_over: bool) -> None:
    threshold = 0.7
    bias = np.full(ROWS, -5.0, dtype=np.float32)
    bias[0] = math.log(threshold / (1 - threshold)) + nudge
    artefact = HandoffArtefact(
        manifest=_manifest(threshold),
        tfidf=HashedTfidf.fit(["你好"]),
        head_dense=np.zeros((ROWS, DIMENSION), dtype=np.float32),
        head_sparse=np.zeros((ROWS, N_FEATURES), dtype=np.float32),
        head_bias=bias,
    )
    verdict = HandoffDetector(artefact).score("随便说点什么", _vector())
    assert verdict.p_human == pytest.approx(threshold, abs=1e-3)
    assert verdict.above_threshold is hands_over
    assert (verdict.reasons != []) is hands_over


def test_the_verdict_names_reasons_only_above_the_threshold() -> None:
    reasons = list(HANDOFF_REASONS)
    scores = [0.0] * len(reasons)
    scores[reasons.index(Reason.DISPUTE)] = 0.9
    scores[reasons.index(Reason.UPSET)] = 0.6
    scores[reasons.index(Reason.COMPLAINT)] = 0.3

    above = verdict_from_probabilities(0.8, scores, reasons, threshold=0.5)
    assert above.above_threshold
    assert above.reasons == [Reason.DISPUTE, Reason.UPSET]  # ranked, 0.3 is below 0.5
    assert above.reason_scores[Reason.COMPLAINT] == 0.3

    at = verdict_from_probabilities(0.5, scores, reasons, threshold=0.5)
    assert at.above_threshold

    below = verdict_from_probabilities(0.49, scores, reasons, threshold=0.5)
    assert not below.above_threshold
    assert below.reasons == []
    assert below.reason_scores[Reason.DISPUTE] == 0.9


def test_a_handoff_always_names_at_least_its_most_likely_reason() -> None:
    reasons = list(HANDOFF_REASONS)
    scores = [0.1] * len(reasons)
    scores[reasons.index(Reason.NEEDS_DECISION)] = 0.4
    verdict = verdict_from_probabilities(0.9, scores, reasons, threshold=0.5)
    assert verdict.reasons == [Reason.NEEDS_DECISION]


def test_reason_scores_must_match_the_reasons() -> None:
    with pytest.raises(ValueError, match="2 reason scores for 7 reasons"):
        verdict_from_probabilities(0.9, [0.1, 0.2], list(HANDOFF_REASONS), threshold=0.5)


def test_vectors_from_another_encoder_are_refused() -> None:
    detector = HandoffDetector(_artefact())
    with pytest.raises(ConfigurationError, match="expected width 4"):
        detector.score("我要投诉", np.zeros(DIMENSION + 2, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="retrain"):
        detector.check_encoder("another-encoder")
    detector.check_encoder("fake-v1")


def test_scoring_nothing_returns_nothing() -> None:
    assert HandoffDetector(_artefact()).score_many([], np.zeros((0, DIMENSION))) == []


def test_the_detector_scores_exactly_the_human_triggers() -> None:
    assert set(HANDOFF_REASONS) == HUMAN_TRIGGERS
    assert list(HANDOFF_REASONS) == [r for r in Reason if r in HUMAN_TRIGGERS]


def test_separable_scores_put_the_threshold_between_both_targets() -> None:
    human = [True] * 20 + [False] * 20
    p = [0.9 - 0.01 * i for i in range(20)] + [0.1 + 0.01 * i for i in range(20)]
    choice = choose_threshold(p, human, target_recall=0.95, max_needless=0.10)
    assert choice.targets_met
    assert choice.recall >= 0.95 and choice.needless_rate <= 0.10
    assert 0.29 < choice.threshold <= 0.72  # between the top bot score and the 19th human


def test_when_both_targets_cannot_hold_recall_wins() -> None:
    human = [True] * 10 + [False] * 10
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2] + [0.85, 0.75] + [0.1] * 8
    choice = choose_threshold(p, human, target_recall=0.9, max_needless=0.0)
    assert not choice.targets_met
    assert choice.threshold == pytest.approx(0.3)  # the highest threshold with 9 of 10 humans
    assert choice.recall == pytest.approx(0.9)
    assert choice.needless_rate == pytest.approx(0.2)
    assert needless_at_recall(p, human, target_recall=0.9) == pytest.approx(0.2)


def test_a_threshold_needs_both_routes_and_matching_lengths() -> None:
    with pytest.raises(ValueError, match="both human and bot"):
        choose_threshold([0.4, 0.6], [True, True])
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        choose_threshold([0.1, 0.2, 0.3], [True, False])


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def _record(id_: str, text: str, route: str = "bot") -> dict[str, object]:
    human = route == "human"
    return {
        "id": id_,
        "text": text,
        "route": route,
        "intent": "to_human" if human else "other",
        "reasons": ["explicit_request"] if human else [],
        "hard": False,
    }


def test_training_data_is_ours_plus_the_dev_part_only(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_record("rt-001", "你好"), _record("rt-002", "谢谢")])
    messages = _write(
        tmp_path / "messages.jsonl",
        [
            _record("rm-001", "你 好"),  # the same text as rt-001: kept once
            _record("rm-002", "在吗"),
            _record("rm-003", "held out, never used", "human"),
        ],
    )
    data = load_training_set(train, messages)
    assert [e.id for e in data.examples] == ["rt-001", "rt-002", "rm-002"]
    assert data.sources == {
        "train.jsonl": 2,
        "messages.jsonl (dev part)": 2,
        "duplicates dropped": 1,
    }


def test_one_text_with_two_routes_is_refused(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [_record("rt-001", "人工")])
    messages = _write(tmp_path / "messages.jsonl", [_record("rm-001", "人工", "human")])
    with pytest.raises(PolicyDeskError, match="rt-001 and rm-001"):
        load_training_set(train, messages)


def test_author_sets_join_with_their_names_and_another_authors_reading_never_wins(
    tmp_path: Path,
) -> None:
    train = _write(tmp_path / "train.jsonl", [_record("rt-001", "人工", "human")])
    messages = _write(tmp_path / "messages.jsonl", [_record("rm-001", "你好")])
    other = _write(
        tmp_path / "other.jsonl",
        [
            _record("ro-001", "人 工"),  # the same text read as bot: our label stands
            _record("ro-002", "你好"),  # the same text and route: kept once
            _record("ro-003", "车损险赔什么"),
        ],
    )
    data = load_training_set(train, messages, [other])
    assert [e.id for e in data.examples] == ["rt-001", "rm-001", "ro-003"]
    assert data.authors == [None, None, "other.jsonl"]
    assert data.examples[0].route == "human"
    assert data.sources == {
        "train.jsonl": 1,
        "messages.jsonl (dev part)": 1,
        "other.jsonl (author set)": 3,
        "duplicates dropped": 1,
        "label conflicts dropped": 1,
    }


def _synthetic(n: int = 30) -> tuple[list[RoutingExample], np.ndarray]:
    """n human and n bot messages; the last 6 human ones look like bot messages."""
    rng = np.random.default_rng(7)
    examples: list[RoutingExample] = []
    rows: list[np.ndarray] = []
    for i in range(2 * n):
        human = i < n
        reason = HANDOFF_REASONS[i % len(HANDOFF_REASONS)]
        examples.append(
            RoutingExample(
                id=f"sy-{i + 1:03d}",
                text=f"消息{'甲' if human else '乙'}{i}号",
                route="human" if human else "bot",
                intent=ChatIntent.OTHER,
                reasons=[reason] if human else [],
            )
        )
        centre = 1.0 if human and i < n - 6 else -1.0
        rows.append(centre + rng.normal(0, 0.6, DIMENSION))
    return examples, np.vstack(rows)


@pytest.mark.slow  # about 100 small fits
def test_rules_covering_the_hard_messages_let_the_threshold_rise() -> None:
    examples, vectors = _synthetic()
    data = TrainingSet(examples, {"synthetic": len(examples)})
    alone = train_handoff_detector(data, vectors, "enc", "d", folds=3)
    covered = [e.route == "human" and e.number > 24 for e in examples]  # the bot-like six
    with_rules = train_handoff_detector(data, vectors, "enc", "d", 3, covered)
    m = with_rules.manifest.cv_metrics
    assert with_rules.manifest.threshold > alone.manifest.threshold
    assert m["rules_human_recall"] == pytest.approx(0.2)
    assert m["system_human_recall"] >= SYSTEM_TARGET_RECALL
    assert m["system_human_recall"] >= m["human_recall"]


def test_rule_verdicts_must_match_the_messages() -> None:
    examples, vectors = _synthetic()
    data = TrainingSet(examples, {"synthetic": len(examples)})
    with pytest.raises(PolicyDeskError, match="3 rule verdicts for 60 messages"):
        train_handoff_detector(data, vectors, "enc", "d", 3, [True, False, True])


def test_each_author_set_is_held_out_whole_and_our_messages_in_folds() -> None:
    human = np.array([True, False] * 10)
    authors: list[str | None] = [None] * 12 + ["a.jsonl"] * 4 + ["b.jsonl"] * 4
    split = _folds(human, authors, 3)
    assert len(split) == 2 + 3
    held_once = np.concatenate([held for _, held in split])
    assert sorted(held_once.tolist()) == list(range(20))  # every message scored exactly once
    assert split[0][1].tolist() == [12, 13, 14, 15] and split[1][1].tolist() == [16, 17, 18, 19]
    for fit, held in split:
        assert not set(fit) & set(held)
        assert set(fit) | set(held) == set(range(20))
    for _, held in split[2:]:
        assert max(held) < 12  # the folds cover our own messages only


@pytest.mark.slow  # about 100 small fits
def test_the_threshold_is_chosen_on_the_author_sets() -> None:
    examples, vectors = _synthetic()
    authors: list[str | None] = ["other.jsonl" if e.number % 5 == 0 else None for e in examples]
    data = TrainingSet(examples, {"synthetic": len(examples)}, authors)
    covered = [e.route == "human" and e.number > 24 for e in examples]
    artefact = train_handoff_detector(data, vectors, "enc", "d", 3, covered)
    m = artefact.manifest.cv_metrics
    assert m["authors.messages"] == 12
    assert m["author.other.jsonl.messages"] == 12
    assert m["authors.human_recall"] >= SYSTEM_TARGET_RECALL
    assert m["authors.rules_human_recall"] <= m["authors.human_recall"]


def test_author_labels_must_match_the_messages() -> None:
    examples, vectors = _synthetic()
    data = TrainingSet(examples, {"synthetic": len(examples)}, ["x.jsonl"])
    with pytest.raises(PolicyDeskError, match="1 authors for 60 messages"):
        train_handoff_detector(data, vectors, "enc", "d", 3)


def test_the_inputs_digest_follows_the_rules_and_the_author_sets(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("{}\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("topics: []\n", encoding="utf-8")
    authors = tmp_path / "authors.jsonl"
    authors.write_text("{}\n", encoding="utf-8")

    def digest() -> str:
        return inputs_digest(train, [], "enc", 5, rules, [authors])

    first = digest()
    assert digest() == first
    assert inputs_digest(train, [], "enc", 5, rules) != first  # no author sets
    authors.write_text('{"edited": true}\n', encoding="utf-8")
    second = digest()
    assert second != first
    rules.write_text("topics: []\ntriggers: []\n", encoding="utf-8")
    assert digest() != second


@pytest.mark.slow  # about 100 small fits
def test_training_overrules_rules_that_fire_on_calm_messages() -> None:
    examples, vectors = _synthetic()
    authors: list[str | None] = ["other.jsonl" if e.number % 5 == 0 else None for e in examples]
    data = TrainingSet(examples, {"synthetic": len(examples)}, authors)
    # the rules hand over every bot message too: only overruling them can avoid that
    covered = [True] * len(examples)
    artefact = train_handoff_detector(data, vectors, "enc", "d", 3, covered, [False] * 60)
    manifest = artefact.manifest
    assert manifest.rule_veto > 0
    assert manifest.cv_metrics["veto=0.needless_at_target_recall"] == pytest.approx(1.0)
    assert manifest.cv_metrics["authors.needless_handoff_rate"] < 1.0
    # firm rules (an injury in the words) are never overruled
    firm = train_handoff_detector(data, vectors, "enc", "d", 3, covered, [True] * 60)
    assert firm.manifest.cv_metrics["authors.needless_handoff_rate"] == pytest.approx(1.0)


def test_a_manifest_from_before_the_veto_never_overrules() -> None:
    raw = _manifest().model_dump()
    raw.pop("rule_veto")
    assert HandoffManifest.model_validate(raw).rule_veto == 0.0
