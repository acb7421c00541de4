"""One bounded pool for CPU-heavy media work (PyAV renders and re-encodes), sized to the machine's cores.

Small file I/O keeps using `asyncio.to_thread`; encodes run here so that many concurrent renders or
transcodes queue behind each other instead of filling the default pool and starving that small I/O.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def media_workers() -> int:
    """How many encodes may run at once: one per core."""
    return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=media_workers(), thread_name_prefix="media")
    return _pool


async def run_media(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run `fn(*args, **kwargs)` on the media pool and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(fn, *args, **kwargs))
