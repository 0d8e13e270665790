"""The live-call console: what an agent looks at while a caller talks.

Every contact — a phone call fed by telephony, a call typed or replayed here, a chat taken over
from the bot — is stored (``calls``); the page keeps only which contact it shows and the agent's
unsent draft. The live part re-renders every second by itself (a fragment), so a segment from the
telephony side or a customer's chat message appears without a click; new handoffs and new calls
announce themselves. The guidance (mood, alert and script, suggested reply, next actions, top
cards) stays above the fold; the transcript scrolls in its own box.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from accounts.authority import AuthorityAction
from accounts.permissions import Action, can
from assist.calls import read_call
from assist.models import AgentAssist
from assist.wrapup import Disposition
from calls.models import Call, CallState, Channel, TopicFix
from chatbot.handoff import HandoffState
from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.masking import redact
from core.models import Hit
from customers.models import CustomerSummary, RevealableField
from retrieval.topics import FACET_LABELS, Facet
from studio.feedback import NewFeedback
from ui.auth import current_user, require_page
from ui.components import live_text_area
from ui.format import describe_error, escape_markdown, marked_draft
from ui.i18n import language, t
from ui.notices import attempt, notify, show_notices
from ui.resources import get_services, warm_up
from ui.widgets import (
    approval_line,
    finding_line,
    render_hit,
    render_mood,
    render_profile,
    render_reminders,
    render_said,
)

CONTACT = "contact_id"
DRAFT = "draft"
REPLAY = "replay"
SEEN_CALLS = "seen_calls"
SEEN_HANDOFFS = "seen_handoffs"
PENDING_ACCEPT = "pending_accept"
LIVE_EVERY = 0.5  # seconds between re-reads of the open contact (a segment shows within ~1 s)
ARRIVALS_EVERY = 1.0  # seconds between looks at the inbox and new calls
TRANSCRIPT_HEIGHT = 330
COMPACT_CSS = (
    "<style>.block-container{padding-top:2.2rem;padding-bottom:1rem}"
    "div[data-testid='stVerticalBlock']{gap:0.45rem}"
    "h2{font-size:1.45rem!important;padding:0.2rem 0!important}</style>"
)
NO_VALUE = "-"  # the pill that clears a facet
GUIDANCE, CARDS, TRANSCRIPT = 5, 3, 3  # column widths: the guidance gets the most room


# ----- state changes (button callbacks) ---------------------------------------------------------


def _open(call: Call | None) -> None:
    if call is None:
        return
    st.session_state[CONTACT] = call.id
    for key in (DRAFT, "summary_text", "disposition", REPLAY):
        st.session_state.pop(key, None)


def _start_console_call(customer_id: str | None, replay_file: str | None = None) -> None:
    user = current_user()
    if user is None:
        return
    turns = []
    if replay_file is not None:
        try:
            turns = read_call(get_services().settings.demo_calls / replay_file)
        except PolicyDeskError as exc:
            notify("error", str(exc))
            return
    call = attempt(lambda: get_services().desk().open_console_call(user, customer_id), "")
    if call is not None:
        _open(call)
        st.session_state[REPLAY] = [(turn.speaker, turn.text) for turn in turns]


def _say(speaker: Speaker, text: str) -> None:
    user = current_user()
    contact = st.session_state.get(CONTACT)
    if user is None or contact is None:
        return
    attempt(lambda: get_services().desk().say(user, contact, speaker, text), t("invalid_turn"))


def _submit_turn() -> None:
    _say(
        Speaker(st.session_state.get("speaker", Speaker.CUSTOMER)),
        str(st.session_state.get("turn_text", "")),
    )
    st.session_state["turn_text"] = ""


def _play(count: int | None) -> None:
    pending: list[tuple[Speaker, str]] = st.session_state.get(REPLAY, [])
    take = len(pending) if count is None else min(count, len(pending))
    for _ in range(take):
        speaker, text = pending.pop(0)
        _say(speaker, text)


def _use(text: str) -> None:
    st.session_state[DRAFT] = text


def _send() -> None:
    user = current_user()
    contact = st.session_state.get(CONTACT)
    text = str(st.session_state.get(DRAFT, "")).strip()
    if user is None or contact is None or not text:
        return
    if attempt(lambda: get_services().desk().reply(user, contact, text), "") is not None:
        st.session_state[DRAFT] = ""


def _request_approval(call_id: str) -> None:
    """The agent asks for authority beyond their level on this contact (申请授权)."""
    user = current_user()
    if user is None:
        return
    action = st.session_state.get("approval_action", AuthorityAction.GOODWILL)
    amount = float(st.session_state.get("approval_amount", 0.0) or 0.0)
    reason = str(st.session_state.get("approval_reason", ""))
    approval = attempt(
        lambda: get_services().approvals.request(user, call_id, action, amount, reason),
        t("approval_failed"),
    )
    if approval is None:
        return
    st.session_state["approval_reason"] = ""
    granted = approval.state.value == "granted"
    notify("success", t("approval_granted_now") if granted else t("approval_requested"))


def _accept(handoff_id: str, confirmed: bool = False) -> None:
    """Take a chat handoff; during a live contact, ask first (the contact stays open)."""
    user = current_user()
    if user is None:
        return
    if not confirmed and st.session_state.get(CONTACT):
        st.session_state[PENDING_ACCEPT] = handoff_id
        return
    st.session_state.pop(PENDING_ACCEPT, None)
    call = attempt(lambda: get_services().desk().take_handoff(user, handoff_id), "")
    if call is not None:
        _open(call)
        st.session_state[DRAFT] = get_services().handoffs.get(handoff_id).suggested_reply


def _feedback(hit: Hit, helpful: bool) -> None:
    user, call = current_user(), _contact()
    if user is None:
        return
    callers = [s.text for s in call.finals() if s.speaker is Speaker.CUSTOMER] if call else []
    result = attempt(
        lambda: get_services().feedback.record(
            NewFeedback(
                passage_id=hit.id,
                citation=hit.citation,
                kind=hit.kind.value,
                question=callers[-1] if callers else hit.citation,
                helpful=helpful,
                agent=user.username,
            )
        ),
        "",
    )
    if result is not None:
        notify("success", t("feedback_saved"))


def _fix_topic(facet: Facet, key: str) -> None:
    """Apply the agent's one-click topic correction (a pill chosen under ``key``)."""
    contact = st.session_state.get(CONTACT)
    user = current_user()
    choice = st.session_state.get(key)
    if contact is None or user is None or choice is None:
        return
    name = None if choice == NO_VALUE else str(choice)
    fix = TopicFix(facet=facet, name=name)
    if attempt(lambda: get_services().desk().correct_topic(user, contact, fix), t("topic_fix")):
        notify("success", t("topic_fixed"))


def _draft_summary() -> None:
    call = _contact()
    if call is None:
        return
    summary = attempt(lambda: get_services().calls.draft(call), "")
    if summary is not None:
        st.session_state["summary_text"] = summary.text
        st.session_state["disposition"] = summary.disposition


def _save_call() -> None:
    user, contact = current_user(), st.session_state.get(CONTACT)
    if user is None or contact is None:
        return
    saved = attempt(
        lambda: (
            get_services()
            .desk()
            .save_wrap_up(
                user,
                contact,
                str(st.session_state.get("summary_text", "")),
                st.session_state.get("disposition", Disposition.ANSWERED),
            )
        ),
        "",
    )
    if saved is not None:
        notify("success", t("saved"))


def _finish() -> None:
    user, contact = current_user(), st.session_state.get(CONTACT)
    if user is None or contact is None:
        return
    resolution = str(st.session_state.get("summary_text", "")).strip()
    if attempt(lambda: get_services().desk().finish(user, contact, resolution), "") is not None:
        notify("success", t("contact_ended"))


def _close() -> None:
    st.session_state.pop(CONTACT, None)


def _link(customer_id: str) -> None:
    user, contact = current_user(), st.session_state.get(CONTACT)
    if user is None or contact is None:
        return
    if (
        attempt(lambda: get_services().calls.link_customer(user, contact, customer_id), "")
        is not None
    ):
        notify("success", t("customer_linked"))


def _reveal(customer_id: str) -> None:
    user = current_user()
    if user is None:
        return
    field = st.session_state.get("reveal_field", RevealableField.PHONE)
    value = attempt(
        lambda: get_services().reveal.reveal(
            user, customer_id, field, str(st.session_state.get("reveal_reason", ""))
        ),
        "",
    )
    if value is not None:
        st.session_state["revealed"] = (customer_id, RevealableField(field), value)
        st.session_state["reveal_reason"] = ""


# ----- reading ----------------------------------------------------------------------------------


def _contact() -> Call | None:
    """The contact this page shows, read fresh (None when none, or when it vanished)."""
    contact = st.session_state.get(CONTACT)
    if contact is None:
        return None
    try:
        call = get_services().calls.get(contact)
    except PolicyDeskError:
        st.session_state.pop(CONTACT, None)
        return None
    if call.channel is Channel.CHAT and call.state is CallState.LIVE:
        user = current_user()
        if user is not None:
            call = get_services().desk().sync_chat(call)  # the customer's new chat messages
    return call


def _minutes(since: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - since).total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


# ----- rendering --------------------------------------------------------------------------------


def _customer_label(summary: CustomerSummary | None) -> str:
    if summary is None:
        return t("no_customer")
    return f"{summary.name} · {summary.phone} · {summary.tier.value} · {' '.join(summary.plates)}"


def render_setup() -> None:
    """Start a call at the console (typed or a demo replay) for a customer or anonymously."""
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
    st.button(t("start_call"), on_click=_start_console_call, args=(customer_id,), type="primary")
    try:
        calls = services.demo_calls()
    except PolicyDeskError as exc:
        st.caption(str(exc))
        return
    left, right = st.columns([3, 1])
    titles = {c.file: c.title(language()) for c in calls}
    left.selectbox(t("demo_call"), list(titles), format_func=titles.__getitem__, key="demo_call")
    right.button(
        t("load_demo"),
        on_click=lambda: _start_console_call(customer_id, st.session_state.get("demo_call")),
    )


@st.fragment(run_every=ARRIVALS_EVERY)
def render_arrivals() -> None:
    """New handoffs and new phone calls, announced without a click; accepting asks first."""
    user = current_user()
    if user is None:
        return
    services = get_services()
    try:
        waiting = services.handoffs.list(HandoffState.WAITING)
        mine = services.calls.calls_of(user.username)
    except PolicyDeskError as exc:
        st.caption(str(exc))
        return
    seen_handoffs: set[str] = st.session_state.setdefault(SEEN_HANDOFFS, set())
    for handoff in waiting:
        if handoff.id not in seen_handoffs:
            st.toast(f"🔔 {t('new_handoff')}：P{handoff.priority} · {handoff.intent_label}")
            seen_handoffs.add(handoff.id)
    seen_calls: set[str] = st.session_state.setdefault(SEEN_CALLS, set())
    fresh = [c for c in mine if c.channel is Channel.PHONE and c.id not in seen_calls]
    for call in fresh:
        seen_calls.add(call.id)
    if fresh and st.session_state.get(CONTACT) is None:  # screen pop: the new call opens
        _open(fresh[0])
        st.rerun(scope="app")
    urgent = sum(1 for h in waiting if h.priority == 0)
    label = f"🔔 {t('inbox')}（{len(waiting)}）" + (f" · P0 {urgent}" if urgent else "")
    pending = st.session_state.get(PENDING_ACCEPT)
    with st.expander(label, expanded=bool(pending)):
        if pending:
            st.warning(t("accept_during_call"))
            yes, no = st.columns(2)
            yes.button(
                t("accept_and_hold"), key="confirm_accept", on_click=_accept, args=(pending, True)
            )
            no.button(
                t("cancel"),
                key="cancel_accept",
                on_click=st.session_state.pop,
                args=(PENDING_ACCEPT, None),
            )
        if not waiting:
            st.caption(t("inbox_empty"))
        now = datetime.now(UTC)
        for handoff in waiting[:8]:
            info, action = st.columns([5, 1])
            minutes = max(0, int((now - handoff.created_at).total_seconds() // 60))
            who = handoff.customer.salutation if handoff.customer else t("anonymous_customer")
            info.markdown(
                f"**P{handoff.priority}** · {who} · {handoff.intent_label} · "
                f"{t('waiting_for')} {minutes} {t('minutes')}"
            )
            model = f" · {t('learned_only_short')}" if handoff.learned_only else ""
            first = next((x.text for x in handoff.transcript), "")
            info.caption(
                f"{t('reasons')}：{'；'.join(handoff.reason_text)}{model} · "
                f"{escape_markdown(redact(first)[:60])}"
            )
            action.button(
                t("accept"), key=f"accept-{handoff.id}", on_click=_accept, args=(handoff.id,)
            )
    held = {c.handoff_id for c in mine}
    try:
        accepted = services.handoffs.list(HandoffState.ACCEPTED)
    except PolicyDeskError:
        accepted = []
    for handoff in accepted:  # accepted elsewhere (the API, an older console): open them here
        if handoff.accepted_by == user.username and handoff.id not in held:
            st.button(
                f"💬 {t('resume')} {handoff.id} · {handoff.intent_label}",
                key=f"resume-{handoff.id}",
                on_click=_accept,
                args=(handoff.id, True),
            )
    others = [c for c in mine if c.id != st.session_state.get(CONTACT)]
    if others:
        st.caption(t("my_contacts"))
        for call in others[:5]:
            st.button(
                f"{_channel_icon(call)} {call.id} · {_minutes(call.started_at)}",
                key=f"open-{call.id}",
                on_click=_open,
                args=(call,),
            )


def _channel_icon(call: Call) -> str:
    return {Channel.PHONE: "📞", Channel.CONSOLE: "⌨️", Channel.CHAT: "💬"}[call.channel]


def render_guidance(view: AgentAssist | None) -> None:
    """Mood with alert and script, the need, the suggested reply, the next actions."""
    if view is None:
        st.caption(t("no_turns"))
        return
    render_mood(view.mood)
    alert = view.mood.alert
    if alert is not None:
        st.error(f"⚠️ **{t('alert')}**：{alert.message}")
        if alert.script is not None:
            st.info(f"**{t('soothing_script')}**（{alert.script.title}）：{alert.script.text}")
    need = view.intent
    matched = f"（{'、'.join(need.matched)}）" if need.matched else ""
    st.markdown(f"**{t('need')}**：{need.label}{matched}")
    if view.actions:
        st.markdown(
            f"**{t('actions')}**："
            + "；".join(f"**{a.label}**（{a.reason}）" for a in view.actions)
        )
    if view.suggestion is not None:
        st.success(f"**{t('suggestion')}**：{view.suggestion.text}")
        notes = []
        if view.suggestion.citations:
            notes.append(f"{t('citations')}：{'、'.join(view.suggestion.citations)}")
        if view.suggestion.source == "llm":
            notes.append(t("source_llm"))
        if notes:
            st.caption(" · ".join(notes))
        st.button(
            t("use_suggestion"), key=f"use-{view.turn}", on_click=_use, args=(view.suggestion.text,)
        )


def render_draft(call: Call) -> None:
    """The agent's draft, checked by the guard; a red line cannot be sent on any channel."""
    draft = live_text_area(t("draft"), key=DRAFT, height=90)  # checked as the agent types
    user = current_user()
    desk = get_services().desk()
    findings = desk.check(draft, user, call.customer_id).findings if draft.strip() else []
    if findings:
        st.markdown(marked_draft(draft, [(f.start, f.end) for f in findings]))
        for finding in findings:
            st.warning(f"{finding_line(finding)}\n\n{t('rewrite')}：{finding.rewrite}")
        st.button(
            t("take_rewrite"),
            key="take_rewrite",
            on_click=_use,
            args=(desk.reword(draft, user, call.customer_id),),
        )
    elif draft.strip():
        st.caption(f"✅ {t('compliant')}")
    label = {Channel.CHAT: t("send_chat"), Channel.PHONE: t("send_phone")}.get(
        call.channel, t("send")
    )
    st.button(
        label,
        key="send_draft",
        on_click=_send,
        disabled=not draft.strip() or bool(findings),
        type="primary",
    )


def render_topic(call: Call, view: AgentAssist | None) -> None:
    """What the call is about (the topic state), with a one-click correction per facet."""
    lexicon = get_services().topic_lexicon
    lang = language()
    state = view.topic if view is not None else None
    chips = []
    for value in state.values if state is not None else []:
        spec = lexicon.value(value.facet, value.name)
        if spec is not None:
            mark = "✎" if value.corrected else ""
            chips.append(f"`{FACET_LABELS[value.facet][lang == 'en']}：{spec.label(lang)}{mark}`")
    st.markdown(f"**{t('topic')}**：" + (" ".join(chips) if chips else t("topic_empty")))
    if call.state is not CallState.LIVE or view is None:
        return
    with st.popover(t("topic_fix"), help=t("topic_fix_help")):
        for facet, values in lexicon.facets.items():
            current = state.first(facet) if state is not None else None
            names = [NO_VALUE, *values]
            key = f"topic-{call.id}-{view.turn}-{facet.value}"
            st.pills(
                FACET_LABELS[facet][lang == "en"],
                names,
                default=current if current in values else None,
                format_func=lambda n, v=values: (
                    t("topic_none") if n == NO_VALUE else v[n].label(lang)
                ),
                key=key,
                on_change=_fix_topic,
                args=(facet, key),
            )


def render_cards(view: AgentAssist | None) -> None:
    clauses, cases = st.tabs([t("clauses"), t("cases")])
    turn = view.turn if view else -1
    for tab, hits, prefix in (
        (clauses, view.hits if view else [], "c"),
        (cases, view.cases if view else [], "k"),
    ):
        with tab:
            if not hits:
                st.caption(t("no_cards"))
            for rank, hit in enumerate(hits, start=1):
                render_hit(
                    rank, hit, feedback=_feedback, key=f"{prefix}-{turn}-{hit.id}", compact=True
                )


def render_transcript(call: Call) -> None:
    with st.container(height=TRANSCRIPT_HEIGHT):
        if not call.segments:
            st.caption(t("no_turns"))
        for segment in call.segments:
            role = "user" if segment.speaker is Speaker.CUSTOMER else "assistant"
            avatar = "🤖" if segment.speaker is Speaker.BOT else None
            with st.chat_message(role, avatar=avatar):
                render_said(segment.text if segment.final else f"{segment.text} …")
    if call.channel is Channel.CONSOLE and call.state is CallState.LIVE:
        pending = st.session_state.get(REPLAY, [])
        if pending:
            one, all_, left = st.columns(3)
            one.button(t("next_turn"), on_click=_play, args=(1,))
            all_.button(t("play_all"), on_click=_play, args=(None,))
            left.caption(f"{t('replay_left')}：{len(pending)}")
        with st.form("turn_form", clear_on_submit=False, border=False):
            st.radio(
                t("speaker"),
                [Speaker.CUSTOMER.value, Speaker.AGENT.value],
                format_func=lambda s: t(f"speaker_{s}"),
                horizontal=True,
                key="speaker",
            )
            st.text_area(t("turn_text"), key="turn_text", height=68)
            st.form_submit_button(t("add_turn"), on_click=_submit_turn)


def render_customer(call: Call) -> None:
    """The profile (with a supervisor's reveal), or finding the caller of an anonymous contact."""
    services = get_services()
    if call.customer_id is None:
        st.caption(t("identify_hint"))
        query = st.text_input(t("customer_search"), key="link_query")
        found = services.customers.search(query) if query.strip() else []
        for summary in found[:5]:
            st.button(
                f"{t('link_customer')}：{_customer_label(summary)}",
                key=f"link-{summary.id}",
                on_click=_link,
                args=(summary.id,),
            )
        return
    uploads = services.uploads
    render_profile(
        services.customers.profile(call.customer_id),
        services.privilege_service.usage(call.customer_id),
        claim_documents=lambda claim_no: [
            (d, uploads.thumbnail(d.id) if d.has_thumbnail else None)
            for d in uploads.for_claim(claim_no)
        ],
    )
    render_reminders(services.reminders.sent_to(call.customer_id))
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
        st.button(t("reveal"), key="reveal_button", on_click=_reveal, args=(call.customer_id,))
        shown = st.session_state.get("revealed")
        if shown is not None and shown[0] == call.customer_id:
            st.code(shown[2], language=None)
            st.caption(t("reveal_logged"))


def render_approvals(call: Call) -> None:
    """申请授权: ask for goodwill, a fast-track payment or a fee waiver beyond the agent's level;
    this contact's requests with their state."""
    user = current_user()
    if user is None:
        return
    st.caption(t("approval_hint"))
    if call.state is CallState.LIVE and call.agent == user.username:
        with st.form("approval_form", border=False):
            action, amount = st.columns(2)
            action.selectbox(
                t("approval_action"),
                list(AuthorityAction),
                format_func=lambda a: t(f"action_{a.value}"),
                key="approval_action",
            )
            amount.number_input(
                t("approval_amount"), min_value=0.0, step=100.0, key="approval_amount"
            )
            st.text_input(t("approval_reason"), key="approval_reason", max_chars=300)
            st.form_submit_button(
                t("approval_request"), on_click=_request_approval, args=(call.id,)
            )
    try:
        requests = get_services().approvals.for_call(user, call.id)
    except PolicyDeskError as exc:
        st.caption(describe_error(exc))
        return
    if not requests:
        st.caption(t("approval_none"))
    for approval in reversed(requests):
        st.markdown(approval_line(approval))


def render_handoff_package(call: Call) -> None:
    """What the bot knew when it handed the chat over."""
    if call.handoff_id is None:
        return
    try:
        handoff = get_services().handoffs.get(call.handoff_id)
    except PolicyDeskError as exc:
        st.caption(describe_error(exc))
        return
    st.markdown(
        f"**{t('handoff_package')}** {handoff.id} · {handoff.intent_label} · P{handoff.priority}"
    )
    st.caption(f"{t('reasons')}：{'；'.join(handoff.reason_text)}")
    if handoff.learned_only:
        st.caption(t("learned_only_note"))
    if handoff.gathered:  # what a guided flow (一键报案…) gathered before the handoff
        st.info(f"{t('flow_gathered')}\n\n{escape_markdown(redact(handoff.gathered))}")
    if handoff.bot_answers:
        with st.expander(t("bot_answers")):
            for text in handoff.bot_answers:
                st.caption(escape_markdown(text))
    if handoff.references:
        st.caption(f"{t('citations')}：{'、'.join(h.citation for h in handoff.references)}")
    if call.state is CallState.LIVE:
        st.caption(t("chat_reply_hint"))


def render_wrap_up(call: Call) -> None:
    with st.expander(t("wrap_up"), expanded="summary_text" in st.session_state):
        st.button(t("draft_summary"), on_click=_draft_summary)
        if "summary_text" in st.session_state:
            st.text_area(t("summary"), key="summary_text", height=120)
            st.selectbox(t("disposition"), list(Disposition), format_func=str, key="disposition")
            st.button(
                t("save_call"),
                on_click=_save_call,
                type="primary",
                disabled=call.customer_id is None or call.info.saved,
            )
            if call.customer_id is None:
                st.caption(t("needs_customer"))
        if call.state is CallState.LIVE:
            ending = t("resolve") if call.channel is Channel.CHAT else t("end_contact")
            st.button(ending, key="finish_contact", on_click=_finish)
        else:
            st.button(t("close_contact"), key="close_contact", on_click=_close)


@st.fragment(run_every=LIVE_EVERY)
def render_live() -> None:
    """The contact, re-read every second: new segments and chat messages appear by themselves."""
    call = _contact()
    if call is None:
        st.info(t("start_hint"))
        return
    customer = t("no_customer") if call.customer_id is None else call.customer_id
    state = t("contact_live") if call.state is CallState.LIVE else t("contact_ended")
    st.markdown(
        f"{_channel_icon(call)} **{call.id}** · {customer} · {call.info.tier or '—'} · "
        f"{_minutes(call.started_at)} · {state}"
    )
    for whisper in call.info.whispers[-2:]:
        st.warning(f"🗣️ {t('whisper_from')} {whisper.by}：{escape_markdown(whisper.text)}")
    if call.info.flagged_by:
        st.error(f"🚩 {t('flagged_by')} {call.info.flagged_by}")
    view = call.latest
    caller_views = [s.assist for s in call.finals() if s.speaker is Speaker.CUSTOMER and s.assist]
    guidance = caller_views[-1] if caller_views else None
    sent = view.compliance if view is not None and view.speaker is Speaker.AGENT else None
    left, middle, right = st.columns([GUIDANCE, CARDS, TRANSCRIPT])
    with left:
        render_guidance(guidance)
    with middle:
        render_topic(call, guidance)
        render_cards(guidance)
    with right:
        render_transcript(call)
        if call.state is CallState.LIVE:
            render_draft(call)
        if sent is not None and not sent.compliant:
            st.warning(f"{t('finding_said')}：{'；'.join(f.reason for f in sent.findings)}")
    titles = [t("profile"), t("wrap_up_tab"), t("approval_tab")]
    if call.handoff_id is not None:
        titles.append(t("handoff_package"))
    tabs = st.tabs(titles)
    with tabs[0]:
        render_customer(call)
    with tabs[1]:
        render_wrap_up(call)
    with tabs[2]:
        render_approvals(call)
    if call.handoff_id is not None:
        with tabs[3]:
            render_handoff_package(call)


def main() -> None:
    user = require_page(Action.USE_CONSOLE)
    st.markdown(COMPACT_CSS, unsafe_allow_html=True)  # static CSS only; no user content
    with st.spinner(t("warming_up")):
        readiness = warm_up()
    for part in readiness.parts if readiness is not None else []:
        if not part.ready:
            st.warning(f"{t('model_missing')}{part.name}：{part.problem}")
    top, agent = st.columns([3, 2])
    top.header(t("console_header"))
    agent.caption(f"{t('agent_name')}：{user.label}（{user.username}）")
    show_notices()
    render_arrivals()
    if st.session_state.get(CONTACT) is None:
        with st.expander(t("customer"), expanded=True):
            render_setup()
    render_live()


main()
