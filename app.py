"""PolicyDesk entry point: page configuration, language, the account box and role-based navigation.

Which pages a visitor sees is decided in ``ui.navigation`` (by role); each page checks again.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from ui.auth import render_account_panel, render_demo_password_banner
from ui.i18n import LANGUAGES, t
from ui.navigation import landing_page, visible_pages
from ui.resources import start_warm_up

st.set_page_config(page_title="PolicyDesk 坐席助手", page_icon="🛡️", layout="wide")
start_warm_up()  # the models and the index load in the background from the first page view
st.sidebar.selectbox(
    "语言 / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang"
)
st.sidebar.title(t("app_title"))
user = render_account_panel()
render_demo_password_banner()
specs = visible_pages(user)
landing = landing_page(specs)
sections: dict[str, list[StreamlitPage]] = {}
for spec in specs:
    sections.setdefault(t(spec.section_key), []).append(
        st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, default=spec == landing)
    )
st.navigation(sections).run()
