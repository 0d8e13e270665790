"""Supervisor · users: list local accounts, add one, change roles, deactivate or reactivate."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from accounts.models import Role, User
from accounts.permissions import Action
from ui.auth import require_page, role_label
from ui.format import local_time
from ui.i18n import t
from ui.notices import attempt, forget, notify, show_attempt, show_notices
from ui.resources import get_services


def _audited(me: User, action: str, change: Callable[[], User], detail: str = "") -> User:
    """Make an account change and record who made it (the account store does not audit;
    ``policydesk user add`` records its changes the same way)."""
    changed = change()
    get_services().audit.record(me.username, action, changed.username, detail)
    return changed


def _add(me: User) -> None:
    state = st.session_state
    roles = list(state.get("user-new-roles", []))
    added = attempt(
        lambda: _audited(
            me,
            "user.add",
            lambda: get_services().accounts.add(
                str(state.get("user-new-name", "")),
                str(state.get("user-new-password", "")),
                roles,
                display_name=str(state.get("user-new-display", "")),
            ),
            ",".join(str(role) for role in roles),
        ),
        t("user_failed"),
    )
    state["user-new-password"] = ""  # never keep a password in the session
    if added is not None:
        forget("user-new-")
        notify("success", t("user_added").format(username=added.username))


def _set_roles(me: User, username: str) -> None:
    roles = list(st.session_state.get(f"user-roles-{username}", []))
    if username == me.username and Role.SUPERVISOR not in roles:
        notify("warning", t("user_keep_own_supervisor"))  # nobody could manage users any more
        return
    accounts = get_services().accounts
    changed = attempt(
        lambda: _audited(
            me,
            "user.roles",
            lambda: accounts.set_roles(username, roles),
            ",".join(str(role) for role in roles),
        ),
        t("user_failed"),
    )
    if changed is not None:
        notify("success", t("user_roles_saved").format(username=username))


def _set_active(me: User, username: str, active: bool) -> None:
    if username == me.username and not active:
        notify("warning", t("user_not_self"))
        return
    accounts = get_services().accounts
    change = accounts.activate if active else accounts.deactivate
    action = "user.activate" if active else "user.deactivate"
    if attempt(lambda: _audited(me, action, lambda: change(username)), t("user_failed")):
        notify(
            "success",
            t("user_activated" if active else "user_deactivated").format(username=username),
        )


def render_list(users: list[User]) -> None:
    """Every account with its roles and state."""
    st.dataframe(
        [
            {
                t("username"): u.username,
                t("display_name"): u.display_name,
                t("roles"): "、".join(role_label(r) for r in u.sorted_roles()),
                t("user_state"): t("user_active") if u.active else t("user_inactive"),
                t("created_at"): local_time(u.created_at),
            }
            for u in users
        ],
        hide_index=True,
    )


def render_add(me: User) -> None:
    """The "add a user" form."""
    with st.expander(t("user_add")), st.form("user_add"):
        left, right = st.columns(2)
        left.text_input(t("username"), key="user-new-name", help=t("username_help"))
        right.text_input(t("display_name"), key="user-new-display")
        left.text_input(
            t("password"), type="password", key="user-new-password", help=t("password_help")
        )
        right.multiselect(t("roles"), list(Role), format_func=role_label, key="user-new-roles")
        st.form_submit_button(t("user_add"), type="primary", on_click=_add, args=(me,))


def render_edit(me: User, users: list[User]) -> None:
    """One account's roles, and deactivate or reactivate."""
    by_name = {u.username: u for u in users}
    picked = st.selectbox(
        t("user_pick"),
        [None, *by_name],
        format_func=lambda n: "—" if n is None else f"{n} · {by_name[n].label}",
        key="user_pick",
    )
    if picked is None or picked not in by_name:
        return
    user = by_name[picked]
    with st.container(border=True):
        st.multiselect(
            t("roles"),
            list(Role),
            default=user.sorted_roles(),
            format_func=role_label,
            key=f"user-roles-{picked}",
        )
        roles, state, _ = st.columns([1, 1, 3])
        roles.button(
            t("user_save_roles"), key=f"user-save-{picked}", on_click=_set_roles, args=(me, picked)
        )
        if user.active:
            state.button(
                t("user_deactivate"),
                key=f"user-off-{picked}",
                on_click=_set_active,
                args=(me, picked, False),
            )
        else:
            state.button(
                t("user_activate"),
                key=f"user-on-{picked}",
                on_click=_set_active,
                args=(me, picked, True),
            )


def main() -> None:
    me = require_page(Action.MANAGE_USERS)
    st.header(t("users_header"))
    show_notices()
    users = show_attempt(get_services().accounts.list, t("user_failed"))
    if users is None:
        return
    render_list(users)
    render_add(me)
    render_edit(me, users)


main()
