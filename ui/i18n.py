"""Console strings in Chinese (default) and English."""

from __future__ import annotations

import streamlit as st

LANGUAGES = {"zh": "中文", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"zh": "坐席助手 PolicyDesk", "en": "PolicyDesk agent assistant"},
    "language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "page_search": {"zh": "知识检索", "en": "Knowledge search"},
    "search_header": {"zh": "条款与案例检索", "en": "Clause and case search"},
    "query": {"zh": "客户的问题", "en": "Customer question"},
    "query_placeholder": {
        "zh": "例如：车在地库被水泡了能赔吗",
        "en": "e.g. 车在地库被水泡了能赔吗",
    },
    "search": {"zh": "检索", "en": "Search"},
    "kinds": {"zh": "类型", "en": "Kinds"},
    "products": {"zh": "产品", "en": "Products"},
    "as_of": {"zh": "按生效日期过滤", "en": "In force on"},
    "use_date": {"zh": "只看该日期有效的条款", "en": "Only passages in force on a date"},
    "top_k": {"zh": "结果数", "en": "Results"},
    "no_hits": {
        "zh": "知识库中没有找到相关内容，请换个说法或转交专员。",
        "en": "Nothing relevant in the knowledge base; rephrase or refer to a specialist.",
    },
    "expanded": {"zh": "已按条款用语扩展", "en": "Expanded with clause terms"},
    "matched": {"zh": "匹配词", "en": "Matched"},
    "score": {"zh": "相关度", "en": "Relevance"},
    "outcome": {"zh": "处理结果", "en": "Outcome"},
    "illustrative": {"zh": "示例案例，非真实判决", "en": "Illustrative case, not a real judgment"},
    "full_text": {"zh": "全文", "en": "Full text"},
    "index_missing": {
        "zh": "知识库索引尚未建立。请先运行 `make setup`"
        "（或 `policydesk ingest data/clauses data/cases`）。",
        "en": "The knowledge index is not built yet. Run `make setup` "
        "(or `policydesk ingest data/clauses data/cases`) first.",
    },
    "error": {"zh": "无法完成检索：", "en": "Search failed: "},
    "kind_clause": {"zh": "条款", "en": "Clause"},
    "kind_case": {"zh": "案例", "en": "Case"},
    "kind_faq": {"zh": "常见问题", "en": "FAQ"},
    "product_commercial": {"zh": "商业险主险", "en": "Commercial"},
    "product_rider": {"zh": "附加险", "en": "Riders"},
    "product_nev": {"zh": "新能源车", "en": "New-energy vehicles"},
    "product_compulsory": {"zh": "交强险", "en": "Compulsory (CTPL)"},
    "product_service": {"zh": "服务", "en": "Service"},
}


def language() -> str:
    """The session's language code."""
    return str(st.session_state.get("lang", "zh"))


def t(key: str) -> str:
    """The string for a key in the session's language (the key itself when unknown)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(language(), entry["zh"])
