"""Time: the wall clock in UTC and the quota day it belongs to (both injected in tests)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Wall-clock UTC (injected in tests)."""
    return dt.datetime.now(dt.UTC)


def utc_day(now: dt.datetime) -> dt.date:
    """The quota window a moment belongs to: its UTC day."""
    return now.astimezone(dt.UTC).date()
