"""Streamlit components of our own: each a folder of plain HTML and JavaScript that speaks
Streamlit's component protocol by hand (no npm, no build step).

``live_text_area``: a text area whose text reaches the script while the agent types, about 300 ms
after the last keystroke, where ``st.text_area`` reports only on blur or Ctrl+Enter; so a page can
check a draft (compliance, suggestions) as it is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.components.v1 import declare_component

LIVE_TEXT_FRONTEND = Path(__file__).resolve().parent / "live_text"
MIN_HEIGHT = 40


def live_text_area(
    label: str, key: str, value: str = "", height: int = 120, placeholder: str = ""
) -> str:
    """A text area that reports its text as the agent types.

    The text lives in ``st.session_state[key]``; ``value`` is only its first text (as with
    ``st.text_area``). To put a text into the box (a suggested reply, a compliant rewording),
    assign ``st.session_state[key]`` before the box is drawn in a run, typically in a button's
    ``on_click``: the box shows it at the next render, and typing goes on from it. Behind this, a
    version counter goes with the text to the browser, which replaces the box's content only
    when the version changes (so a rerun never undoes a keystroke), and comes back with each
    report (so a report typed over the old text cannot undo the replacement).

    The browser reports about 300 ms after the last keystroke, and at once on blur or Ctrl+Enter;
    each report reruns the script, like any widget. An IME composition is reported when it is
    committed (``compositionend``), never its pinyin.

    Under ``streamlit.testing.v1.AppTest`` no browser runs the component, so it never reports: its
    value is the ``default``, None, which is also what a browser gives before the first
    keystroke. Either way the function returns the session's text, and a page test "types" by
    assigning ``app.session_state[key]`` before ``run()``.

    Args:
        label: the text above the box.
        key: the session-state key of the text (also names the component's own state).
        value: the first text, when the session has none under ``key`` yet.
        height: the box's height in pixels (the agent may drag it taller).
        placeholder: shown while the box is empty.

    Returns:
        The box's text, as last reported or assigned.

    Raises:
        ValueError: ``height`` is below ``MIN_HEIGHT`` pixels.
    """
    if height < MIN_HEIGHT:
        raise ValueError(f"live_text_area height must be at least {MIN_HEIGHT} px, not {height}")
    state = st.session_state
    shown_key, version_key = f"{key}.live_shown", f"{key}.live_version"
    if key not in state:
        state[key] = value
    text = str(state[key])
    version = int(state.get(version_key, 0))
    if shown_key in state and state[shown_key] != text:
        version += 1  # the app assigned a text since the last run: the box must show it
    reported = _live_text_frontend()(
        label=label,
        value=text,
        version=version,
        height=height,
        placeholder=placeholder,
        key=f"{key}.live",
        default=None,
    )
    typed = typed_text(reported, version)
    if typed is not None:
        text = typed
    state[key] = text
    state[shown_key] = text
    state[version_key] = version
    return text


def typed_text(reported: Any, version: int) -> str | None:
    """The text a report from the browser carries, when it was typed over the text of
    ``version``; None for no report yet, or for one an app-side replacement has overtaken."""
    if not isinstance(reported, dict) or reported.get("version") != version:
        return None
    text = reported.get("text")
    return text if isinstance(text, str) else None


def _live_text_frontend() -> Any:
    """The component, declared (and registered with the running app) on use, not at import:
    ``declare_component`` registers only inside a script run."""
    return declare_component("live_text", path=LIVE_TEXT_FRONTEND)
