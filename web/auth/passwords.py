"""Password hashing with argon2id, kept off the event loop.

Each hash or check costs ~80 ms of CPU and 64 MiB (argon2-cffi's RFC 9106 low-memory
profile), so at most `_PARALLEL` run at once: a burst of log-ins waits instead of starving
recording and live view on a two-core box.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Passwords", "random_password"]

_PARALLEL: Final = 2


def random_password() -> str:
    """20 URL-safe characters, ~120 bits: for the first administrator."""
    return secrets.token_urlsafe(15)


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(_PARALLEL)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; pass None for an unknown user to spend the same time anyway,
        so response times do not tell which user names exist."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash(random_password())
            password_hash = self._dummy
        async with self._slots:
            return await asyncio.to_thread(self._check, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash uses weaker parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
