"""Local accounts against real SQLite in a temp dir, with real Argon2 hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from accounts.models import Role
from accounts.passwords import PasswordHashing
from accounts.store import (
    AccountStore,
    AuthenticationError,
    DuplicateUserError,
    InvalidAccountError,
    UserNotFoundError,
    users_table,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


@pytest.fixture
def store(engine: Engine) -> AccountStore:
    return AccountStore(engine, PasswordHashing.fast_for_tests())


def _stored_hash(engine: Engine, username: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(users_table.c.password_hash).where(users_table.c.username == username)
        ).scalar_one()


def test_add_then_authenticate(store: AccountStore, engine: Engine) -> None:
    user = store.add("Tina", "S3cret-Pass-26", ["trainer"], display_name=" 王  婷 ")
    assert (user.username, user.display_name, user.roles) == ("tina", "王 婷", {Role.TRAINER})
    assert "password" not in user.model_dump() and "hash" not in str(user.model_dump())
    stored = _stored_hash(engine, "tina")
    assert stored.startswith("$argon2id$") and "S3cret-Pass-26" not in stored
    assert store.authenticate("TINA ", "S3cret-Pass-26") == user


def test_default_parameters_really_verify(engine: Engine) -> None:
    store = AccountStore(engine)
    store.add("rita", "Another-Pass-26", [Role.REVIEWER])
    assert store.authenticate("rita", "Another-Pass-26").roles == {Role.REVIEWER}
    with pytest.raises(AuthenticationError):
        store.authenticate("rita", "Another-Pass-2X")


def test_wrong_password_unknown_user_and_inactive_give_the_same_error(
    store: AccountStore,
) -> None:
    store.add("tina", "S3cret-Pass-26", ["trainer"])
    store.add("olga", "Agent-Pass-26x", ["agent"])
    store.deactivate("olga")
    messages = set()
    for username, password in [
        ("tina", "wrong-pass"),
        ("nobody", "S3cret-Pass-26"),
        ("olga", "Agent-Pass-26x"),
        ("not a valid name!", "whatever"),
    ]:
        with pytest.raises(AuthenticationError) as info:
            store.authenticate(username, password)
        messages.add(str(info.value))
    assert messages == {"unknown username or wrong password"}


@pytest.mark.parametrize(
    ("username", "password", "roles", "message"),
    [
        ("t", "S3cret-Pass-26", ["trainer"], "invalid username 't'"),
        ("9lives", "S3cret-Pass-26", ["trainer"], "invalid username"),
        ("has space", "S3cret-Pass-26", ["trainer"], "invalid username"),
        ("tina", "Short-1", ["trainer"], "at least 10 characters"),
        ("tina", "x" * 257, ["trainer"], "at most 256 characters"),
        ("tina", "alllowercase", ["trainer"], "at least 3 kinds of characters"),
        ("tinatina", "TinaTina-2026", ["trainer"], "must not contain the username"),
        ("tina", "Policydesk-Demo", ["trainer"], "the demo password cannot be chosen"),
        ("tina", "policydesk-demo", ["trainer"], "at least 3 kinds"),
        ("tina", "S3cret-Pass-26", ["admin"], "unknown role 'admin': use one of agent, trainer"),
        ("tina", "S3cret-Pass-26", [], "at least one role"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    store: AccountStore, username: str, password: str, roles: list[str], message: str
) -> None:
    with pytest.raises(InvalidAccountError, match=message):
        store.add(username, password, roles)
    assert store.list() == []


def test_duplicate_username_is_refused_case_insensitively(store: AccountStore) -> None:
    store.add("tina", "S3cret-Pass-26", ["trainer"])
    with pytest.raises(DuplicateUserError, match="'tina' exists already"):
        store.add("TINA", "Other-Pass-26", ["agent"])


def test_get_list_and_role_changes(store: AccountStore) -> None:
    store.add("tina", "S3cret-Pass-26", ["trainer"])
    store.add("rita", "S3cret-Pass-26", ["reviewer", "agent"])
    assert [u.username for u in store.list()] == ["rita", "tina"]
    assert store.get("rita").sorted_roles() == [Role.AGENT, Role.REVIEWER]
    assert store.set_roles("tina", ["trainer", "reviewer"]).roles == {Role.TRAINER, Role.REVIEWER}
    with pytest.raises(InvalidAccountError):
        store.set_roles("tina", [])
    with pytest.raises(UserNotFoundError, match="no account named 'ghost'"):
        store.get("ghost")
    with pytest.raises(UserNotFoundError):
        store.set_roles("ghost", ["agent"])


def test_set_password_replaces_the_old_one(store: AccountStore) -> None:
    store.add("tina", "S3cret-Pass-26", ["trainer"])
    with pytest.raises(InvalidAccountError):
        store.set_password("tina", "short")
    store.set_password("tina", "Brand-New-Pass-26")
    with pytest.raises(AuthenticationError):
        store.authenticate("tina", "S3cret-Pass-26")
    assert store.authenticate("tina", "Brand-New-Pass-26").username == "tina"
    with pytest.raises(UserNotFoundError):
        store.set_password("ghost", "Brand-New-Pass-26")


def test_deactivate_and_activate(store: AccountStore) -> None:
    store.add("olga", "Agent-Pass-26x", ["agent"])
    assert store.deactivate("olga").active is False
    assert [u.username for u in store.list(include_inactive=False)] == []
    assert store.activate("olga").active is True
    assert store.authenticate("olga", "Agent-Pass-26x").active


def test_an_outdated_hash_is_upgraded_at_login(engine: Engine) -> None:
    weak = AccountStore(engine, PasswordHashing(PasswordHasher(time_cost=1, memory_cost=1024)))
    weak.add("tina", "S3cret-Pass-26", ["trainer"])
    before = _stored_hash(engine, "tina")
    stronger = PasswordHashing(PasswordHasher(time_cost=2, memory_cost=2048))
    AccountStore(engine, stronger).authenticate("tina", "S3cret-Pass-26")
    after = _stored_hash(engine, "tina")
    assert after != before and "m=2048,t=2" in after
    assert not stronger.needs_rehash(after)


def test_malformed_stored_hash_fails_closed() -> None:
    hashing = PasswordHashing.fast_for_tests()
    assert hashing.verify("not-a-hash", "anything") is False
    assert hashing.needs_rehash("not-a-hash") is True
