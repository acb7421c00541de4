"""A controllable clock: `sleep` advances time instantly, so tests never wait."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq


class FakeClock:
    """monotonic() and now() move only when sleep() (or advance()) is called."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.t = 1000.0
        self.start = start or dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t - 1000.0)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


class ManualClock(FakeClock):
    """Virtual time for code that runs alongside the test: `sleep` waits until the test `advance`s the
    clock past its deadline, and sleepers wake in deadline order, each at its own moment."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        super().__init__(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.t + seconds, self._seq, future))
        await future

    async def advance(self, seconds: float) -> None:  # type: ignore[override]
        """Move time forward, waking every sleeper whose deadline passes, and let them run."""
        await settle()  # tasks started just now get to their first sleep
        target = self.t + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.t = max(self.t, deadline)
            if not future.done():
                future.set_result(None)
            await settle()
        self.t = target
        await settle()

    async def run_until(self, done, *, step: float, limit: float = 10.0) -> None:
        """Advance `step` at a time, letting real I/O happen in between, until `done()` is true
        (at most `limit` real seconds)."""
        async with asyncio.timeout(limit):
            while not done():
                await self.advance(step)
                await asyncio.sleep(0.01)  # real time for network round trips to the fakes


async def settle(rounds: int = 20) -> None:
    """Let every task that can run without waiting for time or I/O run."""
    for _ in range(rounds):
        await asyncio.sleep(0)
