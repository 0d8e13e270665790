"""A test-only page for ``live_text_area`` (``streamlit run tests/e2e/live_text_page.py``): the box,
a button that puts a suggested reply into it, and the text echoed on every run."""

from __future__ import annotations

import streamlit as st

from ui.components import live_text_area

KEY = "draft"
LABEL = "回复草稿"
SUGGESTION = "您好，车辆涉水受损属于车损险的保障范围，我帮您登记报案。"
ECHO = "回显："


def suggest() -> None:
    st.session_state[KEY] = SUGGESTION


def main() -> None:
    text = live_text_area(LABEL, key=KEY, placeholder="在此输入回复")
    st.button("填入建议话术", on_click=suggest)
    st.write(ECHO + text)


# the tests import this module for its constants; Streamlit and AppTest run it as __main__
if __name__ == "__main__":
    main()
