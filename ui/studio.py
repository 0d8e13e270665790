"""Widgets the trainer-studio pages share: labels, the content form, diffs, the draft preview."""

from __future__ import annotations

from datetime import date

import streamlit as st

from accounts.models import User
from studio.curation import PreviewHit
from studio.diff import DiffRow, LineOp
from studio.items import ItemContent, ItemKind, ItemStatus
from studio.service import VersionDiff
from ui.format import (
    PRODUCTS,
    escape_markdown,
    format_data_lines,
    mark_spans,
    parse_data_lines,
    split_list,
)
from ui.i18n import t
from ui.notices import attempt, notify
from ui.resources import get_services

MIN_DATE, MAX_DATE = date(1990, 1, 1), date(2100, 12, 31)
DIFF_COLOURS = {LineOp.DELETE: "red", LineOp.INSERT: "green"}


# ----- labels -----------------------------------------------------------------------------------


def kind_label(kind: ItemKind | None) -> str:
    """An item kind in the session's language ("all" for None)."""
    return t("all") if kind is None else t(f"kind_{kind.value}")


def status_label(status: ItemStatus | None) -> str:
    """A workflow status in the session's language ("all" for None)."""
    return t("all") if status is None else t(f"status_{status.value}")


def product_label(product: str | None) -> str:
    """A product code in the session's language ("all" for None, "—" for none)."""
    if product is None:
        return t("all")
    if not product:
        return "—"
    return t(f"product_{product}") if product in PRODUCTS else product


def field_label(field: str) -> str:
    """A content field's name (``data.<key>`` fields keep their key)."""
    return field.removeprefix("data.") if field.startswith("data.") else t(f"field_{field}")


# ----- the content form -------------------------------------------------------------------------


def render_content_fields(prefix: str, kind: ItemKind, base: ItemContent) -> None:
    """The editable fields of an item's content (inside a form); widget keys start with prefix.

    Clauses add their document fields, cases their outcome and relied-on clauses, the kinds that
    are not indexed (scripts, term maps, rules, utterances) their ``key: value`` data lines.
    """
    st.text_input(t("field_title"), value=base.title, key=f"{prefix}-title")
    st.text_area(t("field_text"), value=base.text, height=200, key=f"{prefix}-text")
    left, right = st.columns(2)
    left.text_input(t("field_citation"), value=base.citation, key=f"{prefix}-citation")
    products = ["", *PRODUCTS]
    if base.product not in products:
        products.append(base.product)
    right.selectbox(
        t("field_product"),
        products,
        index=products.index(base.product),
        format_func=product_label,
        key=f"{prefix}-product",
    )
    left.date_input(
        t("field_effective_date"),
        value=base.effective_date,
        min_value=MIN_DATE,
        max_value=MAX_DATE,
        key=f"{prefix}-effective_date",
    )
    right.date_input(
        t("field_expiry_date"),
        value=base.expiry_date,
        min_value=MIN_DATE,
        max_value=MAX_DATE,
        key=f"{prefix}-expiry_date",
    )
    st.text_input(t("field_tags"), value="、".join(base.tags), key=f"{prefix}-tags")
    if kind is ItemKind.CLAUSE:
        left, right = st.columns(2)
        left.text_input(t("field_document"), value=base.document, key=f"{prefix}-document")
        right.text_input(t("field_doc_id"), value=base.doc_id, key=f"{prefix}-doc_id")
        left.text_input(t("field_article"), value=base.article, key=f"{prefix}-article")
        right.text_input(
            t("field_version_label"), value=base.version_label, key=f"{prefix}-version_label"
        )
    elif kind is ItemKind.CASE:
        st.text_input(t("field_outcome"), value=base.outcome, key=f"{prefix}-outcome")
        st.text_input(
            t("field_relied_on"), value="、".join(base.relied_on), key=f"{prefix}-relied_on"
        )
        st.checkbox(t("field_illustrative"), value=base.illustrative, key=f"{prefix}-illustrative")
    elif not kind.indexed:
        st.text_area(
            t("field_data"),
            value=format_data_lines(base.data),
            help=t("field_data_help"),
            key=f"{prefix}-data",
        )


def content_from_fields(prefix: str, kind: ItemKind, base: ItemContent) -> ItemContent:
    """The content the form's widgets hold (fields the form does not show keep base's values).

    Raises:
        FormInputError: data lines that are not ``key: value``.
        pydantic.ValidationError: content that is not valid (e.g. expiry before effective date).
    """
    state = st.session_state

    def value(name: str, default: object) -> object:
        return state.get(f"{prefix}-{name}", default)

    update: dict[str, object] = {
        "title": str(value("title", base.title)).strip(),
        "text": str(value("text", base.text)).strip(),
        "citation": str(value("citation", base.citation)).strip(),
        "product": value("product", base.product) or "",
        "effective_date": value("effective_date", base.effective_date),
        "expiry_date": value("expiry_date", base.expiry_date),
        "tags": split_list(str(value("tags", "、".join(base.tags)))),
    }
    if kind is ItemKind.CLAUSE:
        for name in ("document", "doc_id", "article", "version_label"):
            update[name] = str(value(name, getattr(base, name))).strip()
    elif kind is ItemKind.CASE:
        update["outcome"] = str(value("outcome", base.outcome)).strip()
        update["relied_on"] = split_list(str(value("relied_on", "、".join(base.relied_on))))
        update["illustrative"] = bool(value("illustrative", base.illustrative))
    elif not kind.indexed:
        update["data"] = parse_data_lines(str(value("data", format_data_lines(base.data))))
    return ItemContent.model_validate(base.model_dump() | update)


def render_content(content: ItemContent) -> None:
    """One version's content, read-only."""
    st.markdown(f"**{escape_markdown(content.title or '—')}**")
    facts = [
        f"{t('field_citation')}：{content.citation or '—'}",
        f"{t('field_product')}：{product_label(content.product)}",
        f"{t('field_effective_date')}：{content.effective_date or '—'}",
        f"{t('field_expiry_date')}：{content.expiry_date or '—'}",
    ]
    if content.document or content.article:
        facts.append(f"{content.document} {content.article} {content.version_label}".strip())
    if content.outcome:
        facts.append(f"{t('field_outcome')}：{content.outcome}")
    if content.tags:
        facts.append(f"{t('field_tags')}：{'、'.join(content.tags)}")
    st.caption(" · ".join(facts))
    st.markdown(escape_markdown(content.text).replace("\n", "  \n") or "—")
    if content.relied_on:
        st.caption(f"{t('field_relied_on')}：{'、'.join(content.relied_on)}")
    if content.data:
        st.code(format_data_lines(content.data), language=None)


# ----- diffs ------------------------------------------------------------------------------------


def _side(row: DiffRow, left: bool) -> str:
    number, text, spans = (
        (row.left_no, row.left, row.left_spans)
        if left
        else (row.right_no, row.right, row.right_spans)
    )
    if number is None:
        return " "
    colour = "red" if left else "green"
    if row.op is LineOp.REPLACE:
        body = mark_spans(text, spans, colour)
    elif row.op in DIFF_COLOURS:
        body = f":{DIFF_COLOURS[row.op]}-background[{escape_markdown(text) or ' '}]"
    else:
        body = escape_markdown(text)
    return f"`{number:>3}` {body}"


def render_diff(diff: VersionDiff) -> None:
    """Two versions compared: the changed fields as a table, then the text side by side."""
    st.markdown(f"**v{diff.before} → v{diff.after}**")
    if not diff.diff.changed:
        st.info(t("diff_same"))
        return
    others = [c for c in diff.diff.changes if c.field != "text"]
    if others:
        st.dataframe(
            [
                {
                    t("diff_field"): field_label(c.field),
                    f"v{diff.before}": c.before,
                    f"v{diff.after}": c.after,
                }
                for c in others
            ],
            hide_index=True,
        )
    if "text" not in diff.diff.changed_fields:
        return
    head_left, head_right = st.columns(2)
    head_left.caption(f"{t('field_text')} v{diff.before}")
    head_right.caption(f"{t('field_text')} v{diff.after}")
    for row in diff.diff.text_rows:
        left, right = st.columns(2)
        left.markdown(_side(row, left=True))
        right.markdown(_side(row, left=False))


# ----- previewing retrieval with drafts -----------------------------------------------------------


def _run_draft_preview(user: User, item_ids: list[str], key: str) -> None:
    question = str(st.session_state.get(f"{key}-question", "")).strip()
    if not question:
        notify("warning", t("preview_needs_question"))
        return
    hits = attempt(
        lambda: get_services().draft_preview(user, item_ids).search(question, k=5),
        t("preview_failed"),
    )
    if hits is not None:
        st.session_state[f"{key}-hits"] = hits


def render_preview_hits(hits: list[PreviewHit]) -> None:
    """A preview ranking, drafts marked."""
    if not hits:
        st.info(t("no_hits"))
    for rank, entry in enumerate(hits, start=1):
        hit = entry.hit
        badge = f":orange-badge[{t('draft_badge')}] " if entry.draft else ""
        st.markdown(f"{rank}. {badge}**{escape_markdown(hit.citation or hit.id)}**")
        score = f" · {t('score')} {hit.dense_score:.2f}" if hit.dense_score is not None else ""
        st.caption(f"{hit.id} · {hit.title}{score}")


def render_draft_preview(user: User, item_ids: list[str], key: str) -> None:
    """'Preview retrieval with this draft': a question box and the ranking with the draft placed."""
    st.text_input(t("preview_question"), key=f"{key}-question")
    st.button(
        t("preview_run"),
        key=f"{key}-run",
        on_click=_run_draft_preview,
        args=(user, item_ids, key),
    )
    hits = st.session_state.get(f"{key}-hits")
    if hits is not None:
        render_preview_hits(hits)
