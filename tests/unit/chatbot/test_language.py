"""Chinese (in characters or pinyin) or a foreign language: the bot answers only Chinese."""

from __future__ import annotations

import pytest

from chatbot.language import is_foreign, is_pinyin_word


@pytest.mark.parametrize(
    "text",
    [
        "dai jia zen me yue",
        "wo de che bei zhuang le",
        "daijia",
        "车被撞了 help",
        "ok",
        "P2026000010 1234",
        "？？",
    ],
)
def test_chinese_pinyin_and_numbers_are_not_foreign(text: str) -> None:
    assert not is_foreign(text)


@pytest.mark.parametrize(
    "text", ["someone is bleeding", "I want to complain", "hello", "Can I get a refund?", "thx"]
)
def test_english_is_foreign(text: str) -> None:
    assert is_foreign(text)


def test_pinyin_words_split_into_syllables() -> None:
    assert is_pinyin_word("zhuangle") and is_pinyin_word("xiang")
    assert not is_pinyin_word("bleeding") and not is_pinyin_word("refund")
