"""TtlCache: one load per key and lifetime however many ask at once; reloaded after the ttl, after forget(),
and after a failed load."""

from __future__ import annotations

import asyncio

import pytest

from core.platform.ttl_cache import TtlCache


async def test_a_burst_of_callers_shares_one_load_until_the_ttl_passes():
    now = [0.0]
    loads = []

    async def load() -> int:
        loads.append(1)
        await asyncio.sleep(0.01)
        return len(loads)

    cache: TtlCache[str, int] = TtlCache(30.0, monotonic=lambda: now[0])
    assert await asyncio.gather(*(cache.get("g", load) for _ in range(100))) == [1] * 100
    now[0] = 29.9
    assert await cache.get("g", load) == 1 and len(loads) == 1
    now[0] = 30.0
    assert await cache.get("g", load) == 2
    cache.forget("g")
    assert await cache.get("g", load) == 3


async def test_a_failed_load_is_not_kept():
    cache: TtlCache[str, int] = TtlCache(30.0, monotonic=lambda: 0.0)
    calls = []

    async def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database blinked")
        return 7

    with pytest.raises(ConnectionError):
        await cache.get("g", flaky)
    assert await cache.get("g", flaky) == 7
