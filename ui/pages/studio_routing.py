"""Trainer studio · routing review: the chatbot's routing decisions the learned detector made on
its own (handoffs only it wanted, rule triggers it overruled as calm). A trainer or supervisor
labels each with the route it should have taken; the labels download as a routing set that the
detector's training takes as an author set."""

from __future__ import annotations

from datetime import date

import streamlit as st

from accounts.models import User
from accounts.permissions import Action
from chatbot.handoff import REASON_TEXT
from chatbot.review import ReviewKind, RoutingReview, as_jsonl, label_as
from chatbot.understanding import HUMAN_TRIGGERS, Reason
from ui.auth import require_page
from ui.format import escape_markdown, local_time
from ui.i18n import t
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services

TRIGGERS = [r for r in Reason if r in HUMAN_TRIGGERS]


def _reason_label(reason: Reason) -> str:
    return f"{REASON_TEXT.get(reason.value, reason.value)} ({reason.value})"


def _should(route: str) -> str:
    return t("routing_should_human" if route == "human" else "routing_should_bot")


def _save(user: User, entry: RoutingReview) -> None:
    route = str(st.session_state.get(f"routing-route-{entry.id}", "human"))
    chosen = st.session_state.get(f"routing-reasons-{entry.id}", [])
    reasons = [Reason(r) for r in chosen] if route == "human" else []
    services = get_services()
    done = attempt(
        lambda: label_as(user, services.routing_reviews, services.audit, entry.id, route, reasons),
        t("routing_failed"),
    )
    if done is not None:
        notify("success", t("routing_labelled").format(id=entry.id))


def render_entry(user: User, entry: RoutingReview) -> None:
    """One decision: the message, what the bot did and why, and the reviewer's label."""
    with st.container(border=True):
        kind = t(f"routing_kind_{entry.kind.value}")
        went = t("routing_went_human") if entry.route == "human" else t("routing_went_bot")
        st.markdown(f"**{escape_markdown(entry.text)}**")
        p = "—" if entry.learned_p is None else f"{entry.learned_p:.2f}"
        why = entry.overruled if entry.kind is ReviewKind.OVERRULED else entry.reasons
        st.caption(
            f"{kind} · {went} · P(human) {p} · "
            + "、".join(REASON_TEXT.get(r.value, r.value) for r in why)
            + f" · {local_time(entry.created_at)}"
            + (f" · {t('handoff_no')} {entry.handoff_id}" if entry.handoff_id else "")
        )
        if entry.label_route is not None:
            label = t(
                "routing_should_human" if entry.label_route == "human" else "routing_should_bot"
            )
            st.caption(
                f"{t('routing_label')}：{label} "
                + "、".join(REASON_TEXT.get(r.value, r.value) for r in entry.label_reasons)
                + f" · {entry.labelled_by} · {local_time(entry.labelled_at)}"
            )
        route_col, reasons_col, save_col = st.columns([2, 3, 1])
        current = entry.label_route or entry.route
        route = route_col.radio(
            t("routing_label"),
            ["human", "bot"],
            index=0 if current == "human" else 1,
            format_func=lambda r: t(
                "routing_should_human" if r == "human" else "routing_should_bot"
            ),
            key=f"routing-route-{entry.id}",
        )
        suggested = entry.label_reasons or entry.suggested_reasons()
        reasons_col.multiselect(
            t("routing_reasons"),
            [r.value for r in TRIGGERS],
            default=[r.value for r in suggested],
            format_func=lambda r: _reason_label(Reason(r)),
            key=f"routing-reasons-{entry.id}",
            disabled=route == "bot",
        )
        save_col.button(
            t("routing_save"),
            key=f"routing-save-{entry.id}",
            on_click=_save,
            args=(user, entry),
        )


def main() -> None:
    user = require_page(Action.REVIEW_ROUTING)
    st.header(t("studio_routing_header"))
    st.caption(t("routing_intro"))
    show_notices()
    log = get_services().routing_reviews
    counts = show_attempt(log.counts, t("routing_failed"))
    if counts is None:
        return
    left, middle, right = st.columns(3)
    left.metric(t("routing_kind_learned_only"), counts[ReviewKind.LEARNED_ONLY.value])
    middle.metric(t("routing_kind_overruled"), counts[ReviewKind.OVERRULED.value])
    right.metric(t("routing_labelled_count"), counts["labelled"])
    records = show_attempt(log.export, t("routing_failed"))
    st.download_button(
        t("routing_download"),
        data=as_jsonl(records or []).encode(),
        file_name=f"routing_reviewed-{date.today():%Y%m%d}.jsonl",
        mime="application/jsonl",
        key="routing_download",
        disabled=not records,
    )
    include_labelled = st.toggle(t("routing_show_all"), key="routing_all")
    entries = show_attempt(
        lambda: log.entries(labelled=None if include_labelled else False), t("routing_failed")
    )
    if entries is None:
        return
    if not entries:
        st.info(t("routing_empty"))
    for entry in entries:
        render_entry(user, entry)


main()
