"""Bounded pools for CPU-heavy media work (PyAV renders and re-encodes).

Small file I/O keeps using `asyncio.to_thread`; encodes run here so that many concurrent renders or
transcodes queue behind each other instead of filling the default pool and starving that small I/O.
Single-threaded work (demo renders) runs one per core. Work that already keeps every core busy (the
fit to the upload limit: frame-threaded decode and x264) runs one at a time (`whole_machine=True`):
two fits side by side would each take twice as long, while in line the first is done in half the time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_whole_machine_pool: concurrent.futures.ThreadPoolExecutor | None = None
_in_flight: set[concurrent.futures.Future] = set()


def media_workers() -> int:
    """How many encodes may run at once: one per core."""
    return max(1, os.cpu_count() or 1)


def _executor(whole_machine: bool) -> concurrent.futures.ThreadPoolExecutor:
    global _pool, _whole_machine_pool
    if whole_machine:
        if _whole_machine_pool is None:
            _whole_machine_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="media-all")
        return _whole_machine_pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(max_workers=media_workers(), thread_name_prefix="media")
    return _pool


async def run_media(fn: Callable[..., T], *args, whole_machine: bool = False, **kwargs) -> T:
    """Run `fn(*args, **kwargs)` on a media pool and await its result; `whole_machine` for work that
    keeps every core busy by itself (it then waits for the previous such work to end)."""
    work = _executor(whole_machine).submit(functools.partial(fn, *args, **kwargs))
    _in_flight.add(work)  # the thread's own future: it ends when the thread does, even after a cancel
    work.add_done_callback(_in_flight.discard)
    return await asyncio.wrap_future(work)


async def drain() -> None:
    """Wait until every piece of media work started so far has ended (also work whose caller was
    cancelled: a thread can't be stopped, only asked to give up)."""
    while _in_flight:
        await asyncio.gather(*(asyncio.wrap_future(w) for w in list(_in_flight)), return_exceptions=True)
