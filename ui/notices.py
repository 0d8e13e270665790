"""Messages from button callbacks to the next render, and the one place service errors become them.

Callbacks run before the page script; they cannot draw where the page will be. They queue a notice
instead, and the page shows queued notices near its top (``show_notices``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

import streamlit as st
from pydantic import ValidationError

from core.errors import IndexNotBuiltError, PolicyDeskError
from ui.format import describe_error
from ui.i18n import t

NOTICES = "studio_notices"
Level = Literal["success", "info", "warning", "error"]
T = TypeVar("T")


def notify(level: Level, text: str) -> None:
    """Queue a message for the next render of the page."""
    st.session_state.setdefault(NOTICES, []).append((level, text))


def show_notices() -> None:
    """Show (and clear) the queued messages."""
    for level, text in st.session_state.pop(NOTICES, []):
        getattr(st, level)(text)


def attempt(action: Callable[[], T], failure: str) -> T | None:
    """Run a service call; on a refusal queue a clear message instead of raising.

    Args:
        action: the call.
        failure: the message prefix, e.g. t("publish_failed").

    Returns:
        The call's result, or None when it was refused (a message is queued).
    """
    try:
        return action()
    except IndexNotBuiltError:
        notify("warning", t("index_missing"))
    except (PolicyDeskError, ValidationError) as exc:
        notify("error", f"{failure}{describe_error(exc)}")
    return None


def show_attempt(action: Callable[[], T], failure: str) -> T | None:
    """Like ``attempt`` while rendering: the message is drawn at once, where the call is."""
    result = attempt(action, failure)
    if result is None:
        show_notices()
    return result


def forget(prefix: str) -> None:
    """Drop every session value whose key starts with prefix (a form's fields after a successful
    submit, so they render empty again; a refused submit keeps them for correcting)."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]
