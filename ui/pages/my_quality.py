"""My quality checks (我的质检) for agents: their own scored contacts, each scorecard's items and
evidence next to the transcript, a dispute on any item with a note, and how their disputes went."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from quality.kpis import KpiFilter
from quality.models import ContactRecord
from ui.auth import current_user, require_page
from ui.format import local_time
from ui.i18n import t
from ui.notices import attempt, forget, notify, show_attempt, show_notices
from ui.resources import get_services
from ui.scorecard import open_contact, outcome_text, read_period

LIST_LIMIT = 200


def _dispute(contact_id: str) -> None:
    user = current_user()
    if user is None:
        return
    item = str(st.session_state.get("my_dispute_item", ""))
    note = str(st.session_state.get("my_dispute_note", ""))
    if attempt(
        lambda: get_services().quality.dispute(user, contact_id, item, note), t("qa_failed")
    ):
        forget("my_dispute_note")
        notify("success", t("my_dispute_sent"))


def render_dispute_form(contact: ContactRecord) -> None:
    """Dispute one item of this scorecard, saying why."""
    if contact.qa is None:
        return
    labels = {i.item: f"{i.label}（{i.item}）· {outcome_text(i.outcome)}" for i in contact.qa.items}
    with st.form("my_dispute_form", border=True):
        st.markdown(f"**{t('my_dispute')}**")
        st.selectbox(
            t("qa_item"), list(labels), format_func=labels.__getitem__, key="my_dispute_item"
        )
        st.text_area(t("my_dispute_note"), max_chars=500, key="my_dispute_note")
        st.form_submit_button(t("my_dispute_send"), on_click=_dispute, args=(contact.id,))


def render_my_disputes() -> None:
    """Every dispute the agent raised, with its state and the decision's note."""
    user = current_user()
    if user is None:
        return
    st.subheader(t("my_disputes"))
    disputes = show_attempt(lambda: get_services().quality.my_disputes(user), t("qa_failed"))
    if disputes is None:
        return
    if not disputes:
        st.caption(t("my_disputes_empty"))
        return
    st.dataframe(
        [
            {
                t("col_contact"): d.contact_id,
                t("qa_item"): d.item,
                t("qa_note"): d.note,
                t("col_started"): local_time(d.at),
                t("dispute_state"): t(f"dispute_{d.state}"),
                t("qa_decision_note"): d.decision_note or "",
            }
            for d in disputes
        ],
        hide_index=True,
    )


def main() -> None:
    user = require_page(Action.USE_CONSOLE)
    st.header(t("my_quality_header"))
    show_notices()
    period = read_period("my_period", get_services().quality.today())
    if period is not None:
        view = show_attempt(lambda: KpiFilter(start=period[0], end=period[1]), t("qa_failed"))
        rows = (
            show_attempt(
                lambda: get_services().quality.my_scorecards(user, view, LIST_LIMIT),
                t("qa_failed"),
            )
            if view is not None
            else None
        )
        if rows is not None and not rows:
            st.info(t("my_quality_empty"))
        elif rows:
            contact = open_contact(rows, "my_contact", user)
            if contact is not None:
                render_dispute_form(contact)
    render_my_disputes()


main()
