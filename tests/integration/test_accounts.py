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
    user = store.add("Tina", "s3cret-pass", ["trainer"], display_name=" 王  婷 ")
    assert (user.username, user.display_name, user.roles) == ("tina", "王 婷", {Role.TRAINER})
    assert "password" not in user.model_dump() and "hash" not in str(user.model_dump())
    stored = _stored_hash(engine, "tina")
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    assert store.authenticate("TINA ", "s3cret-pass") == user


def test_default_parameters_really_verify(engine: Engine) -> None:
    store = AccountStore(engine)
    store.add("rita", "another-pass", [Role.REVIEWER])
    assert store.authenticate("rita", "another-pass").roles == {Role.REVIEWER}
    with pytest.raises(AuthenticationError):
        store.authenticate("rita", "another-pasS")


def test_wrong_password_unknown_user_and_inactive_give_the_same_error(
    store: AccountStore,
) -> None:
    store.add("tina", "s3cret-pass", ["trainer"])
    store.add("olga", "olga-pass-1", ["agent"])
    store.deactivate("olga")
    messages = set()
    for username, password in [
        ("tina", "wrong-pass"),
        ("nobody", "s3cret-pass"),
        ("olga", "olga-pass-1"),
        ("not a valid name!", "whatever"),
    ]:
        with pytest.raises(AuthenticationError) as info:
            store.authenticate(username, password)
        messages.add(str(info.value))
    assert messages == {"unknown username or wrong password"}


@pytest.mark.parametrize(
    ("username", "password", "roles", "message"),
    [
        ("t", "s3cret-pass", ["trainer"], "invalid username 't'"),
        ("9lives", "s3cret-pass", ["trainer"], "invalid username"),
        ("has space", "s3cret-pass", ["trainer"], "invalid username"),
        ("tina", "short", ["trainer"], "at least 8 characters"),
        ("tina", "x" * 257, ["trainer"], "at most 256 characters"),
        ("tinatina", "TinaTina", ["trainer"], "must not be the username"),
        ("tina", "s3cret-pass", ["admin"], "unknown role 'admin': use one of agent, trainer"),
        ("tina", "s3cret-pass", [], "at least one role"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    store: AccountStore, username: str, password: str, roles: list[str], message: str
) -> None:
    with pytest.raises(InvalidAccountError, match=message):
        store.add(username, password, roles)
    assert store.list() == []


def test_duplicate_username_is_refused_case_insensitively(store: AccountStore) -> None:
    store.add("tina", "s3cret-pass", ["trainer"])
    with pytest.raises(DuplicateUserError, match="'tina' exists already"):
        store.add("TINA", "other-pass-1", ["agent"])


def test_get_list_and_role_changes(store: AccountStore) -> None:
    store.add("tina", "s3cret-pass", ["trainer"])
    store.add("rita", "s3cret-pass", ["reviewer", "agent"])
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
    store.add("tina", "s3cret-pass", ["trainer"])
    with pytest.raises(InvalidAccountError):
        store.set_password("tina", "short")
    store.set_password("tina", "brand-new-pass")
    with pytest.raises(AuthenticationError):
        store.authenticate("tina", "s3cret-pass")
    assert store.authenticate("tina", "brand-new-pass").username == "tina"
    with pytest.raises(UserNotFoundError):
        store.set_password("ghost", "brand-new-pass")


def test_deactivate_and_activate(store: AccountStore) -> None:
    store.add("olga", "olga-pass-1", ["agent"])
    assert store.deactivate("olga").active is False
    assert [u.username for u in store.list(include_inactive=False)] == []
    assert store.activate("olga").active is True
    assert store.authenticate("olga", "olga-pass-1").active


def test_an_outdated_hash_is_upgraded_at_login(engine: Engine) -> None:
    weak = AccountStore(engine, PasswordHashing(PasswordHasher(time_cost=1, memory_cost=1024)))
    weak.add("tina", "s3cret-pass", ["trainer"])
    before = _stored_hash(engine, "tina")
    stronger = PasswordHashing(PasswordHasher(time_cost=2, memory_cost=2048))
    AccountStore(engine, stronger).authenticate("tina", "s3cret-pass")
    after = _stored_hash(engine, "tina")
    assert after != before and "m=2048,t=2" in after
    assert not stronger.needs_rehash(after)


def test_malformed_stored_hash_fails_closed() -> None:
    hashing = PasswordHashing.fast_for_tests()
    assert hashing.verify("not-a-hash", "anything") is False
    assert hashing.needs_rehash("not-a-hash") is True
