"""Knowledge search: a query box, filters, and result cards with citations and highlights."""

from __future__ import annotations

from datetime import date

import streamlit as st

from accounts.permissions import Action
from core.errors import IndexNotBuiltError, PolicyDeskError
from core.models import PassageKind, SearchFilters, SearchRequest, SearchResult
from ui.auth import require_page
from ui.format import PRODUCTS
from ui.i18n import t
from ui.resources import get_services
from ui.widgets import render_hit


def render_result(result: SearchResult) -> None:
    """All cards, or a plain message when nothing matched."""
    if result.expansions:
        st.caption(f"{t('expanded')}：{' '.join(result.expansions)}")
    if not result.hits:
        st.info(t("no_hits"))
    for rank, hit in enumerate(result.hits, start=1):
        render_hit(rank, hit)


def main() -> None:
    require_page(Action.VIEW_KB)
    st.header(t("search_header"))
    with st.form("search"):
        query = st.text_input(t("query"), placeholder=t("query_placeholder"), key="query")
        left, middle, right = st.columns(3)
        kinds = left.multiselect(
            t("kinds"), list(PassageKind), format_func=lambda k: t(f"kind_{k.value}"), key="kinds"
        )
        products = middle.multiselect(
            t("products"), PRODUCTS, format_func=lambda p: t(f"product_{p}"), key="products"
        )
        k = right.slider(t("top_k"), 1, 20, 5, key="k")
        use_date = st.checkbox(t("use_date"), key="use_date")
        as_of = st.date_input(t("as_of"), value=date.today(), key="as_of")
        submitted = st.form_submit_button(t("search"), type="primary")
    if not (submitted and query.strip()):
        return
    filters = SearchFilters(kinds=kinds, products=products, as_of=as_of if use_date else None)
    try:
        retriever = get_services().retriever()
        result = retriever.search(SearchRequest(query=query, k=k, filters=filters))
    except IndexNotBuiltError:
        st.warning(t("index_missing"))
        return
    except PolicyDeskError as exc:
        st.error(f"{t('error')}{exc}")
        return
    render_result(result)


main()
