import numpy as np
import pytest

from retrieval.bm25 import BM25Index
from retrieval.fusion import apply_priors, reciprocal_rank_fusion


def test_bm25_prefers_documents_with_rare_query_terms() -> None:
    docs = [["涉水", "发动机", "损失"], ["盗抢", "车辆"], ["发动机", "保养"], ["车辆", "保养"]]
    index = BM25Index(docs)
    scores = index.scores({"涉水": 1, "发动机": 1})
    assert int(np.argmax(scores)) == 0
    assert scores[1] == 0 and scores[3] == 0
    assert scores[2] > 0
    assert index.idf("涉水") > index.idf("发动机") > 0
    assert index.idf("不存在") == 0


def test_bm25_weights_scale_contributions() -> None:
    index = BM25Index([["a"], ["b"], ["c"]])
    full = index.scores({"a": 1.0})[0]
    half = index.scores({"a": 0.5})[0]
    assert half == pytest.approx(full / 2)


def test_bm25_length_normalisation() -> None:
    index = BM25Index([["涉水"] + ["x"] * 50, ["涉水", "y"], ["z"]])
    scores = index.scores({"涉水": 1})
    assert scores[1] > scores[0] > 0


def test_rrf_combines_rankings() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "a"]], k=60)
    assert fused[0][0] == "b"
    assert dict(fused)["a"] == pytest.approx(1 / 61 + 1 / 63)


def test_rrf_item_in_one_list_only() -> None:
    fused = dict(reciprocal_rank_fusion([["a"], ["b", "a"]], k=1))
    assert fused["b"] == pytest.approx(1 / 2)
    assert fused["a"] == pytest.approx(1 / 2 + 1 / 3)


def test_rrf_weight_count_must_match() -> None:
    with pytest.raises(ValueError, match="2 weights for 1 rankings"):
        reciprocal_rank_fusion([["a"]], weights=[1, 2])


def test_priors_rerank_and_leave_others_alone() -> None:
    fused = [("case-1", 0.030), ("cm-6", 0.029), ("faq-1", 0.010)]
    reranked = apply_priors(fused, {"case-1": 0.9})
    assert [item for item, _ in reranked] == ["cm-6", "case-1", "faq-1"]
    assert dict(reranked)["case-1"] == pytest.approx(0.027)
    assert dict(reranked)["faq-1"] == pytest.approx(0.010)
    assert apply_priors(fused, {}) == fused
