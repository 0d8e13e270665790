"""Widgets the quality pages share: a contact in a list, a scorecard's items with their evidence,
and the transcript with the evidence highlighted."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import streamlit as st

from accounts.models import User
from conversation.models import Speaker
from quality.kpis import default_period
from quality.models import ContactRecord, Evidence, ItemScore, Outcome
from quality.store import ContactRow
from ui.format import escape_markdown, highlight_markdown, local_time
from ui.i18n import t
from ui.notices import show_attempt
from ui.resources import get_services

OUTCOME_ICONS = {Outcome.PASS: "✅", Outcome.FAIL: "❌", Outcome.NA: "➖"}
TRANSCRIPT_HEIGHT = 520


def read_period(key: str, today: date) -> tuple[date, date] | None:
    """A period chooser (default: the 90 days before today, and today, in the centre's time
    zone); None while only its first day is chosen (a message says so)."""
    period = st.date_input(
        t("period"),
        value=default_period(today),
        max_value=today,
        key=key,
    )
    if not isinstance(period, tuple) or len(period) != 2:
        st.info(t("period_incomplete"))
        return None
    return period[0], period[1]


def outcome_text(outcome: Outcome) -> str:
    """An item's outcome with its icon, in the session's language."""
    return f"{OUTCOME_ICONS[outcome]} {t(f'outcome_{outcome.value}')}"


def speaker_text(speaker: Speaker | None) -> str:
    """Who said a turn, in the session's language."""
    if speaker is None:
        return "—"
    if speaker is Speaker.BOT:
        return "🤖"
    return t(f"speaker_{speaker.value}")


def score_text(score: float | None) -> str:
    """A scorecard's score ('—' when no item applied)."""
    return "—" if score is None else f"{score:.1f}"


def row_label(row: ContactRow) -> str:
    """A scored contact in a chooser: id, agent, when, score and red lines."""
    flags = f" · ⛔{row.redlines}" if row.redlines else ""
    return (
        f"{row.id} · {row.agent or '🤖'} · {local_time(row.started_at)} · "
        f"{score_text(row.qa_score)}{flags}"
    )


def evidence_line(evidence: Evidence, contact: ContactRecord) -> str:
    """One piece of evidence: the turn, who spoke, the words (highlighted) and the source."""
    parts: list[str] = []
    if evidence.turn is not None:
        parts.append(t("qa_evidence_turn").format(turn=evidence.turn + 1))
    speaker = evidence.speaker
    if speaker is None and evidence.turn is not None and evidence.turn < len(contact.turns):
        speaker = contact.turns[evidence.turn].speaker
    if speaker is not None:
        parts.append(speaker_text(speaker))
    if evidence.span:
        parts.append(highlight_markdown(evidence.span, [evidence.span]))
    parts.append(f"{t('qa_evidence_source')} `{evidence.source}`")
    if evidence.note:
        parts.append(escape_markdown(evidence.note))
    return " · ".join(parts)


def render_item(item: ItemScore, contact: ContactRecord) -> None:
    """One scorecard item: its outcome, why, and where in the contact it comes from."""
    with st.container(border=True):
        st.markdown(
            f"{outcome_text(item.outcome)} · **{escape_markdown(item.label)}** `{item.item}`"
        )
        if item.reason:
            st.caption(escape_markdown(item.reason))
        for evidence in item.evidence:
            st.caption(evidence_line(evidence, contact))


def render_scorecard(contact: ContactRecord) -> None:
    """The contact's scorecard: the score line, then every item."""
    qa = contact.qa
    if qa is None:
        st.info(t("qa_no_scorecard"))
        return
    st.markdown(
        t("qa_score_line").format(
            score=score_text(qa.score), redlines=qa.redlines, card=escape_markdown(qa.scorecard)
        )
    )
    for item in qa.items:
        render_item(item, contact)


def render_transcript(contact: ContactRecord) -> None:
    """The contact's turns, numbered from 1 as the evidence is, with the words the scorecard's
    evidence names highlighted."""
    spans: dict[int, list[str]] = defaultdict(list)
    for item in contact.qa.items if contact.qa else []:
        for evidence in item.evidence:
            if evidence.turn is not None and evidence.span:
                spans[evidence.turn].append(evidence.span)
    with st.container(height=TRANSCRIPT_HEIGHT):
        for number, turn in enumerate(contact.turns):
            role = "user" if turn.speaker is Speaker.CUSTOMER else "assistant"
            with st.chat_message(role, avatar="🤖" if turn.speaker is Speaker.BOT else None):
                st.caption(f"#{number + 1} · {speaker_text(turn.speaker)}")
                st.markdown(highlight_markdown(turn.text, spans.get(number, [])))
                if turn.findings:
                    st.caption("⛔ " + escape_markdown("、".join(turn.findings)))


def open_contact(rows: list[ContactRow], key: str, user: User) -> ContactRecord | None:
    """A chooser over the listed contacts (the first by default) and the chosen one, whole and
    rendered; None when it cannot be read (a message says why)."""
    labels = {r.id: row_label(r) for r in rows}
    if st.session_state.get(key) not in labels:
        st.session_state[key] = rows[0].id
    chosen = st.selectbox(t("qa_choose"), list(labels), format_func=labels.__getitem__, key=key)
    contact = show_attempt(lambda: get_services().quality.contact(user, chosen), t("qa_failed"))
    if contact is not None:
        render_contact(contact)
    return contact


def render_contact(contact: ContactRecord) -> None:
    """A scored contact: its scorecard next to its transcript."""
    st.caption(
        f"{contact.id} · {contact.agent or '🤖'} · {contact.channel} · "
        f"{local_time(contact.started_at)} · {escape_markdown(contact.disposition or '—')}"
    )
    left, right = st.columns([1, 1])
    with left:
        st.subheader(t("qa_scorecard"))
        render_scorecard(contact)
    with right:
        st.subheader(t("transcript"))
        render_transcript(contact)


def turn_label(contact: ContactRecord, index: int) -> str:
    """A turn in a chooser: its number (from 1) and its start."""
    text = " ".join(contact.turns[index].text.split())
    return f"#{index + 1} {text[:40]}{'…' if len(text) > 40 else ''}"
