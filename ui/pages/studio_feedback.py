"""Trainer studio · feedback: agents' helpful / not-helpful votes on knowledge cards, each with the
question that produced the card and a link to the item; and the cases supervisors sent from quality
checks (a coaching case, a caller's utterance or an agent's reply to label). A trainer marks both
dealt with."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from quality.store import CoachingCase
from studio.feedback import Feedback
from ui.auth import current_user, require_page
from ui.format import escape_markdown, local_time
from ui.i18n import t
from ui.navigation import STUDIO_KB
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services
from ui.scorecard import speaker_text


def _mark_reviewed(feedback_id: int) -> None:
    def mark() -> bool:
        get_services().feedback.mark_reviewed(feedback_id)
        return True

    if attempt(mark, t("feedback_failed")):
        notify("success", t("feedback_marked"))


def _coaching_done(case_id: int) -> None:
    user = current_user()
    if user is None:
        return

    def mark() -> bool:
        get_services().quality.coaching_done(user, case_id)
        return True

    if attempt(mark, t("feedback_failed")):
        notify("success", t("coaching_marked"))


def render_case(case: CoachingCase) -> None:
    """One case from quality checks: its kind, the words, the note, the evidence, who sent it."""
    with st.container(border=True):
        info, action = st.columns([5, 1])
        info.markdown(f"**{t(f'coaching_kind_{case.kind}')}** · {escape_markdown(case.text)}")
        if case.note:
            info.caption(f"{t('qa_note')}：{escape_markdown(case.note)}")
        for evidence in case.evidence:
            where = (
                t("qa_evidence_turn").format(turn=evidence.turn + 1)
                if evidence.turn is not None
                else ""
            )
            info.caption(
                " · ".join(
                    part
                    for part in (
                        where,
                        speaker_text(evidence.speaker) if evidence.speaker else "",
                        escape_markdown(evidence.span),
                        f"`{evidence.source}`",
                    )
                    if part
                )
            )
        info.caption(
            t("coaching_sent_by").format(
                by=case.by, at=local_time(case.at), contact=case.contact_id
            )
            + (f" · {t('feedback_done')}" if case.reviewed else "")
        )
        if not case.reviewed:
            action.button(
                t("coaching_done"),
                key=f"coaching-done-{case.id}",
                on_click=_coaching_done,
                args=(case.id,),
            )


def render_coaching(include_reviewed: bool) -> None:
    """The cases supervisors sent from quality checks."""
    st.subheader(t("coaching_header"))
    cases = show_attempt(
        lambda: get_services().quality.coaching(include_reviewed), t("feedback_failed")
    )
    if cases is None:
        return
    st.caption(t("coaching_count").format(n=len(cases)))
    if not cases:
        st.info(t("coaching_empty"))
    for case in cases:
        render_case(case)


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
    render_coaching(include_reviewed)
    st.subheader(t("feedback_votes_header"))
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
