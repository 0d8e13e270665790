from core.models import Passage, PassageKind
from knowledge.chunking import chunk_passage, split_sentences


def _passage(text: str) -> Passage:
    return Passage(
        id="d-9", kind=PassageKind.CLAUSE, title="第九条", text=text, document="示例条款"
    )


def test_short_passage_is_one_chunk_with_heading() -> None:
    chunks = chunk_passage(_passage("保险人不负责赔偿。"), size=100, overlap=20)
    assert len(chunks) == 1
    assert chunks[0].id == "d-9#0"
    assert chunks[0].passage_id == "d-9"
    assert chunks[0].text == "示例条款 第九条\n保险人不负责赔偿。"


def test_long_passage_overlaps_and_keeps_every_sentence() -> None:
    sentences = [f"第{i}句内容比较长一些用于测试切分。" for i in range(30)]
    chunks = chunk_passage(_passage("".join(sentences)), size=100, overlap=30)
    assert len(chunks) > 3
    assert all(c.passage_id == "d-9" and c.text.startswith("示例条款 第九条\n") for c in chunks)
    *windows, whole = [c.text.split("\n", 1)[1] for c in chunks]
    assert whole == "".join(sentences)  # the passage as a whole gets a vector too
    bodies = windows
    assert all(len(b) <= 100 + 30 for b in bodies)
    for sentence in sentences:
        assert any(sentence in b for b in bodies)
    # consecutive chunks share their boundary sentence
    assert bodies[0][-17:] in bodies[1]
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_overlong_sentence_is_cut_hard() -> None:
    chunks = chunk_passage(_passage("甲" * 250), size=100, overlap=10)
    *bodies, whole = [c.text.split("\n", 1)[1] for c in chunks]
    assert all(len(b) <= 110 for b in bodies)
    assert sum(len(b) for b in bodies) >= 250
    assert whole == "甲" * 250


def test_split_sentences_keeps_punctuation() -> None:
    assert split_sentences("一。二！三？四；五\n六") == [
        "一。",
        "二！",
        "三？",
        "四；",
        "五\n",
        "六",
    ]
