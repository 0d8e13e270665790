"""Deterministic test doubles; a fake embedder is for tests about something besides embeddings."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence

import numpy as np

from assist.models import AgentAssist, Need
from conversation.models import Speaker, Turn
from prompts.guard import ComplianceGuard
from retrieval.embedder import Embedder
from sentiment.mood import CallMood


class FakeEmbedder:
    """Hashes character bigrams into a fixed-size unit vector: similar texts get similar vectors."""

    def __init__(self, dimension: int = 64, fingerprint: str = "fake-v1") -> None:
        self.dimension = dimension
        self._fingerprint = fingerprint
        self.embedded: list[str] = []  # every passage text embedded, to assert incremental ingest
        self.fail_after: int | None = None  # raise after embedding this many passages

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def warm_up(self) -> None:
        """Nothing to load."""

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for i in range(max(len(text) - 1, 1)):
            gram = text[i : i + 2]
            h = int(hashlib.md5(gram.encode("utf-8")).hexdigest()[:8], 16)
            vector[h % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.embedded) + len(texts) > self.fail_after:
            raise RuntimeError("simulated embedding failure")
        self.embedded.extend(texts)
        return np.stack([self._vector(t) for t in texts])


class QueryRecordingEmbedder(FakeEmbedder):
    """The fake encoder, recording every query it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return super().embed_queries(texts)


class GatedEmbedder:
    """Wraps an encoder: records each call's texts, holds calls while ``gate`` is clear (to line
    up concurrent callers behind a busy encoder) and raises ``error`` when one is set."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[tuple[str, list[str]]] = []  # (query | passage, texts) per call
        self.entered = threading.Event()  # set when a call starts
        self.gate = threading.Event()
        self.gate.set()  # open: calls go straight through
        self.error: Exception | None = None

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def warm_up(self) -> None:
        self.inner.warm_up()

    def _call(
        self, kind: str, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]
    ) -> np.ndarray:
        self.calls.append((kind, list(texts)))
        self.entered.set()
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        if self.error is not None:
            raise self.error
        return embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._call("query", texts, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._call("passage", texts, self.inner.embed_passages)


def metric_value(exposition: bytes | str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus text exposition; 0 when the series is absent.

    Args:
        exposition: the ``/metrics`` body.
        name: the sample's full name (``policydesk_overload_rejections_total``).
        labels: the sample's labels, all of them, in any order.
    """
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    wanted = dict(labels)
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == wanted:
            return float(match.group(3))
    return 0.0


# A small clause document for tests about ingest, the studio and pages (not about retrieval
# quality); tests compose what they need from these parts.
FRONT_MATTER = """---
doc_id: t
document: 测试条款
product: commercial
effective_date: 2020-09-19
---
"""
FLOOD_ARTICLE = """### 第一条
因暴雨、洪水导致被保险机动车涉水或被水淹造成的损失，保险人负责赔偿。
"""
THEFT_ARTICLE = """### 第二条
全车被盗窃、抢劫、抢夺，经公安机关立案侦查满六十天未查明下落的，保险人负责赔偿。
"""
TEST_CLAUSES = FRONT_MATTER + FLOOD_ARTICLE + THEFT_ARTICLE
# an imported clause document (plain 第N条 lines, no Markdown headings)
IMPORTED_BASE = """---
doc_id: base
document: 基础条款
product: commercial
---
第一条 因暴雨、洪水导致被保险机动车被水淹造成的损失，保险人负责赔偿。

第二条 全车被盗窃，经公安机关立案满六十天未查明下落的，保险人负责赔偿。
"""


class GuardOnlySession:
    """An assist session that only runs a guard on agent turns (no model, no retrieval): for
    tests of what the guard makes of an agent's words at the desk."""

    def __init__(self, guard: ComplianceGuard) -> None:
        self._guard = guard
        self.turns: list[Turn] = []

    def resume(self, turns: Sequence[Turn], history: Sequence[AgentAssist]) -> None:
        self.turns = list(turns)

    def correct_topic(self, facet: object, name: object, refresh: bool = True) -> None:
        return None

    def add(self, turn: Turn) -> AgentAssist:
        self.turns.append(turn)
        report = self._guard.check(turn.text) if turn.speaker is Speaker.AGENT else None
        return AgentAssist(
            turn=len(self.turns) - 1,
            speaker=turn.speaker,
            mood=CallMood(),
            intent=Need(),
            compliance=report,
        )
