"""Supervisor · audit log: who did what to which item and when; filter, read, export as CSV."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import streamlit as st

from accounts.permissions import Action, can
from audit.log import AuditFilter, export_csv
from ui.auth import missing_role, require_page
from ui.format import local_time
from ui.i18n import t
from ui.notices import show_attempt, show_notices
from ui.resources import get_services

LIMIT = 2000


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min).astimezone()


def render_filters() -> AuditFilter:
    """Actor, action, target and a date range; returns the filter they make."""
    with st.container(border=True):
        actor_col, action_col, target_col = st.columns(3)
        actor = actor_col.text_input(t("actor"), key="audit_actor")
        action = action_col.text_input(
            t("audit_action"), key="audit_action", help=t("audit_action_help")
        )
        target = target_col.text_input(t("audit_target"), key="audit_target")
        use_dates = st.checkbox(t("audit_use_dates"), key="audit_use_dates")
        since_col, until_col = st.columns(2)
        today = date.today()
        since = since_col.date_input(
            t("audit_since"), value=today - timedelta(days=7), key="audit_since"
        )
        until = until_col.date_input(t("audit_until"), value=today, key="audit_until")
    return AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        target=target.strip() or None,
        since=_local_midnight(since) if use_dates else None,
        until=_local_midnight(until + timedelta(days=1)) if use_dates else None,
    )


def main() -> None:
    user = require_page(Action.VIEW_AUDIT)
    st.header(t("audit_header"))
    show_notices()
    filters = render_filters()
    entries = show_attempt(
        lambda: get_services().audit.entries(filters, limit=LIMIT), t("audit_failed")
    )
    if entries is None:
        return
    st.caption(t("audit_count").format(n=len(entries), limit=LIMIT))
    if not entries:
        st.info(t("audit_empty"))
    else:
        st.dataframe(
            [
                {
                    t("time"): local_time(e.at),
                    t("actor"): e.actor,
                    t("audit_action"): e.action,
                    t("audit_target"): e.target,
                    t("audit_detail"): e.detail,
                }
                for e in entries
            ],
            hide_index=True,
        )
    if can(user, Action.EXPORT_AUDIT):
        st.download_button(
            t("audit_download"),
            data=export_csv(entries).encode("utf-8-sig"),  # Excel opens Chinese text correctly
            file_name=f"policydesk-audit-{date.today():%Y%m%d}.csv",
            mime="text/csv",
            key="audit_download",
            disabled=not entries,
        )
    else:
        st.caption(missing_role(Action.EXPORT_AUDIT))


main()
