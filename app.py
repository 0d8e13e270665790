"""PolicyDesk console entry point: page configuration, language switch and navigation only."""

from __future__ import annotations

import streamlit as st

from ui.i18n import LANGUAGES, t

st.set_page_config(page_title="PolicyDesk 坐席助手", page_icon="🛡️", layout="wide")
st.sidebar.selectbox(
    "语言 / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang"
)
st.sidebar.title(t("app_title"))
navigation = st.navigation(
    [
        st.Page("ui/pages/console.py", title=t("page_console"), icon="🎧", default=True),
        st.Page("ui/pages/knowledge_search.py", title=t("page_search"), icon="🔎"),
        st.Page("ui/pages/chat.py", title=t("page_chat"), icon="💬"),
    ]
)
navigation.run()
