"""Cross-process coordination through the database: a short mutex and a shared request-rate window."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from tortoise.expressions import F, Q

from core.platform.clock import utcnow
from models import Lock, RateWindow

log = logging.getLogger(__name__)


class DbLock:
    """A named mutex for a few milliseconds of critical work, held via one conditional UPDATE.

    The holder is whoever's UPDATE matched `owner IS NULL OR expires_at < now`; a crashed holder's
    claim simply expires after `ttl` seconds.
    """

    def __init__(
        self, name: str, owner: str, *, ttl: float = 10.0, now: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self._now = now

    async def acquire(self) -> bool:
        """Try once; True when this process now holds the lock."""
        now = self._now()
        await Lock.bulk_create([Lock(name=self.name)], ignore_conflicts=True)
        free = Q(owner__isnull=True) | Q(expires_at__lt=now) | Q(owner=self.owner)
        taken = await Lock.filter(free, name=self.name).update(
            owner=self.owner, expires_at=now + dt.timedelta(seconds=self.ttl)
        )
        return bool(taken)

    async def release(self) -> None:
        """Give it back (only if still ours)."""
        await Lock.filter(name=self.name, owner=self.owner).update(owner=None, expires_at=None)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[bool]:
        """`async with lock.held() as got:` — `got` says whether the lock was acquired."""
        got = await self.acquire()
        try:
            yield got
        finally:
            if got:
                try:
                    await self.release()
                except Exception:
                    # What was done under the lock stands (e.g. jobs were claimed: the caller must learn
                    # of them); an unreleased lock simply expires after its ttl.
                    log.warning(
                        "could not release lock %s; it expires in %.0f s", self.name, self.ttl, exc_info=True
                    )


class RateLimiter:
    """At most `per_minute` requests per provider per clock minute, across every process."""

    def __init__(self, limits: dict[str, int], *, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.limits = limits
        self._now = now

    async def try_acquire(self, provider: str) -> float:
        """Take one request slot; 0.0 when granted, else seconds until the next minute starts."""
        limit = self.limits.get(provider)
        if not limit:
            return 0.0
        now = self._now()
        minute = int(now.timestamp() // 60)
        await RateWindow.bulk_create([RateWindow(provider=provider, minute=minute)], ignore_conflicts=True)
        granted = await RateWindow.filter(provider=provider, minute=minute, count__lt=limit).update(
            count=F("count") + 1
        )
        if granted:
            return 0.0
        return 60.0 - (now.timestamp() % 60)

    async def prune(self, keep_minutes: int = 10) -> None:
        """Drop old windows."""
        minute = int(self._now().timestamp() // 60)
        await RateWindow.filter(minute__lt=minute - keep_minutes).delete()
