"""Trainer studio · review queue: each item in review with its change against the live version, a
retrieval preview with the draft, and publish or request changes (a reviewer other than the
author)."""

from __future__ import annotations

import streamlit as st

from accounts.models import User
from accounts.permissions import Action, can
from studio.items import ItemQuery, ItemStatus
from ui.auth import missing_role, require_page
from ui.format import local_time
from ui.i18n import t
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services
from ui.studio import kind_label, render_content, render_diff, render_draft_preview


def _publish(user: User, item_id: str) -> None:
    note = str(st.session_state.get(f"review-note-{item_id}", ""))
    done = attempt(lambda: get_services().studio.publish(user, item_id, note), t("publish_failed"))
    if done is not None:
        notify("success", t("published").format(id=item_id, version=done.published_version))


def _request_changes(user: User, item_id: str) -> None:
    note = str(st.session_state.get(f"review-note-{item_id}", ""))
    if not note.strip():
        notify("warning", t("changes_need_note"))
        return
    if attempt(
        lambda: get_services().studio.request_changes(user, item_id, note), t("changes_failed")
    ):
        notify("success", t("changes_requested").format(id=item_id))


def render_review(user: User, item_id: str) -> None:
    """One item in review: who wrote what, the change, a preview, and the reviewer's decision."""
    studio = get_services().studio
    detail = show_attempt(lambda: studio.get(user, item_id), t("open_failed"))
    if detail is None:
        return
    item, current = detail.item, detail.current
    with st.container(border=True):
        st.markdown(f"**{current.content.label or item.id}**")
        st.caption(
            f"{item.id} · {kind_label(item.kind)} · v{current.number} · "
            f"{t('author')} {current.author} · {local_time(current.at)}"
        )
        if current.note:
            st.caption(f"{t('version_note')}：{current.note}")
        live = item.published_version
        if live is not None:
            st.caption(t("diff_against_live").format(version=live))
            diff = show_attempt(
                lambda: studio.diff(user, item.id, live, current.number), t("diff_failed")
            )
            if diff is not None:
                render_diff(diff)
        else:
            st.caption(t("new_item_no_live"))
            render_content(current.content)
        if item.kind.indexed:
            with st.expander(t("preview_title")):
                render_draft_preview(user, [item.id], key=f"review-preview-{item.id}")
        if not can(user, Action.PUBLISH):
            st.caption(missing_role(Action.PUBLISH))
            return
        if current.author == user.username:
            st.caption(t("own_draft"))
        st.text_input(t("review_note_input"), key=f"review-note-{item.id}")
        publish, changes, _ = st.columns([1, 1, 3])
        publish.button(
            t("publish"),
            key=f"publish-{item.id}",
            type="primary",
            on_click=_publish,
            args=(user, item.id),
        )
        changes.button(
            t("request_changes"),
            key=f"changes-{item.id}",
            on_click=_request_changes,
            args=(user, item.id),
        )


def main() -> None:
    user = require_page(Action.SUBMIT_REVIEW, Action.PUBLISH)
    st.header(t("studio_review_header"))
    show_notices()
    waiting = show_attempt(
        lambda: get_services().studio.search(user, ItemQuery(status=ItemStatus.IN_REVIEW)),
        t("search_failed"),
    )
    if waiting is None:
        return
    st.caption(t("review_count").format(n=len(waiting)))
    if not waiting:
        st.info(t("review_empty"))
    for summary in waiting:
        render_review(user, summary.item.id)


main()
