"""Trainer studio · import: upload documents, see how each splits into articles before anything is
saved, fix the split, then save the articles as drafts (and optionally send them to review)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from accounts.models import User
from accounts.permissions import Action, can
from core.models import PassageKind
from studio.curation import SavedImport, save_import
from studio.importer import (
    IMPORT_SUFFIXES,
    FileImportResult,
    ImportPreview,
    import_batch,
    merge_articles,
    rename_article,
    split_article,
)
from ui.auth import require_page
from ui.format import escape_markdown, excerpt, split_offset
from ui.i18n import t
from ui.notices import attempt, notify, show_notices
from ui.resources import get_services
from ui.studio import product_label

PREVIEWS = "import_previews"
RESULTS = "import_results"
SAVED = "import_saved"
UPLOAD_TYPES = sorted(suffix.lstrip(".") for suffix in IMPORT_SUFFIXES)


# ----- state changes (button callbacks) ---------------------------------------------------------


def _previews() -> list[ImportPreview]:
    previews: list[ImportPreview] = st.session_state.setdefault(PREVIEWS, [])
    return previews


def _preview_uploads() -> None:
    files = st.session_state.get("import_files") or []
    if not files:
        notify("warning", t("import_no_files"))
        return
    kind = st.session_state.get("import_kind")
    report = import_batch([(f.name, f.getvalue()) for f in files], default_kind=kind)
    st.session_state[RESULTS] = report.results
    st.session_state[PREVIEWS] = report.previews
    st.session_state.pop(SAVED, None)
    st.session_state["import_pick"] = 0


def _fix(index: int, edit: str, keys: dict[str, str]) -> None:
    previews = _previews()
    preview = previews[index]
    state = st.session_state

    def number(name: str) -> int:
        return int(state.get(keys[name], 0))

    def apply() -> ImportPreview:
        if edit == "merge":
            return merge_articles(preview, number("merge_i"), number("merge_j"))
        if edit == "split":
            i = number("split_i")
            text = preview.articles[i].text if 0 <= i < len(preview.articles) else ""
            marker = str(state.get(keys["split_marker"], ""))
            return split_article(preview, i, split_offset(text, marker, number("split_at")))
        return rename_article(preview, number("rename_i"), str(state.get(keys["rename_title"], "")))

    fixed = attempt(apply, t("fix_failed"))
    if fixed is not None:
        previews[index] = fixed
        notify("success", t("fix_done").format(n=len(fixed.articles)))


def _save(user: User, index: int) -> None:
    previews = _previews()
    preview = previews[index]
    note = str(st.session_state.get("import_note", ""))
    saved = attempt(
        lambda: save_import(get_services().studio, user, preview, note), t("import_save_failed")
    )
    if saved is None:
        return
    submitted: list[str] = []
    if st.session_state.get("import_submit") and can(user, Action.SUBMIT_REVIEW):
        studio = get_services().studio
        for item_id in [*saved.created, *saved.revised]:
            if attempt(partial(studio.submit, user, item_id, note), t("submit_failed")):
                submitted.append(item_id)
    del previews[index]
    st.session_state["import_pick"] = 0
    st.session_state.setdefault(SAVED, []).append((preview.filename, saved, submitted))


# ----- rendering --------------------------------------------------------------------------------


def render_results(results: list[FileImportResult]) -> None:
    """What happened to each uploaded file; each failure with its reason."""
    st.subheader(t("import_results"))
    st.dataframe(
        [
            {
                t("file"): r.filename,
                t("result"): f"✅ {t('import_ok')}" if r.ok else f"❌ {t('import_failed')}",
                t("articles"): r.articles if r.ok else None,
                t("warnings"): r.warnings if r.ok else None,
                t("reason"): r.reason,
            }
            for r in results
        ],
        hide_index=True,
    )
    for r in results:
        if not r.ok:
            problem = t(f"problem_{r.problem.value}") if r.problem else ""
            st.error(f"{r.filename}：{problem}（{r.reason}）")


def render_saved(saved: list[tuple[str, SavedImport, list[str]]]) -> None:
    """What each save created, revised and sent to review."""
    for filename, result, submitted in saved:
        st.success(
            t("import_saved").format(
                file=filename,
                created=len(result.created),
                revised=len(result.revised),
                unchanged=len(result.unchanged),
                submitted=len(submitted),
            )
        )
        ids = [*result.created, *result.revised]
        if ids:
            st.caption("、".join(ids))


def render_preview(preview: ImportPreview) -> None:
    """A document's metadata, warnings and proposed articles (nothing saved yet)."""
    meta = preview.meta
    st.markdown(f"**{escape_markdown(meta.document or preview.filename)}** · `{meta.doc_id}`")
    st.caption(
        " · ".join(
            [
                f"{t('kinds')}：{kind_label_of(meta.kind)}",
                f"{t('field_product')}：{product_label(meta.product)}",
                f"{t('field_effective_date')}：{meta.effective_date or '—'}",
                f"{t('field_version_label')}：{meta.version or '—'}",
                f"{t('split_scheme')}：{t('scheme_' + preview.scheme.value)}",
            ]
        )
    )
    for warning in preview.warnings:
        where = (
            f"（{t('articles')} {', '.join(str(i) for i in warning.articles)}）"
            if warning.articles
            else ""
        )
        st.warning(f"{t('warn_' + warning.code.value)}{where}：{warning.message}")
    st.dataframe(
        [
            {
                "#": i,
                "ID": a.id,
                t("field_article"): a.article,
                t("field_title"): a.title,
                t("chars"): a.chars,
                t("field_text"): excerpt(a.text),
            }
            for i, a in enumerate(preview.articles)
        ],
        hide_index=True,
    )


def kind_label_of(kind: PassageKind) -> str:
    """A passage kind in the session's language."""
    return t(f"kind_{kind.value}")


def render_fixes(preview: ImportPreview, index: int) -> None:
    """Merge, split and rename controls for the chosen preview."""
    last = max(len(preview.articles) - 1, 0)
    # keys change with the article count, so bounds from before a fix never reach the widgets
    generation = f"{index}-{len(preview.articles)}"
    keys = {
        name: f"fix-{name}-{generation}"
        for name in ("merge_i", "merge_j", "split_i", "split_marker", "rename_i", "rename_title")
    }
    with st.expander(t("fix_split"), expanded=True):
        merge, split, rename = st.columns(3)
        with merge:
            st.markdown(f"**{t('merge')}**")
            st.number_input(t("from_article"), 0, last, 0, key=keys["merge_i"])
            st.number_input(t("to_article"), 0, last, min(1, last), key=keys["merge_j"])
            st.button(t("merge"), key="fix-merge", on_click=_fix, args=(index, "merge", keys))
        with split:
            st.markdown(f"**{t('split')}**")
            chosen = int(st.number_input(t("article_no"), 0, last, 0, key=keys["split_i"]))
            text = preview.articles[chosen].text if preview.articles else ""
            keys["split_at"] = f"fix-split_at-{generation}-{chosen}"
            st.caption(f"{t('chars')}：{len(text)} · {excerpt(text, 40)}")
            st.number_input(t("split_at"), 0, len(text), len(text) // 2, key=keys["split_at"])
            st.text_input(t("split_marker"), key=keys["split_marker"], help=t("split_marker_help"))
            st.button(t("split"), key="fix-split", on_click=_fix, args=(index, "split", keys))
        with rename:
            st.markdown(f"**{t('rename')}**")
            st.number_input(t("article_no"), 0, last, 0, key=keys["rename_i"])
            st.text_input(t("new_title"), key=keys["rename_title"])
            st.button(t("rename"), key="fix-rename", on_click=_fix, args=(index, "rename", keys))


def render_save(user: User, index: int) -> None:
    """The note, "submit after saving" and the save button for the chosen preview."""
    with st.container(border=True):
        st.text_input(t("version_note"), key="import_note", placeholder=t("import_note_hint"))
        if can(user, Action.SUBMIT_REVIEW):
            st.checkbox(t("import_submit"), key="import_submit")
        st.button(
            t("import_save"), key="import_save", type="primary", on_click=_save, args=(user, index)
        )


def main() -> None:
    user = require_page(Action.EDIT_KB)
    st.header(t("studio_import_header"))
    st.caption(t("import_intro"))
    show_notices()
    st.file_uploader(
        t("import_upload"), type=UPLOAD_TYPES, accept_multiple_files=True, key="import_files"
    )
    kinds = [PassageKind.CLAUSE, PassageKind.CASE, PassageKind.FAQ]
    left, right = st.columns([2, 1])
    left.selectbox(t("import_kind"), kinds, format_func=kind_label_of, key="import_kind")
    right.button(
        t("import_preview"), key="import_preview", type="primary", on_click=_preview_uploads
    )
    saved = st.session_state.get(SAVED)
    if saved:
        render_saved(saved)
    results = st.session_state.get(RESULTS)
    if results:
        render_results(results)
    previews = _previews()
    if not previews:
        return
    st.subheader(t("import_split_preview"))
    names = [p.filename for p in previews]
    picked = st.selectbox(
        t("file"), range(len(names)), format_func=names.__getitem__, key="import_pick"
    )
    index = picked if picked is not None and picked < len(previews) else 0
    preview = previews[index]
    render_preview(preview)
    render_fixes(preview, index)
    render_save(user, index)


main()
