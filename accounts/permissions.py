"""Which role may do which action (pure).

The matrix is data: ``ROLE_ACTIONS``. A supervisor holds every trainer, reviewer and agent
action plus user management and the audit log; agents use the console. Pages and services call
``require`` before acting; the CLI runs as the local operator and may skip it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from accounts.models import Role, User
from core.errors import PolicyDeskError


class Action(StrEnum):
    """Something a user may be allowed to do."""

    VIEW_KB = "view_kb"
    EDIT_KB = "edit_kb"
    SUBMIT_REVIEW = "submit_review"
    PUBLISH = "publish"
    RETIRE = "retire"
    ROLLBACK = "rollback"
    RUN_EVAL = "run_eval"
    EDIT_GOLDEN = "edit_golden"
    MANAGE_UTTERANCES = "manage_utterances"
    RETRAIN = "retrain"
    REVIEW_ROUTING = "review_routing"
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    MANAGE_USERS = "manage_users"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"
    HANDLE_PRIVACY_REQUESTS = "handle_privacy_requests"
    MONITOR_CALLS = "monitor_calls"
    HANDLE_HANDOFFS = "handle_handoffs"
    USE_CONSOLE = "use_console"
    DECIDE_APPROVALS = "decide_approvals"
    """Approve or refuse an agent's request beyond their authority level (分层授权)."""


_AGENT = frozenset({Action.USE_CONSOLE, Action.HANDLE_HANDOFFS, Action.VIEW_KB})
_TRAINER = frozenset(
    {
        Action.VIEW_KB,
        Action.EDIT_KB,
        Action.SUBMIT_REVIEW,
        Action.RUN_EVAL,
        Action.EDIT_GOLDEN,
        Action.MANAGE_UTTERANCES,
        Action.RETRAIN,
        Action.REVIEW_ROUTING,
    }
)
_REVIEWER = frozenset({Action.VIEW_KB, Action.PUBLISH, Action.RETIRE, Action.ROLLBACK})

ROLE_ACTIONS: Mapping[Role, frozenset[Action]] = {
    Role.AGENT: _AGENT,
    Role.TRAINER: _TRAINER,
    Role.REVIEWER: _REVIEWER,
    # supervisors also take escalated calls and handoffs (升级主管), so they hold the console
    Role.SUPERVISOR: _TRAINER
    | _REVIEWER
    | _AGENT
    | {
        Action.MANAGE_USERS,
        Action.VIEW_AUDIT,
        Action.EXPORT_AUDIT,
        Action.REVEAL_PERSONAL_DATA,
        Action.HANDLE_PRIVACY_REQUESTS,
        Action.MONITOR_CALLS,
        Action.DECIDE_APPROVALS,
    },
}


class PermissionDeniedError(PolicyDeskError):
    """The user's roles do not allow the action; names the roles that would."""

    def __init__(self, username: str, action: Action, needed: list[Role], reason: str = "") -> None:
        roles = " or ".join(role.value for role in needed)
        super().__init__(
            f"{username} may not {action.value}: " + (reason or f"this needs the role {roles}")
        )
        self.username = username
        self.action = action
        self.needed = needed


def actions_for(roles: Iterable[Role]) -> frozenset[Action]:
    """Every action any of these roles allows."""
    allowed: frozenset[Action] = frozenset()
    for role in roles:
        allowed |= ROLE_ACTIONS[role]
    return allowed


def roles_for(action: Action) -> list[Role]:
    """The roles that allow this action, in the order of ``Role``."""
    return [role for role in Role if action in ROLE_ACTIONS[role]]


def can(user: User, action: Action) -> bool:
    """True when the user is active and one of their roles allows the action."""
    return user.active and action in actions_for(user.roles)


def require(user: User, action: Action) -> None:
    """Refuse an action the user may not take.

    Raises:
        PermissionDeniedError: the account is deactivated, or no role of it allows the action
            (the message names the roles that would).
    """
    if not user.active:
        raise PermissionDeniedError(
            user.username, action, roles_for(action), reason="the account is deactivated"
        )
    if action not in actions_for(user.roles):
        raise PermissionDeniedError(user.username, action, roles_for(action))
