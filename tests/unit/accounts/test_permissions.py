"""The role matrix, checked cell by cell against the documented policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import Role, User
from accounts.permissions import (
    ROLE_ACTIONS,
    Action,
    PermissionDeniedError,
    actions_for,
    can,
    require,
    roles_for,
)

A = Action
EXPECTED: dict[Role, set[Action]] = {
    Role.AGENT: {A.USE_CONSOLE, A.HANDLE_HANDOFFS, A.VIEW_KB},
    Role.TRAINER: {
        A.VIEW_KB,
        A.EDIT_KB,
        A.SUBMIT_REVIEW,
        A.RUN_EVAL,
        A.EDIT_GOLDEN,
        A.MANAGE_UTTERANCES,
        A.RETRAIN,
        A.REVIEW_ROUTING,
    },
    Role.REVIEWER: {A.VIEW_KB, A.PUBLISH, A.RETIRE, A.ROLLBACK},
    Role.SUPERVISOR: {
        A.VIEW_KB,
        A.EDIT_KB,
        A.SUBMIT_REVIEW,
        A.RUN_EVAL,
        A.EDIT_GOLDEN,
        A.MANAGE_UTTERANCES,
        A.RETRAIN,
        A.REVIEW_ROUTING,
        A.PUBLISH,
        A.RETIRE,
        A.ROLLBACK,
        A.MANAGE_USERS,
        A.VIEW_AUDIT,
        A.EXPORT_AUDIT,
        A.USE_CONSOLE,
        A.HANDLE_HANDOFFS,
        A.REVEAL_PERSONAL_DATA,  # issue 13: only supervisors see full numbers, audited
        A.HANDLE_PRIVACY_REQUESTS,  # issue 13: customers' export and erasure requests
        A.MONITOR_CALLS,  # issue 15: the supervisor floor (watch, whisper, flag a take-over)
        A.DECIDE_APPROVALS,  # tiered authority: approve or refuse beyond an agent's level
    },
}


def _user(*roles: Role, active: bool = True) -> User:
    return User(username="u1", roles=frozenset(roles), active=active, created_at=datetime.now(UTC))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_every_cell_of_the_matrix(role: Role, action: Action) -> None:
    user = _user(role)
    assert can(user, action) is (action in EXPECTED[role])
    if action in EXPECTED[role]:
        require(user, action)
    else:
        with pytest.raises(PermissionDeniedError):
            require(user, action)


def test_every_role_has_an_entry() -> None:
    assert set(ROLE_ACTIONS) == set(Role)


def test_supervisor_holds_trainer_and_reviewer_actions() -> None:
    assert ROLE_ACTIONS[Role.TRAINER] | ROLE_ACTIONS[Role.REVIEWER] <= ROLE_ACTIONS[Role.SUPERVISOR]


def test_every_action_is_allowed_to_someone() -> None:
    assert all(roles_for(action) for action in Action)


def test_several_roles_combine() -> None:
    user = _user(Role.AGENT, Role.REVIEWER)
    assert actions_for(user.roles) == EXPECTED[Role.AGENT] | EXPECTED[Role.REVIEWER]
    assert can(user, A.PUBLISH) and can(user, A.USE_CONSOLE)
    assert not can(user, A.EDIT_KB)


def test_refusal_names_the_roles_needed() -> None:
    with pytest.raises(PermissionDeniedError) as info:
        require(_user(Role.TRAINER), A.PUBLISH)
    assert str(info.value) == "u1 may not publish: this needs the role reviewer or supervisor"
    assert info.value.needed == [Role.REVIEWER, Role.SUPERVISOR]
    with pytest.raises(PermissionDeniedError, match=r"needs the role supervisor$"):
        require(_user(Role.REVIEWER), A.MANAGE_USERS)


def test_deactivated_accounts_may_do_nothing() -> None:
    user = _user(Role.SUPERVISOR, active=False)
    assert not any(can(user, action) for action in Action)
    with pytest.raises(PermissionDeniedError, match="deactivated"):
        require(user, A.VIEW_KB)


def test_no_roles_no_actions() -> None:
    assert not any(can(_user(), action) for action in Action)
