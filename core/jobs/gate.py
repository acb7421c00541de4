"""Admission under a storm: one user's requests are decided one at a time, and a refusal this process
just made is repeated from memory for a few seconds instead of asking the database again.

A flood of /video from one user (a script, a stuck key) then costs a handful of database round trips
and every refusal stays within Discord's 3-second window; other users never wait behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from core.errors import ErrorCategory, GenerationError

REMEMBER_FOR = 5.0  # seconds a refusal is repeated without asking the database
REMEMBERED = frozenset(
    {
        ErrorCategory.USER_QUOTA_EXCEEDED,
        ErrorCategory.TOO_MANY_WAITING,
        ErrorCategory.BLOCKED,
        ErrorCategory.SPEND_CAP_REACHED,
        ErrorCategory.PAUSED,
    }
)


class AdmissionGate:
    """Per-user admission locks and recently made refusals (in this process only)."""

    def __init__(
        self, *, monotonic: Callable[[], float] = time.monotonic, remember_for: float = REMEMBER_FOR
    ):
        self._monotonic = monotonic
        self._remember_for = remember_for
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # callers holding or waiting for a user's lock
        self._refused: dict[int, tuple[float, GenerationError]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        """Hold the user's admission turn (other users are not affected)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._users[user_id] = self._users.get(user_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[user_id] -= 1
            if not self._users[user_id]:
                del self._users[user_id]
                del self._locks[user_id]

    def known_refusal(self, user_id: int) -> GenerationError | None:
        """A refusal this process made for the user in the last few seconds, if any."""
        entry = self._refused.get(user_id)
        if entry is None:
            return None
        if self._monotonic() >= entry[0]:
            del self._refused[user_id]
            return None
        return entry[1]

    def remember(self, user_id: int, exc: GenerationError) -> None:
        """Repeat this refusal for a few seconds, if it is one that cannot change from one moment to the next."""
        if exc.category in REMEMBERED:
            self._refused[user_id] = (self._monotonic() + self._remember_for, exc)
            if len(self._refused) > 10_000:  # many users refused at once: drop what has expired
                now = self._monotonic()
                self._refused = {u: e for u, e in self._refused.items() if e[0] > now}

    def forget(self, user_id: int | None = None) -> None:
        """Something changed (an admin action, a refund): ask the database next time."""
        if user_id is None:
            self._refused.clear()
        else:
            self._refused.pop(user_id, None)
