"""Time: the wall clock in UTC and the quota day it belongs to (both injected in tests)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


def utcnow() -> dt.datetime:
    """Wall-clock UTC (injected in tests)."""
    return dt.datetime.now(dt.UTC)


def utc_day(now: dt.datetime) -> dt.date:
    """The quota window a moment belongs to: its UTC day."""
    return now.astimezone(dt.UTC).date()


@dataclass(frozen=True)
class Clock:
    """The three faces of time a component may need; tests pass a fake with the same methods."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    now: Callable[[], dt.datetime] = utcnow


REAL_CLOCK = Clock()
