"""The live-call console: what an agent looks at while a caller talks.

State lives in ``st.session_state`` (one call per browser session); models and stores come from
the shared, cached service container.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
from pydantic import ValidationError

from accounts.permissions import Action, can
from assist.calls import read_call
from assist.models import AgentAssist
from assist.pipeline import AssistSession
from assist.wrapup import Disposition
from chatbot.handoff import HandoffRequest, HandoffState
from conversation.models import Speaker, Turn
from core.errors import IndexNotBuiltError, ModelNotReadyError, PolicyDeskError
from core.masking import redact
from core.models import Hit
from customers.models import CustomerSummary, RevealableField
from studio.feedback import NewFeedback
from ui.auth import current_user, require_page
from ui.format import describe_error, escape_markdown, marked_draft
from ui.i18n import language, t
from ui.resources import get_services
from ui.widgets import render_hit, render_mood, render_profile, render_said

CALL = "call"
NOTICE = "notice"


# ----- state changes (button callbacks) ---------------------------------------------------------


def _notify(level: str, text: str) -> None:
    st.session_state[NOTICE] = (level, text)


def _agent() -> str:
    """The logged-in agent's username: who accepts, resolves and saves (empty when logged out)."""
    user = current_user()
    return user.username if user is not None else ""


def _start_call(customer_id: str | None, replay: list[Turn] | None = None) -> None:
    try:
        session = get_services().assist_session(customer_id)
    except IndexNotBuiltError:
        _notify("warning", t("index_missing"))
        return
    except PolicyDeskError as exc:
        _notify("error", f"{t('error')}{exc}")
        return
    st.session_state[CALL] = session
    st.session_state["replay"] = list(replay or [])
    for key in ("summary_text", "draft", "saved", "handoff"):
        st.session_state.pop(key, None)


def _add(turn: Turn) -> None:
    session: AssistSession = st.session_state[CALL]
    try:
        session.add(turn)
    except ModelNotReadyError as exc:
        _notify("error", f"{t('model_missing')}{exc}")
    except PolicyDeskError as exc:
        _notify("error", f"{t('invalid_turn')}{exc}")


def _submit_turn() -> None:
    text = str(st.session_state.get("turn_text", ""))
    speaker = Speaker(st.session_state.get("speaker", Speaker.CUSTOMER))
    try:
        turn = Turn(speaker=speaker, text=text)
    except ValidationError as exc:
        _notify("error", f"{t('invalid_turn')}{exc.errors()[0]['msg']}")
        return
    _add(turn)
    st.session_state["turn_text"] = ""


def _load_demo(customer_id: str | None) -> None:
    services = get_services()
    chosen = st.session_state.get("demo_call")
    if chosen is None:
        return
    try:
        turns = read_call(services.settings.demo_calls / chosen)
    except PolicyDeskError as exc:
        _notify("error", str(exc))
        return
    _start_call(customer_id, replay=turns)


def _play(count: int | None) -> None:
    pending: list[Turn] = st.session_state.get("replay", [])
    take = len(pending) if count is None else min(count, len(pending))
    for _ in range(take):
        _add(pending.pop(0))


def _use_suggestion(text: str) -> None:
    st.session_state["draft"] = text


def _send_draft() -> None:
    text = str(st.session_state.get("draft", "")).strip()
    if not text:
        return
    handoff = st.session_state.get("handoff")
    if handoff is not None:  # a chat taken over from the bot: the reply goes to the customer
        try:
            get_services().agent_replies().send(handoff.id, _agent(), text)
        except PolicyDeskError as exc:
            _notify("error", f"{t('reply_failed')}{exc}")
            return  # the draft stays for correcting
    _add(Turn(speaker=Speaker.AGENT, text=text))
    st.session_state["draft"] = ""


def _pull_customer_messages(quiet: bool = False) -> None:
    """Add what the customer wrote in the chat since the agent last looked (``quiet``: no
    notice when there is nothing new, as at accept time)."""
    handoff = st.session_state.get("handoff")
    if handoff is None:
        return
    seen = int(st.session_state.get("handoff_seen", len(handoff.transcript)))
    try:
        fresh, seen = get_services().agent_replies().customer_messages(handoff, seen)
    except PolicyDeskError as exc:
        _notify("error", str(exc))
        return
    st.session_state["handoff_seen"] = seen
    for turn in fresh:
        _add(turn)
    if not fresh and not quiet:
        _notify("info", t("no_new_messages"))


def _feedback(hit: Hit, helpful: bool) -> None:
    session: AssistSession = st.session_state[CALL]
    callers = session.caller_texts()
    try:
        get_services().feedback.record(
            NewFeedback(
                passage_id=hit.id,
                citation=hit.citation,
                kind=hit.kind.value,
                question=callers[-1] if callers else hit.citation,
                helpful=helpful,
                agent=_agent(),
            )
        )
    except (PolicyDeskError, ValidationError) as exc:
        _notify("error", str(exc))
        return
    _notify("success", t("feedback_saved"))


def _draft_summary() -> None:
    session: AssistSession = st.session_state[CALL]
    try:
        summary = get_services().wrap_up().draft(session.turns, session.history)
    except PolicyDeskError as exc:
        _notify("warning", str(exc))
        return
    st.session_state["summary_text"] = summary.text
    st.session_state["disposition"] = summary.disposition


def _reveal(customer_id: str) -> None:
    user = current_user()
    field = st.session_state.get("reveal_field", RevealableField.PHONE)
    reason = str(st.session_state.get("reveal_reason", ""))
    if user is None:
        return
    try:
        value = get_services().reveal.reveal(user, customer_id, field, reason)
    except PolicyDeskError as exc:
        _notify("error", describe_error(exc))
        return
    st.session_state["revealed"] = (customer_id, RevealableField(field), value)
    st.session_state["reveal_reason"] = ""


def render_reveal(customer_id: str) -> None:
    """A supervisor sees a full number only by asking, with a reason that is audited."""
    user = current_user()
    if user is None or not can(user, Action.REVEAL_PERSONAL_DATA):
        return
    with st.expander(t("reveal_title")):
        st.radio(
            t("reveal_field"),
            list(RevealableField),
            format_func=lambda f: t(f"reveal_{f.value}"),
            key="reveal_field",
            horizontal=True,
        )
        st.text_input(t("reveal_reason"), key="reveal_reason", max_chars=200)
        st.button(t("reveal"), key="reveal_button", on_click=_reveal, args=(customer_id,))
        shown = st.session_state.get("revealed")
        if shown is not None and shown[0] == customer_id:
            st.code(shown[2], language=None)
            st.caption(t("reveal_logged"))


def _save_call() -> None:
    session: AssistSession = st.session_state[CALL]
    if session.profile is None:
        _notify("warning", t("needs_customer"))
        return
    try:
        get_services().wrap_up().save(
            session.profile.id,
            str(st.session_state.get("summary_text", "")),
            st.session_state.get("disposition", Disposition.ANSWERED),
            agent=_agent(),
        )
    except PolicyDeskError as exc:
        _notify("error", str(exc))
        return
    st.session_state["saved"] = True
    session.profile = get_services().customers.profile(session.profile.id)  # shows the new entry
    _notify("success", t("saved"))


def _accept_handoff(handoff_id: str, resume: bool = False) -> None:
    """Take a waiting handoff (or, with ``resume``, reopen one this agent already holds, e.g.
    after a browser reload) into the live-call view."""
    agent = _agent()
    if not agent:
        _notify("warning", t("login_required"))
        return
    services = get_services()
    try:
        if resume:
            handoff = services.handoffs.get(handoff_id)
        else:
            handoff = services.handoffs.accept(handoff_id, agent)
        customer_id = handoff.customer.id if handoff.customer else None
        _start_call(customer_id)
        session: AssistSession = st.session_state[CALL]
        for turn in handoff.transcript:  # the bot's answers count as the company's turns
            session.add(turn)
    except PolicyDeskError as exc:
        _notify("error", str(exc))
        return
    st.session_state["handoff"] = handoff
    st.session_state["handoff_seen"] = len(handoff.transcript)
    st.session_state["draft"] = handoff.suggested_reply
    _pull_customer_messages(quiet=True)


def _resolve_handoff() -> None:
    handoff = st.session_state.get("handoff")
    if handoff is None:
        return
    agent = _agent()
    resolution = str(st.session_state.get("summary_text", "")).strip() or str(
        st.session_state.get("disposition", Disposition.ANSWERED)
    )
    try:
        get_services().handoffs.resolve(handoff.id, agent, resolution)
    except PolicyDeskError as exc:
        _notify("error", str(exc))
        return
    st.session_state.pop("handoff", None)
    st.session_state.pop("handoff_seen", None)
    _notify("success", t("resolved"))


# ----- rendering --------------------------------------------------------------------------------


def _customer_label(summary: CustomerSummary | None) -> str:
    if summary is None:
        return t("no_customer")
    return f"{summary.name} · {summary.phone} · {summary.tier.value} · {' '.join(summary.plates)}"


def render_call_setup() -> str | None:
    """Customer picker, new call and demo replay; returns the chosen customer id."""
    services = get_services()
    query = st.text_input(t("customer_search"), key="customer_query")
    try:
        found = services.customers.search(query) if query.strip() else services.customers.list(30)
    except PolicyDeskError as exc:
        st.error(str(exc))
        found = []
    if query.strip() and not found:
        st.caption(t("no_customer_found"))
    options: list[CustomerSummary | None] = [None, *found]
    chosen = st.selectbox(t("customer"), options, format_func=_customer_label, key="customer")
    customer_id = chosen.id if chosen else None
    st.button(t("start_call"), on_click=_start_call, args=(customer_id,), type="primary")
    try:
        calls = services.demo_calls()
    except PolicyDeskError as exc:
        st.caption(str(exc))
        return customer_id
    left, right = st.columns([3, 1])
    titles = {c.file: c.title(language()) for c in calls}
    left.selectbox(t("demo_call"), list(titles), format_func=titles.__getitem__, key="demo_call")
    right.button(t("load_demo"), on_click=_load_demo, args=(customer_id,))
    return customer_id


def render_inbox() -> None:
    """Waiting handoffs from the chatbot, most urgent first; accepting one opens its package.
    Below them, the handoffs this agent holds and has not resolved, to reopen after a reload."""
    try:
        waiting = get_services().handoffs.list(HandoffState.WAITING)
        accepted = get_services().handoffs.list(HandoffState.ACCEPTED)
    except PolicyDeskError as exc:
        st.caption(str(exc))
        return
    open_id = getattr(st.session_state.get("handoff"), "id", None)
    mine = [h for h in accepted if h.accepted_by == _agent() and h.id != open_id]
    with st.expander(f"{t('inbox')}（{len(waiting)}）", expanded=bool(waiting or mine)):
        if not waiting:
            st.caption(t("inbox_empty"))
        now = datetime.now(UTC)
        for handoff in waiting:
            with st.container(border=True):
                info, action = st.columns([5, 1])
                minutes = max(0, int((now - handoff.created_at).total_seconds() // 60))
                who = handoff.customer.salutation if handoff.customer else t("anonymous_customer")
                info.markdown(
                    f"**P{handoff.priority}** · {who} · {handoff.intent_label} · "
                    f"{t('waiting_for')} {minutes} {t('minutes')}"
                )
                model = f" · {t('learned_only_short')}" if handoff.learned_only else ""
                info.caption(f"{t('reasons')}：{'；'.join(handoff.reason_text)}{model}")
                first = next((x.text for x in handoff.transcript), "")
                info.caption(escape_markdown(redact(first)[:80]))
                action.button(
                    t("accept"),
                    key=f"accept-{handoff.id}",
                    on_click=_accept_handoff,
                    args=(handoff.id,),
                )
        if mine:
            st.caption(t("my_handoffs"))
        for handoff in mine:
            info, action = st.columns([5, 1])
            who = handoff.customer.salutation if handoff.customer else t("anonymous_customer")
            info.caption(f"{handoff.id} · {who} · {handoff.intent_label}")
            action.button(
                t("resume"),
                key=f"resume-{handoff.id}",
                on_click=_accept_handoff,
                args=(handoff.id, True),
            )


def render_handoff_package(handoff: HandoffRequest) -> None:
    """What the bot knew when it handed over."""
    with st.container(border=True):
        st.markdown(
            f"**{t('handoff_package')}** {handoff.id} · {handoff.intent_label} · "
            f"P{handoff.priority}"
        )
        st.caption(f"{t('reasons')}：{'；'.join(handoff.reason_text)}")
        if handoff.learned_only:
            st.caption(t("learned_only_note"))
        if handoff.bot_answers:
            with st.expander(t("bot_answers")):
                for text in handoff.bot_answers:
                    st.caption(escape_markdown(text))
        if handoff.references:
            st.caption(f"{t('citations')}：{'、'.join(h.citation for h in handoff.references)}")
        if handoff.state is HandoffState.ACCEPTED:
            st.caption(t("chat_reply_hint"))
            st.button(t("pull_messages"), key="pull_messages", on_click=_pull_customer_messages)


def render_transcript(session: AssistSession) -> None:
    st.subheader(t("transcript"))
    if not session.turns:
        st.caption(t("no_turns"))
    for turn in session.turns:
        role = "user" if turn.speaker is Speaker.CUSTOMER else "assistant"
        with st.chat_message(role, avatar="🤖" if turn.speaker is Speaker.BOT else None):
            render_said(turn.text)
    pending = st.session_state.get("replay", [])
    if pending:
        one, all_, left = st.columns(3)
        one.button(t("next_turn"), on_click=_play, args=(1,))
        all_.button(t("play_all"), on_click=_play, args=(None,))
        left.caption(f"{t('replay_left')}：{len(pending)}")
    with st.form("turn_form", clear_on_submit=False, border=False):
        st.radio(
            t("speaker"),
            [s.value for s in Speaker],
            format_func=lambda s: t(f"speaker_{s}"),
            horizontal=True,
            key="speaker",
        )
        st.text_area(t("turn_text"), key="turn_text", height=80)
        st.form_submit_button(t("add_turn"), on_click=_submit_turn)


def render_guidance(view: AgentAssist) -> None:
    """Mood, alert and script, need, suggested reply, actions."""
    render_mood(view.mood)
    alert = view.mood.alert
    if alert is not None:
        st.error(f"⚠️ **{t('alert')}**：{alert.message}")
        if alert.script is not None:
            st.markdown(f"**{t('soothing_script')}**（{alert.script.title}）")
            st.info(alert.script.text)
    need = view.intent
    matched = f"（{'、'.join(need.matched)}）" if need.matched else ""
    st.markdown(f"**{t('need')}**：{need.label}{matched}")
    if view.suggestion is not None:
        st.markdown(f"**{t('suggestion')}**")
        st.success(view.suggestion.text)
        notes = []
        if view.suggestion.citations:
            notes.append(f"{t('citations')}：{'、'.join(view.suggestion.citations)}")
        if view.suggestion.source == "llm":
            notes.append(t("source_llm"))
        if view.suggestion.rewritten:
            notes.append(t("rewritten"))
        if notes:
            st.caption(" · ".join(notes))
        st.button(
            t("use_suggestion"),
            key=f"use-{view.turn}",
            on_click=_use_suggestion,
            args=(view.suggestion.text,),
        )
    if view.actions:
        st.markdown(f"**{t('actions')}**")
        for action in view.actions:
            st.markdown(f"- **{action.label}** · {action.reason}")


def render_draft(session: AssistSession) -> None:
    """The agent's draft with the guard's live check."""
    draft = st.text_area(t("draft"), key="draft", height=100)
    if draft.strip():
        report = session.check_draft(draft)
        if report.compliant:
            st.caption(f"✅ {t('compliant')}")
        else:
            st.markdown(marked_draft(draft, [(f.start, f.end) for f in report.findings]))
            for finding in report.findings:
                st.warning(
                    f"**{t('finding')}**「{finding.text}」：{finding.reason}\n\n"
                    f"{t('rewrite')}：{finding.rewrite}"
                )
    st.button(t("send"), key="send_draft", on_click=_send_draft, disabled=not draft.strip())


def render_cards(view: AgentAssist | None, session: AssistSession) -> None:
    clauses, cases, profile = st.tabs([t("clauses"), t("cases"), t("profile")])
    turn = view.turn if view else -1
    for tab, hits, prefix in (
        (clauses, view.hits if view else [], "c"),
        (cases, view.cases if view else [], "k"),
    ):
        with tab:
            if not hits:
                st.caption(t("no_cards"))
            for rank, hit in enumerate(hits, start=1):
                render_hit(rank, hit, feedback=_feedback, key=f"{prefix}-{turn}-{hit.id}")
    with profile:
        if session.profile is None:
            st.caption(t("no_customer"))
        else:
            render_profile(session.profile)
            render_reveal(session.profile.id)


def render_wrap_up(session: AssistSession) -> None:
    with st.expander(t("wrap_up"), expanded="summary_text" in st.session_state):
        st.button(t("draft_summary"), on_click=_draft_summary)
        if "summary_text" in st.session_state:
            st.text_area(t("summary"), key="summary_text", height=140)
            st.selectbox(t("disposition"), list(Disposition), format_func=str, key="disposition")
            st.button(
                t("save_call"),
                on_click=_save_call,
                type="primary",
                disabled=session.profile is None or bool(st.session_state.get("saved")),
            )
            if session.profile is None:
                st.caption(t("needs_customer"))
        if st.session_state.get("handoff") is not None:
            st.button(t("resolve"), key="resolve_handoff", on_click=_resolve_handoff)


def main() -> None:
    user = require_page(Action.USE_CONSOLE)
    st.header(t("console_header"))
    st.caption(f"{t('agent_name')}：{user.label}（{user.username}）")
    render_inbox()
    with st.expander(t("customer"), expanded=CALL not in st.session_state):
        render_call_setup()
    notice = st.session_state.pop(NOTICE, None)
    if notice is not None:
        level, text = notice
        getattr(st, level)(text)
    session: AssistSession | None = st.session_state.get(CALL)
    if session is None:
        st.info(t("start_hint"))
        return
    caller_views = [v for v in session.history if v.speaker is Speaker.CUSTOMER]
    view = session.history[-1] if session.history else None
    left, right = st.columns([3, 2])
    with left:
        handoff = st.session_state.get("handoff")
        if handoff is not None:
            render_handoff_package(handoff)
        render_transcript(session)
        if caller_views and view is not None:
            render_guidance(view)
        render_draft(session)
        sent = view.compliance if view is not None and view.speaker is Speaker.AGENT else None
        if sent is not None and not sent.compliant:
            st.warning(f"{t('finding')}：{'、'.join(sent.rules)}")
        render_wrap_up(session)
    with right:
        render_cards(view if caller_views else None, session)


main()
