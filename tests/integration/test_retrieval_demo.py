"""Retrieval behaviour on the demo knowledge base with the real embedded model."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.errors import InvalidQueryError
from core.metrics import recall_at_k
from core.models import PassageKind, RetrievalMode, SearchFilters, SearchRequest, SearchResult
from core.settings import PROJECT_ROOT
from retrieval.langchain_adapter import PolicyDeskRetriever
from services.root import Services
from studio.questions import load_dev_questions

pytestmark = pytest.mark.integration


def _search(services: Services, query: str, k: int = 5, **filters: Any) -> SearchResult:
    request = SearchRequest(query=query, k=k, filters=SearchFilters(**filters))
    return services.retriever().search(request)


@pytest.mark.parametrize(
    ("query", "formal", "kind"),
    [
        ("车在地库被水泡了能赔吗", ("涉水", "水淹", "被淹"), PassageKind.CLAUSE),
        ("车被偷了怎么办", ("盗抢", "盗窃"), PassageKind.CLAUSE),
        ("跑滴滴出了事故保险赔不赔", ("营运", "使用性质"), PassageKind.CLAUSE),
    ],
)
def test_colloquial_words_find_formal_clause_language(
    demo_services: Services, query: str, formal: tuple[str, ...], kind: PassageKind
) -> None:
    result = _search(demo_services, query, k=3, kinds=[kind])
    assert any(term in result.expansions for term in formal), result.expansions
    assert result.hits, "no clause found"
    top = result.hits[0]
    assert any(term in top.text for term in formal), (top.id, top.text[:80])
    assert top.citation.startswith(top.document)


def test_hits_are_unique_passages_with_citations(demo_services: Services) -> None:
    result = _search(demo_services, "发动机进水了二次启动保险赔吗", k=10)
    ids = [hit.id for hit in result.hits]
    assert len(ids) == len(set(ids)) == 10
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    for hit in result.hits:
        assert hit.citation
        if hit.kind is PassageKind.CLAUSE:
            assert hit.article and hit.citation.endswith(hit.article)


def test_kind_product_and_date_filters(demo_services: Services) -> None:
    cases = _search(demo_services, "电池起火", k=5, kinds=[PassageKind.CASE])
    assert cases.hits and all(h.kind is PassageKind.CASE for h in cases.hits)
    assert all("示例" in h.citation for h in cases.hits)
    nev = _search(demo_services, "电池起火", k=5, products=["nev"])
    assert nev.hits and all(h.product == "nev" for h in nev.hits)
    before_any_clause = _search(
        demo_services, "电池起火", k=5, kinds=[PassageKind.CLAUSE], as_of=date(2000, 1, 1)
    )
    assert before_any_clause.hits == []


def test_modes_agree_on_an_easy_question(demo_services: Services) -> None:
    query = "交强险死亡伤残赔偿限额是多少"
    for mode in RetrievalMode:
        result = demo_services.retriever().search(SearchRequest(query=query, k=3, mode=mode))
        assert any(h.id.startswith("ctpl-") for h in result.hits), (mode, result.hits)


@pytest.mark.parametrize("query", ["", "   ", "保" * 2001])
def test_bad_queries_are_refused_clearly(demo_services: Services, query: str) -> None:
    with pytest.raises(InvalidQueryError):
        _search(demo_services, query)


def test_dev_set_recall_does_not_regress(demo_services: Services) -> None:
    """A floor well under the benchmarked figure: catches a broken pipeline, not noise."""
    questions = load_dev_questions(PROJECT_ROOT / "data" / "eval" / "dev_questions.jsonl")
    retriever = demo_services.retriever()
    rankings = [
        [h.id for h in retriever.search(SearchRequest(query=q.question, k=5)).hits]
        for q in questions
    ]
    assert recall_at_k(rankings, [set(q.gold) for q in questions], 5) >= 0.75


def test_langchain_retriever_returns_documents_with_citations(demo_services: Services) -> None:
    retriever = PolicyDeskRetriever(search=demo_services.retriever().search, k=3)
    documents = retriever.invoke("车被偷了怎么办")
    assert len(documents) == 3
    assert all(d.metadata["citation"] and d.metadata["id"] for d in documents)
