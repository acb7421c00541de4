"""Exponential backoff with full jitter that honours a provider's Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 30.0,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter in [0, min(cap, base*2^(n-1))],
    but never less than the server's Retry-After when it sent one."""
    ceiling = min(cap, base * 2 ** min(attempt - 1, 32))  # (the exponent is capped: no overflow)
    delay = ceiling * rand()
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap * 4))
    return delay
