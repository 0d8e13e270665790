"""Whether a chat message is written in a language the bot does not answer (pure).

The bot answers Chinese, including Chinese typed as pinyin without a Chinese keyboard ("dai jia
zen me yue"). A message with no Chinese character whose words are mostly not pinyin ("someone is
bleeding", "I want to complain") is foreign: its human triggers still count (the rule file has
English patterns for complaints, legal threats, injuries and requests for a person), and anything
else goes to a person with an honest note that the service answers in Chinese.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z]+")
_INITIAL = "(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])"
_FINAL = (
    "(?:iang|iong|uang|ueng|ang|eng|ing|ong|uai|uan|ian|iao|van|uo|ua|ui|un|ue|ve|ai|ei|ao|ou|"
    "an|en|in|ia|ie|iu|er|a|o|e|i|u|v)"
)
# a syllable with an initial, or one of the finals that stand alone in pinyin (a, o, e, ai, an…)
_SYLLABLE = f"(?:{_INITIAL}{_FINAL}|a|o|e|ai|ei|ao|ou|an|en|ang|eng|er)"
_PINYIN_WORD = re.compile(f"^(?:{_SYLLABLE})+$")
MIN_LETTERS = 3
PINYIN_SHARE = 0.8


def is_pinyin_word(word: str) -> bool:
    """True when a lower-case word splits into pinyin syllables ("daijia", "zen")."""
    return bool(_PINYIN_WORD.match(word))


def is_foreign(text: str) -> bool:
    """True for a message with no Chinese character, some letters, and words mostly not pinyin.

    Args:
        text: the customer's message.

    Returns:
        Whether the bot should say it answers in Chinese and hand over.
    """
    if _CJK.search(text):
        return False
    words = _WORD.findall(text.lower())
    if sum(len(w) for w in words) < MIN_LETTERS:
        return False  # digits, a policy number, "ok": not a language question
    pinyin = sum(1 for w in words if is_pinyin_word(w))
    return pinyin < PINYIN_SHARE * len(words)
