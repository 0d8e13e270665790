"""Approvals (审批): requests beyond an agent's authority level (分层授权), longest waiting first;
a supervisor approves or refuses each (a refusal needs a note). Decisions are audited
(``calls.approvals``)."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from calls.approvals import Approval
from ui.auth import current_user, require_page
from ui.i18n import t
from ui.notices import attempt, notify, show_notices
from ui.resources import get_services
from ui.widgets import approval_line

NOTE = "approval_note_"


def _decide(approval_id: int, approve: bool) -> None:
    user = current_user()
    if user is None:
        return
    note = str(st.session_state.get(f"{NOTE}{approval_id}", ""))
    decided = attempt(
        lambda: get_services().approvals.decide(user, approval_id, approve, note),
        t("approval_decide_failed"),
    )
    if decided is not None:
        st.session_state.pop(f"{NOTE}{approval_id}", None)
        notify("success", t("approval_decided").format(id=approval_id))


def render_request(approval: Approval) -> None:
    with st.container(border=True):
        st.markdown(approval_line(approval))
        st.caption(f"{approval.call_id}")
        st.text_input(t("approval_note"), key=f"{NOTE}{approval.id}", max_chars=300)
        approve, refuse = st.columns(2)
        approve.button(
            t("approval_approve"),
            key=f"approve-{approval.id}",
            on_click=_decide,
            args=(approval.id, True),
            type="primary",
        )
        refuse.button(
            t("approval_refuse"),
            key=f"refuse-{approval.id}",
            on_click=_decide,
            args=(approval.id, False),
        )


def main() -> None:
    user = require_page(Action.DECIDE_APPROVALS)
    st.header(t("approvals_header"))
    show_notices()
    pending = get_services().approvals.pending(user)
    if not pending:
        st.caption(t("approvals_empty"))
    for approval in pending:
        render_request(approval)


main()
