"""Trainers' utterances override the shipped splits by id (pure)."""

from __future__ import annotations

from core.models import Emotion
from sentiment.data import LabelledUtterance
from sentiment.retrain import RetrainResult, UtteranceOverride, apply_overrides
from studio.items import UtteranceContent
from studio.utterances import changed_utterances, utterance_content


def _u(uid: str, text: str, label: Emotion = Emotion.NEUTRAL) -> LabelledUtterance:
    return LabelledUtterance(id=uid, text=text, label=label)


def test_overrides_replace_by_id_move_between_splits_and_add() -> None:
    train = [_u("a", "好的"), _u("b", "怎么还不赔")]
    dev = [_u("c", "谢谢")]
    overrides = [
        UtteranceOverride(utterance=_u("b", "怎么还不赔", Emotion.ANGRY), split="train"),
        UtteranceOverride(utterance=_u("a", "好的", Emotion.POSITIVE), split="dev"),
        UtteranceOverride(utterance=_u("n", "急死了", Emotion.ANXIOUS)),
    ]
    new_train, new_dev = apply_overrides(train, dev, overrides)
    assert [(u.id, u.label) for u in new_train] == [("b", Emotion.ANGRY), ("n", Emotion.ANXIOUS)]
    assert [(u.id, u.label) for u in new_dev] == [("c", Emotion.NEUTRAL), ("a", Emotion.POSITIVE)]


def test_only_published_utterances_that_differ_from_the_files_count() -> None:
    train = [_u("a", "好的"), _u("b", "怎么还不赔")]
    dev = [_u("c", "谢谢")]
    relabelled = utterance_content(_u("b", "怎么还不赔", Emotion.ANGRY), "train")
    live = [
        ("a", utterance_content(train[0], "train")),  # unchanged
        ("b", relabelled),
        ("c", utterance_content(dev[0], "train")),  # moved to train
        # new, default split (the stored id is the item's whatever the record said)
        ("n", UtteranceContent(utterance=_u("x", "急死了", Emotion.ANXIOUS))),
    ]
    changed = changed_utterances(live, train, dev)
    assert [(o.utterance.id, o.utterance.label, o.split) for o in changed] == [
        ("b", Emotion.ANGRY, "train"),
        ("c", Emotion.NEUTRAL, "train"),
        ("n", Emotion.ANXIOUS, "train"),
    ]


def test_a_candidate_is_an_improvement_only_if_neither_metric_drops() -> None:
    def result(after_f1: float, after_acc: float) -> RetrainResult:
        return RetrainResult(
            before={"upset_f1": 0.8, "label_accuracy": 0.8},
            after={"upset_f1": after_f1, "label_accuracy": after_acc},
            train_size=10,
            dev_size=5,
            overrides=1,
            seconds=1.0,
        )

    assert result(0.8, 0.81).improved
    assert not result(0.85, 0.79).improved
