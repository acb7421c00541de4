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
from dataclasses import dataclass

from core.errors import ErrorCategory, GenerationError

REMEMBER_FOR = 5.0  # seconds a refusal is repeated without asking the database
# Refusals that hold whatever is asked for, and those that hold only for requests at least as large
# (a user refused 10 s of video may still have room for 2 s).
FOR_ANY_REQUEST = frozenset({ErrorCategory.TOO_MANY_WAITING, ErrorCategory.BLOCKED, ErrorCategory.PAUSED})
FOR_LARGER_REQUESTS = frozenset({ErrorCategory.USER_QUOTA_EXCEEDED, ErrorCategory.SPEND_CAP_REACHED})


@dataclass(frozen=True)
class _Remembered:
    until: float
    error: GenerationError
    seconds: int  # it applies to requests of at least these video-seconds...
    cost: float  # ...and at least this estimated cost


class AdmissionGate:
    """Per-user admission locks and recently made refusals (in this process only)."""

    def __init__(
        self, *, monotonic: Callable[[], float] = time.monotonic, remember_for: float = REMEMBER_FOR
    ):
        self._monotonic = monotonic
        self._remember_for = remember_for
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # callers holding or waiting for a user's lock
        self._refused: dict[int, _Remembered] = {}

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

    def known_refusal(self, user_id: int, seconds: int = 0, cost: float = 0.0) -> GenerationError | None:
        """A refusal this process made for the user in the last few seconds that also holds for a request of
        `seconds` video-seconds costing `cost`, if any."""
        entry = self._refused.get(user_id)
        if entry is None:
            return None
        if self._monotonic() >= entry.until:
            del self._refused[user_id]
            return None
        return entry.error if seconds >= entry.seconds and cost >= entry.cost else None

    def remember(self, user_id: int, exc: GenerationError, seconds: int = 0, cost: float = 0.0) -> None:
        """Repeat this refusal for a few seconds (to this request and larger ones, where size matters)."""
        if exc.category in FOR_ANY_REQUEST:
            seconds, cost = 0, 0.0
        elif exc.category not in FOR_LARGER_REQUESTS:
            return
        self._refused[user_id] = _Remembered(self._monotonic() + self._remember_for, exc, seconds, cost)
        if len(self._refused) > 10_000:  # many users refused at once: drop what has expired
            now = self._monotonic()
            self._refused = {u: e for u, e in self._refused.items() if e.until > now}

    def forget(self, user_id: int | None = None) -> None:
        """Something changed (an admin action, a refund): ask the database next time."""
        if user_id is None:
            self._refused.clear()
        else:
            self._refused.pop(user_id, None)
