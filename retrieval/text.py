"""Chinese tokenisation for lexical retrieval: jieba with an insurance user dictionary.

jieba is imported only here. A private ``jieba.Tokenizer`` keeps our dictionary out of the
global one other code may use.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_KEEP = re.compile(r"[\w\u4e00-\u9fff]")

_STOPWORD_TEXT = (
    "的 了 吗 呢 吧 啊 呀 么 嘛 哦 噢 哈 是 在 有 我 你 他 "
    "她 它 我们 你们 他们 这 那 这个 那个 就 都 也 还 又 和 与 "
    "及 或 或者 及其 以及 被 把 给 让 对 向 从 自 于 为 之 其 "
    "该 所 等 个 些 能 会 可 可以 要 想 请 请问 问 问下 问一下 "
    "一下 什么 怎么 怎么办 怎样 如何 多少 哪些 哪个 为什么 是否 "
    "是不是 能不能 可不可以 没有 不 没 吗? 呢? 啥 咋 嗯 哎 唉 "
    "喂 您 您好 你好 谢谢 一 下 上 中 后 前 时 时候 如果 因为 "
    "所以 但 但是 "
)
DEFAULT_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class InsuranceTokenizer:
    """Tokens for BM25: jieba search-mode words, lower-cased, without stopwords and punctuation."""

    def __init__(
        self, user_dict: Path | None = None, stopwords: frozenset[str] = DEFAULT_STOPWORDS
    ) -> None:
        self._user_dict = user_dict
        self._stopwords = stopwords
        self._jieba: Any = None
        self._lock = threading.Lock()

    def _tokenizer(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import logging

                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    if self._user_dict is not None and self._user_dict.exists():
                        tokenizer.load_userdict(str(self._user_dict))
                    self._jieba = tokenizer
        return self._jieba

    def words(self, text: str) -> list[str]:
        """Precise-mode words (no filtering), for display and phrase matching."""
        return [w for w in self._tokenizer().lcut(text) if w.strip()]

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens plus character bigrams of Chinese runs, filtered for BM25.

        Search mode adds the dictionary words inside long words (车损险 -> 车损, 车损险);
        bigrams make recall robust to words the dictionary does not know.
        """
        out: list[str] = []
        for word in self._tokenizer().lcut_for_search(text.lower()):
            word = word.strip()
            if word and word not in self._stopwords and _KEEP.search(word):
                out.append(word)
        for run in _CJK.findall(text):
            out.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
        return out
