"""Login, logout and page gating for the browser session.

The logged-in ``User`` is kept in ``st.session_state[USER]``. It is re-read from the account store
on every render (``current_user``), so a deactivated account or a changed role takes effect at the
next click, not at the next login. A failed login says only that it failed, never which part was
wrong (the account store answers every failure alike).
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from accounts.login import LoginThrottledError
from accounts.models import Role, User
from accounts.permissions import Action, can, roles_for
from accounts.store import AuthenticationError
from core.errors import PolicyDeskError
from ui.i18n import t
from ui.resources import get_services

USER = "auth_user"
LOGIN_ERROR = "auth_login_error"
_KEEP_ON_LOGOUT = ("lang",)


def role_label(role: Role) -> str:
    """A role's name in the session's language."""
    return t(f"role_{role.value}")


def current_user() -> User | None:
    """The logged-in user, refreshed from the account store; None when nobody is logged in.

    A session whose account was deactivated or removed meanwhile is logged out.
    """
    user: User | None = st.session_state.get(USER)
    if user is None:
        return None
    try:
        fresh = get_services().accounts.get(user.username)
    except PolicyDeskError:
        fresh = None
    if fresh is None or not fresh.active:
        st.session_state.pop(USER, None)
        return None
    if fresh != user:
        st.session_state[USER] = fresh
    return fresh


def _login() -> None:
    username = str(st.session_state.get("login_username", ""))
    password = str(st.session_state.get("login_password", ""))
    st.session_state["login_password"] = ""  # never keep a password in the session
    if not username.strip() or not password:
        st.session_state[LOGIN_ERROR] = t("login_failed")
        return
    try:
        user = get_services().login.login(username, password, client=_client())
    except AuthenticationError:
        st.session_state[LOGIN_ERROR] = t("login_failed")
        return
    except LoginThrottledError as exc:
        key = "login_locked" if exc.locked else "login_wait"
        st.session_state[LOGIN_ERROR] = t(key).format(seconds=exc.retry_after)
        return
    except PolicyDeskError as exc:
        st.session_state[LOGIN_ERROR] = f"{t('login_unavailable')}{exc}"
        return
    st.session_state[USER] = user


def _client() -> str:
    """Who is logging in, for the per-client throttle: the browser's address when known."""
    address = getattr(st.context, "ip_address", None)
    return f"ip:{address}" if address else "console"


def logout() -> None:
    """Forget the user and everything the session held for them (a call, a preview, forms)."""
    for key in list(st.session_state):
        if key not in _KEEP_ON_LOGOUT:
            del st.session_state[key]


def render_login_form(where: DeltaGenerator) -> None:
    """Username and password; on success the session holds the user and the navigation grows."""
    with where.form("login_form", border=False):
        st.text_input(t("username"), key="login_username")
        st.text_input(t("password"), type="password", key="login_password")
        st.form_submit_button(t("login"), type="primary", on_click=_login)
    error = st.session_state.pop(LOGIN_ERROR, None)
    if error:
        where.error(error)


def render_demo_password_banner() -> None:
    """While any account still has the shipped demo password, every page says so at the top."""
    try:
        names = get_services().accounts.demo_password_accounts()
    except PolicyDeskError:
        return  # no database yet: nothing to warn about
    if names:
        st.warning(t("demo_passwords_in_use").format(accounts="、".join(names)), icon="⚠️")


def render_account_panel() -> User | None:
    """The sidebar's account box: the login form, or who is logged in and a logout button."""
    user = current_user()
    box = st.sidebar.container(border=True)
    if user is None:
        box.markdown(f"**{t('login_title')}**")
        render_login_form(box)
        return None
    roles = "、".join(role_label(role) for role in user.sorted_roles())
    box.markdown(f"👤 **{user.label}**（{user.username}）")
    box.caption(roles)
    box.button(t("logout"), key="logout", on_click=logout)
    return user


def require_page(*actions: Action) -> User:
    """The logged-in user, when one of their roles allows one of ``actions``; otherwise a clear
    message and the page stops here.

    Args:
        actions: the actions that open the page (any one suffices; none means any logged-in user).
    """
    user = current_user()
    if user is None:
        st.warning(t("login_required"))
        st.stop()
    if actions and not any(can(user, action) for action in actions):
        needed = {role for action in actions for role in roles_for(action)}
        names = "、".join(role_label(role) for role in Role if role in needed)
        st.error(t("role_required").format(roles=names))
        st.stop()
    return user


def missing_role(action: Action) -> str:
    """The message for an action the user's roles do not allow (shown instead of its button)."""
    names = "、".join(role_label(role) for role in roles_for(action))
    return t("action_needs_role").format(roles=names)
