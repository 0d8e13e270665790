"""Password hashing with Argon2id (argon2-cffi); the only module that imports ``argon2``."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 10
MIN_CHARACTER_CLASSES = 3
DEMO_PASSWORD = "policydesk-demo"
MAX_PASSWORD_CHARS = 256


class PasswordHashing:
    """Hashes and verifies passwords; parameters are argon2-cffi's recommended defaults.

    Args:
        hasher: a configured ``argon2.PasswordHasher`` (tests pass cheaper parameters).
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    @classmethod
    def fast_for_tests(cls) -> PasswordHashing:
        """Cheap parameters for test suites; never use them for real accounts."""
        return cls(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def hash(self, password: str) -> str:
        """A salted Argon2id hash in PHC string format (parameters and salt included)."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when the password matches; False on a mismatch or a malformed stored hash."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def burn(self, password: str) -> None:
        """Verify against a throw-away hash, so an unknown user costs as long as a known one."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("policydesk-unknown-user")
        self.verify(self._dummy, password)
