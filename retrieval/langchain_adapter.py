"""PolicyDesk retrieval as a langchain retriever, for chains and agents built on langchain."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from core.models import SearchFilters, SearchRequest, SearchResult


class PolicyDeskRetriever(BaseRetriever):
    """Wraps a search function (e.g. ``HybridRetriever.search``) as a langchain ``BaseRetriever``.

    Each hit becomes a ``Document`` whose metadata carries the passage id, kind, citation, title
    and score, so a chain can cite exactly what it used.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: Callable[[SearchRequest], SearchResult]
    k: int = 5
    filters: SearchFilters = SearchFilters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.search(SearchRequest(query=query, k=self.k, filters=self.filters))
        return [
            Document(
                page_content=hit.text,
                metadata={
                    "id": hit.id,
                    "kind": hit.kind.value,
                    "title": hit.title,
                    "citation": hit.citation,
                    "score": hit.score,
                    "matched_terms": hit.matched_terms,
                },
            )
            for hit in result.hits
        ]
