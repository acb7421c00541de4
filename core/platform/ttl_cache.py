"""A small per-key cache with a time to live, filled once per key however many callers ask at once.

Admission reads a server's policy on every /video; a burst of commands must cost one query per key and
lifetime, not one per command (the first callers share one load instead of each starting their own)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """`await cache.get(key, load)`: the value loaded for `key` less than `ttl` seconds ago, else `load()`'s."""

    def __init__(self, ttl: float, *, monotonic: Callable[[], float]) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[K, tuple[float, asyncio.Future[V]]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is None or self._monotonic() >= entry[0] or _failed(entry[1]):
            future: asyncio.Future[V] = asyncio.ensure_future(load())
            entry = (self._monotonic() + self.ttl, future)
            self._entries[key] = entry
        return await asyncio.shield(entry[1])

    def forget(self, key: K) -> None:
        """The value changed here: load it again next time."""
        self._entries.pop(key, None)


def _failed(future: asyncio.Future) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
