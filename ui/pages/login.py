"""The landing page before login: what each role finds here, and the login form."""

from __future__ import annotations

import streamlit as st

from accounts.models import Role
from ui.auth import role_label
from ui.i18n import t


def main() -> None:
    st.header(t("login_header"))
    st.write(t("login_intro"))
    left, right = st.columns([1, 1])
    with left.container(border=True):
        st.markdown(f"**{t('login_title')}**")
        st.caption(t("login_sidebar_hint"))
    with right:
        for role in Role:
            st.markdown(f"- **{role_label(role)}**：{t('role_help_' + role.value)}")
        st.caption(t("login_chat_hint"))


main()
