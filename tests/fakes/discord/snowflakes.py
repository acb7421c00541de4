"""Time-based snowflake ids and the clock the fake reads them from."""

from __future__ import annotations

import datetime as dt
import time

DISCORD_EPOCH_MS = 1420070400000


def snowflake_at(when: dt.datetime, increment: int = 0) -> int:
    """A Discord snowflake whose timestamp is `when` (discord.utils.snowflake_time inverts it)."""
    ms = int(when.timestamp() * 1000)
    return ((ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF)


def snowflake_time(snowflake: int) -> dt.datetime:
    """The creation time encoded in a snowflake."""
    return dt.datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, tz=dt.UTC)


def iso(when: dt.datetime) -> str:
    """ISO 8601 in UTC, as Discord writes timestamps."""
    return when.astimezone(dt.UTC).isoformat()


class RealClock:
    """Wall clock for snowflakes and token life, monotonic clock for latencies."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
