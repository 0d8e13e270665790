"""Trainer studio · feedback: agents' helpful / not-helpful votes on knowledge cards, each with the
question that produced the card and a link to the item; a trainer marks them dealt with."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from studio.feedback import Feedback
from ui.auth import require_page
from ui.format import escape_markdown, local_time
from ui.i18n import t
from ui.navigation import STUDIO_KB
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services


def _mark_reviewed(feedback_id: int) -> None:
    def mark() -> bool:
        get_services().feedback.mark_reviewed(feedback_id)
        return True

    if attempt(mark, t("feedback_failed")):
        notify("success", t("feedback_marked"))


def render_vote(vote: Feedback) -> None:
    """One vote: the card, the question, who voted, a link to the item, mark handled."""
    with st.container(border=True):
        info, link, action = st.columns([4, 1, 1])
        icon = "👍" if vote.helpful else "👎"
        info.markdown(f"{icon} **{escape_markdown(vote.citation)}** · `{vote.passage_id}`")
        info.caption(f"{t('question')}：{escape_markdown(vote.question)}")
        info.caption(
            f"{t('agent')} {vote.agent or '—'} · {vote.channel} · {local_time(vote.at)}"
            + (f" · {t('feedback_done')}" if vote.reviewed else "")
        )
        with link:
            st.page_link(
                STUDIO_KB.path,
                label=t("open_item"),
                icon="📚",
                query_params={"item": vote.passage_id},
            )
        if not vote.reviewed:
            action.button(
                t("mark_reviewed"),
                key=f"reviewed-{vote.id}",
                on_click=_mark_reviewed,
                args=(vote.id,),
            )


def main() -> None:
    require_page(Action.EDIT_KB)
    st.header(t("studio_feedback_header"))
    show_notices()
    services = get_services()
    include_reviewed = st.toggle(t("feedback_show_all"), key="feedback_all")
    summary = show_attempt(services.feedback.summary, t("feedback_failed"))
    if summary:
        with st.expander(t("feedback_by_item")):
            st.dataframe(
                [
                    {
                        t("field_citation"): s.citation,
                        "ID": s.passage_id,
                        "👍": s.helpful,
                        "👎": s.not_helpful,
                    }
                    for s in summary
                ],
                hide_index=True,
            )
    votes = show_attempt(
        lambda: services.feedback.votes(include_reviewed=include_reviewed), t("feedback_failed")
    )
    if votes is None:
        return
    st.caption(t("feedback_count").format(n=len(votes)))
    if not votes:
        st.info(t("feedback_empty"))
    for vote in votes:
        render_vote(vote)


main()
