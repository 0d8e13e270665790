"""Labelled caller utterances as studio items: seeding from the shipped files, reading overrides.

An utterance item holds a ``LabelledUtterance`` (the caller's words, an ``Emotion`` label, the
situation, whether it escalates) and the split it belongs to (train or dev): ``UtteranceContent``.
Pure conversions, and the one composition a retraining needs: the shipped files plus the published
changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sentiment.data import LabelledUtterance, Split, load_labelled
from sentiment.retrain import EmotionRetrainer, RetrainResult, UtteranceOverride
from studio.items import InvalidItemError, ItemContent, ItemKind, UtteranceContent
from studio.service import SeedEntry, StudioService, seed_entries_from


def utterance_content(utterance: LabelledUtterance, split: Split) -> UtteranceContent:
    """The item content of a labelled utterance."""
    return UtteranceContent(utterance=utterance, split=split)


def utterance_from_content(item_id: str, content: ItemContent) -> UtteranceOverride:
    """The labelled utterance an item holds, with the item's id.

    Raises:
        InvalidItemError: the content is not a labelled utterance.
    """
    if not isinstance(content, UtteranceContent):
        raise InvalidItemError(
            f"item {item_id} holds {content.kind.value} content, not a labelled utterance"
        )
    return UtteranceOverride(utterance=content.for_item(item_id).utterance, split=content.split)


def seed_entries(
    train: Sequence[LabelledUtterance], dev: Sequence[LabelledUtterance], source: str
) -> list[SeedEntry]:
    """Studio seed entries for the shipped utterances, so trainers can browse and correct them.

    Raises:
        InvalidItemError: an utterance that cannot be an item (named).
    """
    splits: list[tuple[LabelledUtterance, Split]] = [
        *((u, "train") for u in train),
        *((u, "dev") for u in dev),
    ]
    return seed_entries_from(
        splits, lambda pair: pair[0].id, lambda pair: utterance_content(*pair), source
    )


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
    shipped = {u.id: UtteranceOverride(utterance=u, split="train") for u in train}
    shipped |= {u.id: UtteranceOverride(utterance=u, split="dev") for u in dev}
    published = [utterance_from_content(item_id, content) for item_id, content in live]
    return [p for p in published if shipped.get(p.utterance.id) != p]


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
