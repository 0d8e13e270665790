"""Trainer studio · knowledge base: browse and filter items, open one to read, edit, compare,
submit, roll back or retire it; create a new item."""

from __future__ import annotations

from datetime import date

import streamlit as st

from accounts.models import User
from accounts.permissions import Action, can
from studio.items import ItemDetail, ItemKind, ItemQuery, ItemStatus, ItemSummary, PassageContent
from studio.service import edit_action
from ui.auth import missing_role, require_page
from ui.format import PRODUCTS, local_time
from ui.i18n import t
from ui.notices import attempt, forget, notify, show_attempt, show_notices
from ui.resources import get_services
from ui.studio import (
    content_from_fields,
    kind_label,
    product_label,
    render_content,
    render_content_fields,
    render_diff,
    render_draft_preview,
    status_label,
)

SELECTED = "kb_item"
QUERY_APPLIED = "kb_item_from_link"


# ----- state changes (button callbacks) ---------------------------------------------------------


def _select(item_id: str) -> None:
    st.session_state[SELECTED] = item_id
    st.query_params["item"] = item_id


def _create(user: User) -> None:
    kind = ItemKind(st.session_state.get("new_kind", ItemKind.CLAUSE))
    item_id = str(st.session_state.get("new-id", "")).strip() or None
    note = str(st.session_state.get("new-note", ""))
    created = attempt(
        lambda: get_services().studio.create(
            user, kind, content_from_fields("new", kind, None), note, item_id=item_id
        ),
        t("create_failed"),
    )
    if created is not None:
        forget("new-")
        _select(created.id)
        notify("success", t("created").format(id=created.id))


def _save_version(user: User, detail: ItemDetail, prefix: str) -> None:
    item = detail.item
    note = str(st.session_state.get(f"{prefix}-note", ""))
    updated = attempt(
        lambda: get_services().studio.edit(
            user, item.id, content_from_fields(prefix, item.kind, detail.current.content), note
        ),
        t("save_failed"),
    )
    if updated is not None:
        notify("success", t("saved_version").format(id=item.id, version=updated.current_version))


def _submit(user: User, item_id: str) -> None:
    note = str(st.session_state.get(f"submit-note-{item_id}", ""))
    if attempt(lambda: get_services().studio.submit(user, item_id, note), t("submit_failed")):
        notify("success", t("submitted").format(id=item_id))


def _rollback(user: User, item_id: str) -> None:
    version = st.session_state.get(f"rollback-to-{item_id}")
    note = str(st.session_state.get(f"rollback-note-{item_id}", ""))
    if version is None:
        return
    done = attempt(
        lambda: get_services().studio.rollback(user, item_id, int(version), note),
        t("rollback_failed"),
    )
    if done is not None:
        notify("success", t("rolled_back").format(id=item_id, version=version))


def _retire(user: User, item_id: str) -> None:
    note = str(st.session_state.get(f"retire-note-{item_id}", ""))
    if attempt(lambda: get_services().studio.retire(user, item_id, note), t("retire_failed")):
        notify("success", t("retired").format(id=item_id))


# ----- rendering --------------------------------------------------------------------------------


def render_filters() -> ItemQuery:
    """Kind, status, product, in-force date and text; returns the query they make."""
    with st.container(border=True):
        kind_col, status_col, product_col = st.columns(3)
        kind = kind_col.selectbox(
            t("kinds"), [None, *ItemKind], format_func=kind_label, key="kb_kind"
        )
        status = status_col.selectbox(
            t("status"), [None, *ItemStatus], format_func=status_label, key="kb_status"
        )
        product = product_col.selectbox(
            t("products"), [None, *PRODUCTS], format_func=product_label, key="kb_product"
        )
        text_col, date_col = st.columns([2, 1])
        text = text_col.text_input(t("kb_text"), key="kb_text")
        use_date = date_col.checkbox(t("use_date"), key="kb_use_date")
        on = date_col.date_input(t("as_of"), value=date.today(), key="kb_as_of")
    return ItemQuery(
        kind=kind,
        status=status,
        product=product,
        effective_on=on if use_date else None,
        text=text.strip() or None,
    )


def _row(summary: ItemSummary) -> dict[str, str]:
    item, content = summary.item, summary.content
    passage = content if isinstance(content, PassageContent) else None  # only passages cite
    return {
        "ID": item.id,
        t("kinds"): kind_label(item.kind),
        t("status"): status_label(item.status),
        t("field_title"): content.title,
        t("field_citation"): passage.citation if passage else "",
        t("field_product"): product_label(passage.product) if passage else "—",
        t("latest_version"): f"v{item.current_version}",
        t("live_version"): f"v{item.published_version}" if item.live else "—",
        t("updated_at"): local_time(item.updated_at),
    }


def render_table(items: list[ItemSummary]) -> None:
    """The matching items, one row each."""
    st.caption(t("kb_count").format(n=len(items)))
    if not items:
        st.info(t("kb_empty"))
        return
    st.dataframe([_row(s) for s in items], hide_index=True)


def render_create(user: User) -> None:
    """The "new item" form (kind first: its fields depend on it)."""
    with st.expander(t("kb_create")):
        if not can(user, Action.EDIT_KB):
            st.caption(missing_role(Action.EDIT_KB))
            return
        kind = (
            st.selectbox(t("kinds"), list(ItemKind), format_func=kind_label, key="new_kind")
            or ItemKind.CLAUSE
        )
        with st.form("new_item"):
            st.text_input(t("item_id"), key="new-id", help=t("item_id_help"))
            render_content_fields("new", kind, None)
            st.text_input(t("version_note"), key="new-note")
            st.form_submit_button(t("create"), type="primary", on_click=_create, args=(user,))


def render_versions(detail: ItemDetail) -> None:
    """Every version with author, time, note and status, and one version's content."""
    st.dataframe(
        [
            {
                t("version"): f"v{v.number}",
                t("status"): status_label(v.status),
                t("author"): v.author,
                t("time"): local_time(v.at),
                t("version_note"): v.note,
                t("published_by"): v.published_by or "",
                t("published_at"): local_time(v.published_at) if v.published_at else "",
            }
            for v in reversed(detail.versions)
        ],
        hide_index=True,
    )
    numbers = [v.number for v in reversed(detail.versions)]
    shown = st.selectbox(
        t("show_version"),
        numbers,
        format_func=lambda n: f"v{n}",
        key=f"show-{detail.item.id}",
    )
    version = detail.version(shown)
    if version is not None:
        render_content(version.content)


def render_edit(user: User, detail: ItemDetail) -> None:
    """The edit form; saving makes a new draft version."""
    item = detail.item
    action = edit_action(item.kind)
    if not can(user, action):
        st.caption(missing_role(action))
        return
    if item.status is ItemStatus.RETIRED:
        st.info(t("retired_no_edit"))
        return
    prefix = f"edit-{item.id}-v{item.current_version}"  # a new version starts a fresh form
    with st.form(prefix):
        st.caption(t("edit_from").format(version=item.current_version))
        render_content_fields(prefix, item.kind, detail.current.content)
        st.text_input(t("version_note"), key=f"{prefix}-note")
        st.form_submit_button(
            t("save_version"),
            type="primary",
            on_click=_save_version,
            args=(user, detail, prefix),
        )


def render_compare(user: User, detail: ItemDetail) -> None:
    """Two versions side by side (the live one against the latest by default)."""
    item = detail.item
    numbers = [v.number for v in detail.versions]
    if len(numbers) < 2:
        st.caption(t("diff_needs_two"))
        return
    default_before = item.published_version
    if default_before is None or default_before == item.current_version:
        default_before = numbers[-2]
    left, right = st.columns(2)
    before = left.selectbox(
        t("diff_before"),
        numbers,
        index=numbers.index(default_before),
        format_func=lambda n: f"v{n}",
        key=f"diff-a-{item.id}",
    )
    after = right.selectbox(
        t("diff_after"),
        numbers,
        index=len(numbers) - 1,
        format_func=lambda n: f"v{n}",
        key=f"diff-b-{item.id}",
    )
    diff = show_attempt(
        lambda: get_services().studio.diff(user, item.id, before, after), t("diff_failed")
    )
    if diff is not None:
        render_diff(diff)


def render_workflow(user: User, detail: ItemDetail) -> None:
    """Submit for review, preview retrieval with the draft, roll back, retire."""
    item = detail.item
    if item.review_note and item.status is ItemStatus.DRAFT:
        st.warning(f"{t('review_note')}：{item.review_note}")
    with st.container(border=True):
        st.markdown(f"**{t('submit_review')}**")
        if item.status is ItemStatus.IN_REVIEW:
            st.caption(t("already_in_review"))
        elif item.status is not ItemStatus.DRAFT:
            st.caption(t("submit_only_drafts"))
        elif not can(user, Action.SUBMIT_REVIEW):
            st.caption(missing_role(Action.SUBMIT_REVIEW))
        else:
            st.text_input(t("submit_note"), key=f"submit-note-{item.id}")
            st.button(
                t("submit_review"),
                key=f"submit-{item.id}",
                type="primary",
                on_click=_submit,
                args=(user, item.id),
            )
    if item.kind.indexed and item.published_version != item.current_version:
        with st.container(border=True):
            st.markdown(f"**{t('preview_title')}**")
            render_draft_preview(user, [item.id], key=f"kb-preview-{item.id}")
    with st.container(border=True):
        st.markdown(f"**{t('rollback')}**")
        targets = [
            v.number
            for v in reversed(detail.versions)
            if v.was_published
            and not (item.status is ItemStatus.PUBLISHED and v.number == item.published_version)
        ]
        if not can(user, Action.ROLLBACK):
            st.caption(missing_role(Action.ROLLBACK))
        elif not targets:
            st.caption(t("rollback_none"))
        else:
            st.selectbox(
                t("rollback_to"),
                targets,
                format_func=lambda n: f"v{n}",
                key=f"rollback-to-{item.id}",
            )
            st.text_input(t("version_note"), key=f"rollback-note-{item.id}")
            st.button(
                t("rollback"), key=f"rollback-{item.id}", on_click=_rollback, args=(user, item.id)
            )
    with st.container(border=True):
        st.markdown(f"**{t('retire')}**")
        if not can(user, Action.RETIRE):
            st.caption(missing_role(Action.RETIRE))
        elif item.status is ItemStatus.RETIRED:
            st.caption(t("is_retired"))
        else:
            st.text_input(t("version_note"), key=f"retire-note-{item.id}")
            st.button(t("retire"), key=f"retire-{item.id}", on_click=_retire, args=(user, item.id))


def render_item(user: User, item_id: str) -> None:
    """One item: its state, then content, versions, edit, compare and workflow tabs."""
    detail = show_attempt(lambda: get_services().studio.get(user, item_id), t("open_failed"))
    if detail is None:
        return
    item, current = detail.item, detail.current
    st.subheader(current.content.title or item.id)
    live = f"v{item.published_version}" if item.published_version else "—"
    st.caption(
        f"{item.id} · {kind_label(item.kind)} · {status_label(item.status)} · "
        f"{t('latest_version')} v{item.current_version} · {t('live_version')} {live} · "
        f"{t('author')} {current.author}"
    )
    content, versions, edit, compare, workflow = st.tabs(
        [t("tab_content"), t("tab_versions"), t("tab_edit"), t("tab_diff"), t("tab_workflow")]
    )
    with content:
        render_content(current.content)
    with versions:
        render_versions(detail)
    with edit:
        render_edit(user, detail)
    with compare:
        render_compare(user, detail)
    with workflow:
        render_workflow(user, detail)


def main() -> None:
    user = require_page(Action.EDIT_KB, Action.PUBLISH)
    st.header(t("studio_kb_header"))
    linked = st.query_params.get("item")
    if linked and st.session_state.get(QUERY_APPLIED) != linked:
        st.session_state[QUERY_APPLIED] = linked  # a link from the feedback queue opens its item
        st.session_state[SELECTED] = linked
    show_notices()
    query = render_filters()
    items = show_attempt(lambda: get_services().studio.search(user, query), t("search_failed"))
    if items is None:
        return
    render_table(items)
    render_create(user)
    ids = [s.item.id for s in items]
    chosen = st.session_state.get(SELECTED)
    if chosen and chosen not in ids:
        ids.append(chosen)  # the opened item stays open when the filters no longer match it
    titles = {s.item.id: s.content.title for s in items}
    st.selectbox(
        t("open_item"),
        [None, *ids],
        format_func=lambda i: "—" if i is None else f"{i} · {titles.get(i, '')}",
        key=SELECTED,
    )
    if st.session_state.get(SELECTED):
        render_item(user, str(st.session_state[SELECTED]))


main()
