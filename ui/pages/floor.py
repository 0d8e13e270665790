"""The supervisor's floor (坐席监控): every live contact, most at risk first, re-read every two
seconds; open one to follow its transcript, send the agent a note, or flag it for take-over.
Opening, notes and flags are audited (``calls.service``)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from accounts.permissions import Action
from calls.models import Call, CallState, Channel
from conversation.models import Speaker
from core.errors import PolicyDeskError
from ui.auth import current_user, require_page
from ui.format import describe_error, escape_markdown
from ui.i18n import t
from ui.notices import attempt, notify, show_notices
from ui.resources import get_services
from ui.widgets import finding_line, mood_words, render_said

WATCHING = "floor_call"
LIVE_EVERY = 2.0
TRANSCRIPT_HEIGHT = 420
ICONS = {Channel.PHONE: "📞", Channel.CONSOLE: "⌨️", Channel.CHAT: "💬"}


def _elapsed(since: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - since).total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _watch(call_id: str) -> None:
    user = current_user()
    if user is None:
        return
    if attempt(lambda: get_services().calls.watch(user, call_id), "") is None:
        return
    st.session_state[WATCHING] = call_id
    st.session_state["whisper_text"] = ""


def _whisper(call_id: str) -> None:
    user = current_user()
    if user is None:
        return
    note = str(st.session_state.get("whisper_text", ""))
    if attempt(lambda: get_services().calls.whisper(user, call_id, note), "") is None:
        return
    st.session_state["whisper_text"] = ""
    notify("success", t("whisper_sent"))


def _flag(call_id: str) -> None:
    user = current_user()
    if user is None:
        return
    if attempt(lambda: get_services().calls.flag(user, call_id), "") is not None:
        notify("success", t("flag_sent"))


def _mood(call: Call) -> str:
    return mood_words(call.info.mood)


def render_row(call: Call) -> None:
    info = call.info
    with st.container(border=True):
        head, mood, risks, action = st.columns([3, 2, 4, 1])
        head.markdown(
            f"{ICONS[call.channel]} **{call.agent}** · {info.tier or t('no_customer')} · "
            f"{_elapsed(call.started_at)}"
        )
        head.caption(call.id)
        mood.markdown(_mood(call))
        notes = []
        if info.mood.alert is not None:
            notes.append(f"⚠️ {info.mood.alert.message}")
        if info.findings:
            notes.append(f"⛔ {info.findings} · {'；'.join(info.findings_text[-2:])}")
        if info.flagged_by:
            notes.append(f"🚩 {t('flagged_by')} {info.flagged_by}")
        risks.markdown("  \n".join(escape_markdown(n) for n in notes) or "—")
        action.button(t("watch"), key=f"watch-{call.id}", on_click=_watch, args=(call.id,))


def render_watched(call_id: str) -> None:
    try:
        call = get_services().calls.get(call_id)
    except PolicyDeskError as exc:
        st.caption(describe_error(exc))
        return
    state = t("contact_live") if call.state is CallState.LIVE else t("contact_ended")
    st.markdown(f"**{call.id}** · {call.agent} · {_mood(call)} · {state}")
    with st.container(height=TRANSCRIPT_HEIGHT):
        for segment in call.segments:
            role = "user" if segment.speaker is Speaker.CUSTOMER else "assistant"
            with st.chat_message(role, avatar="🤖" if segment.speaker is Speaker.BOT else None):
                render_said(segment.text if segment.final else f"{segment.text} …")
                view = segment.assist
                if view is not None and view.compliance is not None:
                    for finding in view.compliance.findings:
                        st.caption(finding_line(finding))
    for whisper in call.info.whispers[-3:]:
        st.caption(f"🗣️ {whisper.by}：{escape_markdown(whisper.text)}")


@st.fragment(run_every=LIVE_EVERY)
def render_floor() -> None:
    user = current_user()
    if user is None:
        return
    try:
        live = get_services().calls.floor(user)
    except PolicyDeskError as exc:
        st.error(describe_error(exc))
        return
    alerts = sum(1 for c in live if c.info.mood.alert is not None)
    findings = sum(c.info.findings for c in live)
    count, alerting, crossed = st.columns(3)
    count.metric(t("live_contacts"), len(live))
    alerting.metric(t("alerts_now"), alerts)
    crossed.metric(t("findings_now"), findings)
    left, right = st.columns([3, 2])
    with left:
        if not live:
            st.caption(t("floor_empty"))
        for call in live:
            render_row(call)
    with right:
        watching = st.session_state.get(WATCHING)
        if watching is None:
            st.caption(t("watch_hint"))
        else:
            render_watched(watching)


def render_actions() -> None:
    """A note or a flag for the watched call (outside the live part, so typing is not lost)."""
    watching = st.session_state.get(WATCHING)
    if watching is None:
        return
    with st.form("whisper_form", clear_on_submit=False, border=True):
        st.text_input(t("whisper"), key="whisper_text", max_chars=300)
        st.form_submit_button(t("send_whisper"), on_click=_whisper, args=(watching,))
    st.button(t("flag_takeover"), key="flag_takeover", on_click=_flag, args=(watching,))


def main() -> None:
    require_page(Action.MONITOR_CALLS)
    st.header(t("floor_header"))
    show_notices()
    render_floor()
    render_actions()


main()
