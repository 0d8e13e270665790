"""Widgets the trainer-studio pages share: labels, the content form, diffs, the draft preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st

from accounts.models import User
from core.models import Emotion
from prompts.guard import ComplianceRule, RuleCategory, Severity
from retrieval.synonyms import TermEntry
from sentiment.scripts import ANY_EMOTION, SCRIPT_EMOTIONS, SoothingScript
from studio.curation import PreviewHit
from studio.diff import DiffRow, LineOp, render_value
from studio.items import (
    NEW_RECORD_ID,
    ItemContent,
    ItemKind,
    ItemStatus,
    PassageContent,
    RuleContent,
    ScriptContent,
    TermContent,
    UtteranceContent,
)
from studio.service import VersionDiff
from ui.format import PRODUCTS, escape_markdown, mark_spans, split_lines, split_list
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
    """A content field's name in the session's language."""
    return t(f"field_{field}")


# ----- the content form -------------------------------------------------------------------------


def render_content_fields(prefix: str, kind: ItemKind, base: ItemContent | None) -> None:
    """The editable fields of an item's content (inside a form); widget keys start with prefix.

    Each kind edits its own typed fields: clauses add their document fields and cases their
    outcome and relied-on clauses; a script its situation and emotion; a term its expression and
    synonyms; a compliance rule its category, severity, patterns and exceptions (one per line),
    reason and rewrite; a labelled utterance its label, split, situation and escalation. ``base``
    is the content being edited (None for a new item).
    """
    if kind.indexed:
        _passage_fields(prefix, kind, base if isinstance(base, PassageContent) else None)
    elif kind is ItemKind.SCRIPT:
        _script_fields(prefix, base.script if isinstance(base, ScriptContent) else None)
    elif kind is ItemKind.TERM_MAP:
        _term_fields(prefix, base.term if isinstance(base, TermContent) else None)
    elif kind is ItemKind.COMPLIANCE_RULE:
        _rule_fields(prefix, base.rule if isinstance(base, RuleContent) else None)
    else:
        _utterance_fields(prefix, base if isinstance(base, UtteranceContent) else None)


def content_from_fields(prefix: str, kind: ItemKind, base: ItemContent | None) -> ItemContent:
    """The content the form's widgets hold (fields the form does not show keep base's values).

    Raises:
        pydantic.ValidationError: content that is not valid (an expiry before the effective date,
            a pattern that does not compile, a term without synonyms ...), naming the value.
    """
    form = _Form(prefix)
    if kind.indexed:
        return _read_passage(form, kind, base if isinstance(base, PassageContent) else None)
    if kind is ItemKind.SCRIPT:
        return _read_script(form, base.script if isinstance(base, ScriptContent) else None)
    if kind is ItemKind.TERM_MAP:
        return _read_term(form, base.term if isinstance(base, TermContent) else None)
    if kind is ItemKind.COMPLIANCE_RULE:
        return _read_rule(form, base.rule if isinstance(base, RuleContent) else None)
    return _read_utterance(form, base if isinstance(base, UtteranceContent) else None)


class _Form:
    """The values of one form's widgets (keys ``<prefix>-<field>``); a widget the form did not
    show gives the default."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def value(self, name: str, default: object) -> object:
        return st.session_state.get(f"{self._prefix}-{name}", default)

    def text(self, name: str, default: str) -> str:
        return str(self.value(name, default)).strip()

    def entries(self, name: str, default: list[str]) -> list[str]:
        """A list typed on one line, separated by 、 or commas."""
        return split_list(self.text(name, "、".join(default)))

    def lines(self, name: str, default: list[str]) -> list[str]:
        """A list typed one entry per line."""
        return split_lines(self.text(name, _lines(default)))


def _read_passage(form: _Form, kind: ItemKind, base: PassageContent | None) -> PassageContent:
    def get(name: str, blank: Any = "") -> Any:
        return getattr(base, name) if base is not None else blank

    names = ["title", "text", "citation"]
    if kind is ItemKind.CLAUSE:
        names += ["document", "doc_id", "article", "version_label"]
    elif kind is ItemKind.CASE:
        names.append("outcome")
    update: dict[str, object] = {name: form.text(name, get(name)) for name in names}
    update |= {
        "kind": kind,
        "product": form.value("product", get("product")) or "",
        "effective_date": form.value("effective_date", get("effective_date", None)),
        "expiry_date": form.value("expiry_date", get("expiry_date", None)),
        "tags": form.entries("tags", get("tags", [])),
    }
    if kind is ItemKind.CASE:
        update["relied_on"] = form.entries("relied_on", get("relied_on", []))
        update["illustrative"] = bool(form.value("illustrative", get("illustrative", False)))
    return PassageContent.model_validate((base.model_dump() if base else {}) | update)


def _read_script(form: _Form, script: SoothingScript | None) -> ScriptContent:
    record = {
        "id": script.id if script else NEW_RECORD_ID,
        "title": form.text("title", script.title if script else ""),
        "text": form.text("text", script.text if script else ""),
        "situation": form.text("situation", script.situation if script else "general"),
        "emotion": form.value("emotion", script.emotion if script else ANY_EMOTION),
    }
    return ScriptContent.model_validate({"script": record})


def _read_term(form: _Form, term: TermEntry | None) -> TermContent:
    record = {
        "expression": form.text("expression", term.expression if term else ""),
        "synonyms": form.entries("synonyms", term.synonyms if term else []),
    }
    return TermContent.model_validate({"term": record})


def _read_rule(form: _Form, rule: ComplianceRule | None) -> RuleContent:
    record = {
        "id": rule.id if rule else NEW_RECORD_ID,
        "category": form.value("category", rule.category if rule else RuleCategory.PROMISE),
        "severity": form.value("severity", rule.severity if rule else Severity.HIGH),
        "patterns": form.lines("patterns", rule.patterns if rule else []),
        "unless": form.lines("unless", rule.unless if rule else []),
        "reason": form.text("reason", rule.reason if rule else ""),
        "rewrite": form.text("rewrite", rule.rewrite if rule else ""),
    }
    return RuleContent.model_validate({"rule": record})


def _read_utterance(form: _Form, base: UtteranceContent | None) -> UtteranceContent:
    said = base.utterance if base else None
    record = {
        "id": said.id if said else NEW_RECORD_ID,
        "text": form.text("text", said.text if said else ""),
        "label": form.value("label", said.label if said else Emotion.NEUTRAL),
        "situation": form.text("situation", said.situation if said else "general"),
        "escalation": bool(form.value("escalation", said.escalation if said else False)),
    }
    split = form.value("split", base.split if base else "train")
    return UtteranceContent.model_validate({"utterance": record, "split": split})


def _lines(values: list[str]) -> str:
    return "\n".join(values)


def _choice(
    prefix: str, name: str, options: list[str], current: str, label: Callable[[str], str] = str
) -> None:
    st.selectbox(
        t(f"field_{name}"),
        options,
        index=options.index(current) if current in options else 0,
        format_func=label,
        key=f"{prefix}-{name}",
    )


def _passage_fields(prefix: str, kind: ItemKind, base: PassageContent | None) -> None:
    def get(name: str, blank: Any = "") -> Any:  # a new item's fields start blank
        return getattr(base, name) if base is not None else blank

    st.text_input(t("field_title"), value=get("title"), key=f"{prefix}-title")
    st.text_area(t("field_text"), value=get("text"), height=200, key=f"{prefix}-text")
    left, right = st.columns(2)
    left.text_input(t("field_citation"), value=get("citation"), key=f"{prefix}-citation")
    products = ["", *PRODUCTS]
    if get("product") not in products:
        products.append(get("product"))
    right.selectbox(
        t("field_product"),
        products,
        index=products.index(get("product")),
        format_func=product_label,
        key=f"{prefix}-product",
    )
    for column, name in ((left, "effective_date"), (right, "expiry_date")):
        column.date_input(
            t(f"field_{name}"),
            value=get(name, None),
            min_value=MIN_DATE,
            max_value=MAX_DATE,
            key=f"{prefix}-{name}",
        )
    st.text_input(t("field_tags"), value="、".join(get("tags", [])), key=f"{prefix}-tags")
    if kind is ItemKind.CLAUSE:
        left, right = st.columns(2)
        left.text_input(t("field_document"), value=get("document"), key=f"{prefix}-document")
        right.text_input(t("field_doc_id"), value=get("doc_id"), key=f"{prefix}-doc_id")
        left.text_input(t("field_article"), value=get("article"), key=f"{prefix}-article")
        right.text_input(
            t("field_version_label"), value=get("version_label"), key=f"{prefix}-version_label"
        )
    elif kind is ItemKind.CASE:
        st.text_input(t("field_outcome"), value=get("outcome"), key=f"{prefix}-outcome")
        st.text_input(
            t("field_relied_on"), value="、".join(get("relied_on", [])), key=f"{prefix}-relied_on"
        )
        st.checkbox(
            t("field_illustrative"), value=get("illustrative", False), key=f"{prefix}-illustrative"
        )


def _script_fields(prefix: str, script: SoothingScript | None) -> None:
    st.text_input(t("field_title"), value=script.title if script else "", key=f"{prefix}-title")
    st.text_area(
        t("field_text"), value=script.text if script else "", height=150, key=f"{prefix}-text"
    )
    left, right = st.columns(2)
    left.text_input(
        t("field_situation"),
        value=script.situation if script else "general",
        help=t("field_situation_help"),
        key=f"{prefix}-situation",
    )
    with right:
        _choice(
            prefix,
            "emotion",
            list(SCRIPT_EMOTIONS),
            script.emotion if script else ANY_EMOTION,
            emotion_label,
        )


def _term_fields(prefix: str, term: TermEntry | None) -> None:
    st.text_input(
        t("field_expression"), value=term.expression if term else "", key=f"{prefix}-expression"
    )
    st.text_input(
        t("field_synonyms"),
        value="、".join(term.synonyms) if term else "",
        key=f"{prefix}-synonyms",
    )


def _rule_fields(prefix: str, rule: ComplianceRule | None) -> None:
    left, right = st.columns(2)
    with left:
        _choice(
            prefix,
            "category",
            [c.value for c in RuleCategory],
            rule.category.value if rule else RuleCategory.PROMISE.value,
        )
    with right:
        _choice(
            prefix,
            "severity",
            [s.value for s in Severity],
            rule.severity.value if rule else Severity.HIGH.value,
        )
    st.text_area(
        t("field_patterns"),
        value=_lines(rule.patterns) if rule else "",
        help=t("field_patterns_help"),
        key=f"{prefix}-patterns",
    )
    st.text_area(
        t("field_unless"), value=_lines(rule.unless) if rule else "", key=f"{prefix}-unless"
    )
    st.text_area(t("field_reason"), value=rule.reason if rule else "", key=f"{prefix}-reason")
    st.text_area(t("field_rewrite"), value=rule.rewrite if rule else "", key=f"{prefix}-rewrite")


def _utterance_fields(prefix: str, content: UtteranceContent | None) -> None:
    said = content.utterance if content else None
    st.text_area(t("field_text"), value=said.text if said else "", key=f"{prefix}-text")
    left, right = st.columns(2)
    with left:
        _choice(
            prefix,
            "label",
            [e.value for e in Emotion],
            said.label.value if said else Emotion.NEUTRAL.value,
            emotion_label,
        )
    with right:
        _choice(prefix, "split", ["train", "dev"], content.split if content else "train")
    left.text_input(
        t("field_situation"),
        value=said.situation if said else "general",
        key=f"{prefix}-situation",
    )
    right.checkbox(
        t("field_escalation"), value=said.escalation if said else False, key=f"{prefix}-escalation"
    )


def emotion_label(emotion: str) -> str:
    """A caller emotion (or "any") in the session's language."""
    return t(f"emotion_{emotion}")


def render_content(content: ItemContent) -> None:
    """One version's content, read-only: the title, the facts, the main text, then lists (a
    rule's patterns and exceptions) one per line."""
    st.markdown(f"**{escape_markdown(content.title or '—')}**")
    fields = content.fields()
    lines = {
        name: value
        for name, value in fields.items()
        if isinstance(content, RuleContent) and isinstance(value, list)
    }
    if isinstance(content, PassageContent):
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
    else:
        facts = [
            f"{field_label(name)}：{render_value(value) or '—'}"
            for name, value in fields.items()
            if name not in (content.body_field, "title") and name not in lines
        ]
    st.caption(" · ".join(facts))
    body = render_value(fields[content.body_field])
    st.markdown(escape_markdown(body).replace("\n", "  \n") or "—")
    if isinstance(content, PassageContent) and content.relied_on:
        st.caption(f"{t('field_relied_on')}：{'、'.join(content.relied_on)}")
    for name, values in lines.items():
        st.caption(field_label(name))
        st.code(_lines(values) or "—", language=None)


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
    body = diff.diff.text_field
    others = [c for c in diff.diff.changes if c.field != body]
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
    if body not in diff.diff.changed_fields:
        return
    head_left, head_right = st.columns(2)
    head_left.caption(f"{field_label(body)} v{diff.before}")
    head_right.caption(f"{field_label(body)} v{diff.after}")
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
