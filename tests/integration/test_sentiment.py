"""Caller emotion with the real encoder and the trained artefact; the CLI contract."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cli.main import main
from core.errors import InvalidQueryError
from core.models import Emotion
from services.root import Services

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "text",
    [
        "我的车被撞了，想问下怎么报案",
        "请问拒赔的话有什么依据",
        "车被水泡了需要准备哪些材料",
        "投诉电话是多少",
    ],
)
def test_talking_about_a_loss_is_not_upset(emotion_services: Services, text: str) -> None:
    result = emotion_services.emotion.classify(text)
    assert not result.upset, result
    assert result.intensity < 0.5


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("你们这什么破公司，再不赔我就去12378投诉你们", Emotion.ANGRY),
        ("车在冒烟了怎么办啊我好怕，孩子还在车上", Emotion.ANXIOUS),
        ("等了一个月了还没到账，你们效率也太低了吧", Emotion.DISSATISFIED),
        ("太好了，问题解决了，谢谢你", Emotion.POSITIVE),
    ],
)
def test_clear_emotions(emotion_services: Services, text: str, label: Emotion) -> None:
    result = emotion_services.emotion.classify(text)
    assert result.label is label, result
    assert result.upset == label.is_negative


@pytest.mark.parametrize(
    "text",
    [
        "人流了好多血怎么办啊快点",  # the walkthrough's caller (also in the training split)
        # not in the training data: panic with commands and exclamations is still fear
        "快来人啊，他倒在地上不动了",
        "车撞了，我老婆头上全是血，你们快点",
        "救命啊有人晕倒了快点叫救护车",
        "怎么办怎么办，孩子在后座一直哭，车门打不开",
    ],
)
def test_fear_and_panic_are_anxious_not_angry(emotion_services: Services, text: str) -> None:
    result = emotion_services.emotion.classify(text)
    assert result.label is Emotion.ANXIOUS, result
    assert result.upset


def test_impatience_aimed_at_the_insurer_is_still_angry(emotion_services: Services) -> None:
    result = emotion_services.emotion.classify("赶紧的好吗，一个电话转了三个人，你们到底有没有人管")
    assert result.label is Emotion.ANGRY, result


def test_escalation_cues_raise_intensity_and_are_reported(emotion_services: Services) -> None:
    classifier = emotion_services.emotion
    plain = classifier.classify("你们这个处理结果我不满意")
    escalated = classifier.classify("你们这个处理结果我不满意，我要去12378投诉，还要找媒体曝光")
    assert escalated.upset and escalated.intensity > plain.intensity
    assert any("12378" in cue for cue in escalated.cues)
    assert escalated.escalation


def test_reused_vector_gives_the_same_result(emotion_services: Services) -> None:
    text = "都第三次打电话了，到底什么时候处理"
    vector = emotion_services.embedder.embed_queries([text])[0]
    assert emotion_services.emotion.classify(text, vector=vector) == (
        emotion_services.emotion.classify(text)
    )


def test_concurrent_classification_is_consistent(emotion_services: Services) -> None:
    texts = ["车被偷了怎么办", "你们太过分了", "谢谢", "我好害怕", "理赔进度怎么查"] * 4
    expected = [emotion_services.emotion.classify(t).label for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: emotion_services.emotion.classify(t).label, texts))
    assert got == expected


@pytest.mark.parametrize("text", ["", "   ", "气" * 2001])
def test_bad_text_is_refused(emotion_services: Services, text: str) -> None:
    with pytest.raises(InvalidQueryError):
        emotion_services.emotion.classify(text)


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_cli_json_contract(emotion_services: Services) -> None:
    status, output = _run("sentiment", "--json", "你们这帮骗子，我要起诉你们")
    assert status == 0
    payload = json.loads(output)
    assert set(payload) == {"text", "label", "upset", "intensity", "cues"}
    assert payload["label"] == "angry" and payload["upset"] is True
    assert 0 <= payload["intensity"] <= 1 and payload["cues"]


def test_cli_batch_keeps_order_and_validates_first(
    emotion_services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["谢谢你", "我要投诉你们", "怎么报案"]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    status, output = _run("sentiment", "--json", "--batch", str(batch))
    assert status == 0
    assert [json.loads(line)["text"] for line in output.splitlines()] == texts

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "好"}) + "\n" + json.dumps({"text": "气" * 2001}) + "\n")
    status, output = _run("sentiment", "--json", "--batch", str(bad))
    assert status == 1 and output == ""
    assert "2000" in capsys.readouterr().err


def test_cli_empty_text_is_a_clear_error(
    emotion_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = _run("sentiment", "")
    assert status == 1
    assert "empty" in capsys.readouterr().err
