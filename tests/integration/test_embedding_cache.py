"""The real encoder gives a text the same bits whatever it is embedded with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.embedder import SentenceTransformerEmbedder

pytestmark = pytest.mark.integration


MIXED = [
    "转人工",  # short texts are the ones a batch of one used to give other bits
    "你好",
    "我要投诉你们的查勘员",
    "我要投诉你们的查勘员",  # a repeat
    "车险理赔一般几天能到账？",
    "保险人依照本保险合同的约定，负责赔偿被保险人因暴雨、洪水导致的损失。",
]


@pytest.mark.slow
def test_the_real_encoder_gives_the_same_bits_alone_and_batched(model_dir: Path) -> None:
    plain = SentenceTransformerEmbedder(model_dir)
    together = plain.embed_queries(MIXED)
    alone = np.vstack([plain.embed_queries([t]) for t in MIXED])
    assert together.dtype == np.float32 and together.tobytes() == alone.tobytes()
