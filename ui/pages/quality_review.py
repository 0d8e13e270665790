"""Quality checks (质检) for supervisors: the scored contacts of a period, one contact's scorecard
(every item's outcome, reason and evidence) next to its transcript; correct an item, see how often
supervisors agree with the automated score, decide agents' disputes, and send a contact (or one of
its turns) to the trainers. Every change goes through ``QualityService`` (audited there)."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from conversation.models import Speaker
from quality.kpis import KpiFilter
from quality.models import ContactRecord, Outcome
from quality.store import ContactRow
from ui.auth import current_user, require_page
from ui.format import escape_markdown, local_time
from ui.i18n import t
from ui.notices import attempt, forget, notify, show_attempt, show_notices
from ui.resources import get_services
from ui.scorecard import (
    open_contact,
    outcome_text,
    read_period,
    score_text,
    turn_label,
)

ALL = ""
LIST_LIMIT = 300


def _review(contact_id: str) -> None:
    user = current_user()
    if user is None:
        return
    item = str(st.session_state.get("qa_review_item", ""))
    outcome = st.session_state.get("qa_review_outcome", Outcome.PASS)
    note = str(st.session_state.get("qa_review_note", ""))
    done = attempt(
        lambda: get_services().quality.review(user, contact_id, item, outcome, note),
        t("qa_failed"),
    )
    if done is not None:
        forget("qa_review_note")
        notify(
            "success", t("qa_reviewed").format(score=score_text(done.qa.score if done.qa else None))
        )


def _decide(dispute_id: int, uphold: bool) -> None:
    user = current_user()
    if user is None:
        return
    note = str(st.session_state.get(f"qa_decision_{dispute_id}", ""))
    done = attempt(
        lambda: get_services().quality.decide_dispute(user, dispute_id, uphold, note),
        t("qa_failed"),
    )
    if done is not None:
        notify("success", t("qa_decided").format(state=t(f"dispute_{done.state}")))


def _send(contact_id: str, kind: str, turn_key: str | None) -> None:
    user = current_user()
    if user is None:
        return
    turn = st.session_state.get(turn_key) if turn_key else None
    note = str(st.session_state.get("qa_training_note", ""))
    case = attempt(
        lambda: get_services().quality.send_to_training(user, contact_id, kind, turn, note),
        t("qa_failed"),
    )
    if case is not None:
        notify("success", t("qa_sent").format(id=case.id))


def read_list(view: KpiFilter) -> list[ContactRow] | None:
    """The filters and the scored contacts of the period they keep."""
    agent_box, low_box, high_box, red_box = st.columns([2, 1, 1, 1])
    agents = show_attempt(lambda: get_services().quality.agents(view), t("qa_failed")) or []
    if st.session_state.get("qa_agent", ALL) not in (ALL, *agents):
        st.session_state["qa_agent"] = ALL
    agent = agent_box.selectbox(
        t("agent"),
        [ALL, *agents],
        format_func={ALL: t("all_agents"), **{n: n for n in agents}}.__getitem__,
        key="qa_agent",
    )
    low = low_box.number_input(t("qa_min_score"), value=None, step=5.0, key="qa_low")
    high = high_box.number_input(t("qa_max_score"), value=None, step=5.0, key="qa_high")
    red = red_box.checkbox(t("qa_redlines_only"), key="qa_red")
    chosen = view.model_copy(update={"agent": agent or None})
    return show_attempt(
        lambda: get_services().quality.scored_contacts(chosen, low, high, red, LIST_LIMIT),
        t("qa_failed"),
    )


def render_review(contact: ContactRecord) -> None:
    """Correct (or confirm) one item: pass, fail or n/a, with a note."""
    if contact.qa is None:
        return
    labels = {i.item: f"{i.label}（{i.item}）· {outcome_text(i.outcome)}" for i in contact.qa.items}
    with st.form("qa_review_form", border=True):
        st.markdown(f"**{t('qa_review')}**")
        item_box, outcome_box = st.columns([2, 1])
        item_box.selectbox(
            t("qa_item"), list(labels), format_func=labels.__getitem__, key="qa_review_item"
        )
        outcome_box.radio(
            t("qa_outcome"),
            list(Outcome),
            format_func={o: outcome_text(o) for o in Outcome}.__getitem__,
            horizontal=True,
            key="qa_review_outcome",
        )
        st.text_input(t("qa_note"), max_chars=500, key="qa_review_note")
        st.form_submit_button(t("qa_save_review"), on_click=_review, args=(contact.id,))


def render_training(contact: ContactRecord) -> None:
    """Send the contact as a coaching case, or a customer or agent turn to label."""
    with st.container(border=True):
        st.markdown(f"**{t('qa_to_training')}**")
        st.text_input(t("qa_training_note"), max_chars=500, key="qa_training_note")
        coaching, utterance, reply = st.columns(3)
        coaching.button(
            t("qa_send_coaching"),
            key="qa_send_coaching",
            on_click=_send,
            args=(contact.id, "coaching", None),
        )
        for box, speaker, kind, label, button in (
            (utterance, Speaker.CUSTOMER, "utterance", "qa_customer_turn", "qa_send_utterance"),
            (reply, Speaker.AGENT, "reply", "qa_agent_turn", "qa_send_reply"),
        ):
            turns = [i for i, turn in enumerate(contact.turns) if turn.speaker is speaker]
            if not turns:
                box.caption(t("qa_no_turns"))
                continue
            key = f"qa_turn_{kind}"
            if st.session_state.get(key) not in turns:
                st.session_state[key] = turns[0]  # another contact's turn: start from the first
            box.selectbox(t(label), turns, format_func=lambda i: turn_label(contact, i), key=key)
            box.button(
                t(button), key=f"qa_send_{kind}", on_click=_send, args=(contact.id, kind, key)
            )


def render_agreement() -> None:
    """Per item: how many first reviews kept the automated outcome."""
    st.subheader(t("qa_agreement"))
    rows = show_attempt(get_services().quality.agreement, t("qa_failed"))
    if rows is None:
        return
    if not rows:
        st.caption(t("qa_agreement_empty"))
        return
    st.dataframe(
        [
            {
                t("qa_item"): r.item,
                t("qa_reviewed_n"): r.reviewed,
                t("qa_agreed_n"): r.agreed,
                t("qa_agreement_rate"): "—" if r.rate is None else f"{100 * r.rate:.0f}%",
            }
            for r in rows
        ],
        hide_index=True,
    )


def render_disputes() -> None:
    """Agents' open disputes, each with a note and uphold / reject."""
    user = current_user()
    if user is None:
        return
    st.subheader(t("qa_disputes"))
    disputes = show_attempt(lambda: get_services().quality.disputes(user, "open"), t("qa_failed"))
    if disputes is None:
        return
    if not disputes:
        st.caption(t("qa_disputes_empty"))
    for dispute in disputes:
        with st.container(border=True):
            st.markdown(
                f"**{dispute.contact_id}** · `{dispute.item}` · {dispute.agent} · "
                f"{local_time(dispute.at)}"
            )
            st.caption(escape_markdown(dispute.note))
            note, uphold, reject = st.columns([3, 1, 1])
            note.text_input(t("qa_decision_note"), key=f"qa_decision_{dispute.id}", max_chars=500)
            uphold.button(
                t("qa_uphold"),
                key=f"qa_uphold_{dispute.id}",
                on_click=_decide,
                args=(dispute.id, True),
            )
            reject.button(
                t("qa_reject"),
                key=f"qa_reject_{dispute.id}",
                on_click=_decide,
                args=(dispute.id, False),
            )


def main() -> None:
    user = require_page(Action.MONITOR_CALLS)
    st.header(t("quality_header"))
    show_notices()
    period = read_period("qa_period", get_services().quality.today())
    if period is None:
        return
    view = show_attempt(lambda: KpiFilter(start=period[0], end=period[1]), t("qa_failed"))
    if view is None:
        return
    rows = read_list(view)
    if rows is not None:
        st.caption(t("qa_count").format(n=len(rows)))
        if not rows:
            st.info(t("qa_empty"))
        else:
            contact = open_contact(rows, "qa_contact", user)
            if contact is not None:
                render_review(contact)
                render_training(contact)
    left, right = st.columns([2, 3])
    with left:
        render_agreement()
    with right:
        render_disputes()


main()
