"""The handoff detector trained on a slice of our data with the real encoder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chatbot.learned import HandoffDetector
from chatbot.learned_training import DEFAULT_RULES, HandoffTrainer
from chatbot.understanding import Reason
from cli.main import main
from core.settings import PROJECT_ROOT
from ml.embedding_cache import CachedEmbedder, EmbeddingCache
from retrieval.embedder import SentenceTransformerEmbedder
from tests.conftest import SHARED_TRAINING_CACHE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRAIN = PROJECT_ROOT / "data" / "chatbot" / "routing_train.jsonl"

# written for this test; none of them is in the training data
OBVIOUS_HUMAN = {
    "马上给我转人工客服": Reason.EXPLICIT_REQUEST,
    "你们查勘员态度恶劣，我要投诉他": Reason.COMPLAINT,
    "车里着火了，我被卡住出不来": Reason.INJURY_EMERGENCY,
    "我已经请律师准备起诉你们公司了": Reason.LEGAL_THREAT,
}
OBVIOUS_BOT = ["续保在app上怎么操作", "电子保单怎么下载", "谢谢你的解答", "交强险的赔偿限额是多少"]


def _slice(folder: Path) -> tuple[Path, Path]:
    """Every third training message, and a tiny evaluation file (its held-out third unused)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = TRAIN.read_text(encoding="utf-8").splitlines()
    train = folder / "routing_train.jsonl"
    train.write_text("\n".join(lines[::3]) + "\n", encoding="utf-8")
    messages = folder / "routing_messages.jsonl"
    records = [
        ("tm-001", "理赔款一般几天能到账呢", "bot", "claim_progress", []),
        ("tm-002", "叫个客服来", "human", "to_human", ["explicit_request"]),
        ("tm-003", "held out: never read", "human", "to_human", ["explicit_request"]),
    ]
    messages.write_text(
        "".join(
            json.dumps(
                {"id": i, "text": t, "route": r, "intent": n, "reasons": s, "hard": False},
                ensure_ascii=False,
            )
            + "\n"
            for i, t, r, n, s in records
        ),
        encoding="utf-8",
    )
    return train, messages


def cached(embedder: SentenceTransformerEmbedder) -> CachedEmbedder:
    assert SHARED_TRAINING_CACHE is not None
    return CachedEmbedder(embedder, EmbeddingCache.within(SHARED_TRAINING_CACHE))


@pytest.fixture(scope="module")
def trained(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[HandoffTrainer, Path, SentenceTransformerEmbedder]:
    folder = tmp_path_factory.mktemp("learned")
    train, messages = _slice(folder / "data")
    embedder = SentenceTransformerEmbedder(model_dir)
    # training reads the vectors `make setup` cached for these messages; scoring below does not
    trainer = HandoffTrainer(
        train,
        messages,
        folder / "routing",
        embedder if SHARED_TRAINING_CACHE is None else cached(embedder),
        folds=3,
        rules_file=DEFAULT_RULES,
    )
    assert trainer.is_stale()
    trainer.train()
    return trainer, folder, embedder


def test_the_detector_separates_obvious_human_and_bot_messages(
    trained: tuple[HandoffTrainer, Path, SentenceTransformerEmbedder],
) -> None:
    _, folder, embedder = trained
    detector = HandoffDetector.load(folder / "routing")
    detector.check_encoder(embedder.fingerprint)
    texts = [*OBVIOUS_HUMAN, *OBVIOUS_BOT]
    verdicts = dict(
        zip(texts, detector.score_many(texts, embedder.embed_queries(texts)), strict=True)
    )

    lowest_human = min(verdicts[t].p_human for t in OBVIOUS_HUMAN)
    highest_bot = max(verdicts[t].p_human for t in OBVIOUS_BOT)
    assert lowest_human > highest_bot, verdicts
    for text, reason in OBVIOUS_HUMAN.items():
        assert verdicts[text].above_threshold, (text, verdicts[text])
        assert verdicts[text].reasons[0] is reason, (text, verdicts[text])
    for text in OBVIOUS_BOT:
        assert not verdicts[text].above_threshold, (text, verdicts[text])

    one = detector.score(OBVIOUS_BOT[0], embedder.embed_queries([OBVIOUS_BOT[0]])[0])
    assert one == verdicts[OBVIOUS_BOT[0]]


def test_the_manifest_records_the_data_and_the_cross_validation(
    trained: tuple[HandoffTrainer, Path, SentenceTransformerEmbedder],
) -> None:
    _, folder, embedder = trained
    manifest = HandoffDetector.load(folder / "routing").manifest
    sliced = len((folder / "data" / "routing_train.jsonl").read_text(encoding="utf-8").splitlines())
    assert manifest.sources == {
        "routing_train.jsonl": sliced,
        "routing_messages.jsonl (dev part)": 2,
    }
    assert manifest.encoder == embedder.fingerprint
    assert manifest.cv_folds == 3
    assert 0 < manifest.threshold < 1
    for key in ("human_recall", "needless_handoff_rate", "auc", "top_reason_accuracy"):
        assert 0 <= manifest.cv_metrics[key] <= 1
    assert manifest.cv_metrics["auc"] > 0.85
    # the threshold is chosen for the rules and the detector together
    m = manifest.cv_metrics
    assert 0 < m["rules_human_recall"] < m["system_human_recall"]
    assert m["system_human_recall"] >= m["human_recall"]


def test_editing_the_rules_makes_the_detector_stale(
    trained: tuple[HandoffTrainer, Path, SentenceTransformerEmbedder],
    tmp_path: Path,
) -> None:
    _, folder, embedder = trained
    rules = tmp_path / "routing_rules.yaml"
    rules.write_bytes(DEFAULT_RULES.read_bytes())
    data = folder / "data"
    trainer = HandoffTrainer(
        data / "routing_train.jsonl",
        data / "routing_messages.jsonl",
        folder / "routing",
        embedder,
        folds=3,
        rules_file=rules,
    )
    assert not trainer.is_stale()
    rules.write_text(rules.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert trainer.is_stale()


def test_if_stale_does_nothing_until_the_data_changes(
    trained: tuple[HandoffTrainer, Path, SentenceTransformerEmbedder],
) -> None:
    trainer, folder, _ = trained
    data = folder / "data"
    assert not trainer.is_stale()
    args = [
        "train", "routing",
        "--out", str(folder / "routing"),
        "--train", str(data / "routing_train.jsonl"),
        "--messages", str(data / "routing_messages.jsonl"),
        "--folds", "3",
        "--no-author-sets",
        "--if-stale",
    ]  # fmt: skip
    out = io.StringIO()
    assert main(args, out) == 0
    assert "up to date" in out.getvalue()

    # editing the held-out third of the evaluation file is not new training data
    messages = data / "routing_messages.jsonl"
    messages.write_text(
        messages.read_text(encoding="utf-8").replace("held out: never read", "改过的"),
        encoding="utf-8",
    )
    assert not trainer.is_stale()

    with (data / "routing_train.jsonl").open("a", encoding="utf-8") as handle:
        record = {
            "id": "rt-999",
            "text": "新加的一条",
            "route": "bot",
            "intent": "other",
            "reasons": [],
            "hard": False,
        }
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    assert trainer.is_stale()
