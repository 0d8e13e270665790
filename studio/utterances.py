"""Labelled caller utterances as studio items: seeding from the shipped files, reading overrides.

An utterance item keeps the caller's words in ``text`` and ``label`` (an ``Emotion``), ``split``
(train or dev), ``situation`` and ``escalation`` in ``data``. Pure conversions, and the one
composition a retraining needs: the shipped files plus the published changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.models import Emotion
from sentiment.data import LabelledUtterance, load_labelled
from sentiment.retrain import EmotionRetrainer, RetrainResult, Split, UtteranceOverride
from studio.items import ItemContent, ItemKind
from studio.service import SeedEntry, StudioService


def utterance_content(utterance: LabelledUtterance, split: Split) -> ItemContent:
    """The item content of a labelled utterance."""
    return ItemContent(
        title=utterance.text[:30],
        text=utterance.text,
        data={
            "label": utterance.label.value,
            "split": split,
            "situation": utterance.situation,
            "escalation": "true" if utterance.escalation else "false",
        },
    )


def utterance_from_content(item_id: str, content: ItemContent) -> UtteranceOverride:
    """The labelled utterance an item holds (validated when the item was saved)."""
    data = content.data
    return UtteranceOverride(
        utterance=LabelledUtterance(
            id=item_id,
            text=content.text,
            label=Emotion(data["label"]),
            situation=data.get("situation") or "general",
            escalation=data.get("escalation", "false") == "true",
        ),
        split="dev" if data.get("split") == "dev" else "train",
    )


def seed_entries(
    train: Sequence[LabelledUtterance], dev: Sequence[LabelledUtterance], source: str
) -> list[SeedEntry]:
    """Studio seed entries for the shipped utterances, so trainers can browse and correct them."""
    splits: list[tuple[Split, Sequence[LabelledUtterance]]] = [("train", train), ("dev", dev)]
    return [
        SeedEntry(
            item_id=u.id,
            kind=ItemKind.UTTERANCE,
            content=utterance_content(u, split),
            source=source,
        )
        for split, rows in splits
        for u in rows
    ]


def changed_utterances(
    live: Sequence[tuple[str, ItemContent]],
    train: Sequence[LabelledUtterance],
    dev: Sequence[LabelledUtterance],
) -> list[UtteranceOverride]:
    """Published utterances that differ from the shipped files (new, relabelled, moved, edited).

    Args:
        live: (id, published content) of every live utterance item.
        train: the shipped train split.
        dev: the shipped dev split.
    """
    shipped = {u.id: utterance_content(u, "train") for u in train}
    shipped |= {u.id: utterance_content(u, "dev") for u in dev}
    return [
        utterance_from_content(item_id, content)
        for item_id, content in live
        if shipped.get(item_id) != content
    ]


def pending_changes(studio: StudioService, data_folder: Path) -> list[UtteranceOverride]:
    """Published utterances that differ from the shipped files in ``data_folder``."""
    return _changes(studio, *_shipped(data_folder))


def propose_retraining(
    studio: StudioService, retrainer: EmotionRetrainer, data_folder: Path
) -> RetrainResult:
    """Train a candidate emotion model with every published utterance change applied.

    Raises:
        PolicyDeskError: the shipped files are unreadable, or training cannot run.
    """
    train, dev = _shipped(data_folder)
    return retrainer.propose(train, dev, _changes(studio, train, dev))


def _changes(
    studio: StudioService, train: Sequence[LabelledUtterance], dev: Sequence[LabelledUtterance]
) -> list[UtteranceOverride]:
    return changed_utterances(studio.live_contents(ItemKind.UTTERANCE), train, dev)


def _shipped(folder: Path) -> tuple[list[LabelledUtterance], list[LabelledUtterance]]:
    return load_labelled(folder / "train.jsonl"), load_labelled(folder / "dev.jsonl")
