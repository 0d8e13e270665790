"""Which pages each role sees, and where each lands (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import Role, User
from ui.navigation import (
    APPROVALS,
    AUDIT,
    CHAT,
    CONSOLE,
    LOGIN,
    SEARCH,
    STUDIO_EVAL,
    STUDIO_IMPORT,
    STUDIO_KB,
    STUDIO_REVIEW,
    USERS,
    landing_page,
    visible_pages,
)


def _user(*roles: Role, active: bool = True) -> User:
    return User(username="u1", roles=frozenset(roles), active=active, created_at=datetime.now(UTC))


def test_before_login_only_the_login_page_and_the_chat() -> None:
    pages = visible_pages(None)
    assert pages == [LOGIN, CHAT]
    assert landing_page(pages) is LOGIN


def test_an_agent_sees_the_desk_and_lands_on_the_console() -> None:
    pages = visible_pages(_user(Role.AGENT))
    assert pages == [CONSOLE, SEARCH, CHAT]
    assert landing_page(pages) is CONSOLE


def test_a_trainer_sees_the_studio_but_not_the_console_or_admin() -> None:
    pages = visible_pages(_user(Role.TRAINER))
    assert STUDIO_KB in pages and STUDIO_IMPORT in pages and STUDIO_EVAL in pages
    assert STUDIO_REVIEW in pages  # to follow their submissions and preview drafts
    assert CONSOLE not in pages and AUDIT not in pages and USERS not in pages
    assert landing_page(pages) is STUDIO_KB


def test_a_reviewer_reviews_but_does_not_import_or_evaluate() -> None:
    pages = visible_pages(_user(Role.REVIEWER))
    assert STUDIO_KB in pages and STUDIO_REVIEW in pages
    assert STUDIO_IMPORT not in pages and STUDIO_EVAL not in pages


def test_a_supervisor_sees_the_studio_and_the_admin_pages() -> None:
    pages = visible_pages(_user(Role.SUPERVISOR))
    assert {STUDIO_KB, STUDIO_IMPORT, STUDIO_REVIEW, STUDIO_EVAL, AUDIT, USERS} <= set(pages)
    assert CONSOLE in pages  # supervisors take escalated calls and handoffs too
    assert APPROVALS in pages  # and decide requests beyond an agent's level
    assert landing_page(pages) == CONSOLE
    assert LOGIN not in pages


@pytest.mark.parametrize("role", list(Role))
def test_a_deactivated_account_sees_only_public_pages(role: Role) -> None:
    assert visible_pages(_user(role, active=False)) == [CHAT]
