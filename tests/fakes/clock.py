"""A controllable clock: `sleep` advances time instantly, so tests never wait."""

from __future__ import annotations

import asyncio
import datetime as dt


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
