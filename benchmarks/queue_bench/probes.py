"""What the benchmark measures while the bot runs: SQL statements, the edits the bot sends, the event loop's
lag, RSS and jobs in flight, CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import importlib
import os
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from benchmarks.queue_bench.provider import FixedLatencyProvider

LAG_TICK = 0.05  # seconds: the loop-lag ticker sleeps this long and records the oversleep
SAMPLE_EVERY = 0.25  # seconds between RSS / in-flight samples


# ---- the database --------------------------------------------------------------------------------------


class QueryCounter:
    """Counts every statement the ORM sends: wraps the execute_* methods of every Tortoise client class
    (SQLite, asyncpg, and their transaction wrappers); nested calls (one method calling another) count once."""

    METHODS = (
        "execute_insert",
        "execute_many",
        "execute_query",
        "execute_query_dict",
        "execute_query_dict_with_affected",
        "execute_script",
    )

    def __init__(self) -> None:
        self.enabled = False
        self.total = 0
        self.shapes: Counter[str] = Counter()
        self._shape_of: dict[str, str] = {}
        self._inside: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_in_query", default=False)

    def install(self) -> QueryCounter:
        """Wrap the methods (for the life of this process); counting starts with `enabled`."""
        for backend in ("tortoise.backends.sqlite.client", "tortoise.backends.asyncpg.client"):
            with contextlib.suppress(ImportError):  # so their client classes exist and get patched
                importlib.import_module(backend)

        pending, seen = [BaseDBAsyncClient], set()
        while pending:
            cls = pending.pop()
            if cls in seen:
                continue
            seen.add(cls)
            pending.extend(cls.__subclasses__())
            for name in self.METHODS:
                if name in cls.__dict__:
                    setattr(cls, name, self._wrap(cls.__dict__[name]))
        return self

    def _wrap(self, method):
        counter = self

        @functools.wraps(method)
        async def counted(client, query, *args, **kwargs):
            if counter._inside.get():
                return await method(client, query, *args, **kwargs)
            token = counter._inside.set(True)
            try:
                if counter.enabled:
                    counter.total += 1
                    shape = counter._shape_of.get(query)
                    if shape is None:
                        shape = counter._shape_of[query] = _shape(query)
                    counter.shapes[shape] += 1
                return await method(client, query, *args, **kwargs)
            finally:
                counter._inside.reset(token)

        return counted


def _shape(sql: str) -> str:
    sql = re.sub(r"'[^']*'", "'?'", sql)
    sql = re.sub(r"\$\d+|\b\d+\b", "?", sql)
    sql = re.sub(r"(\?,\s*)+\?", "?…", sql)
    return re.sub(r"\s+", " ", sql).strip()[:150]


# ---- Discord edits -------------------------------------------------------------------------------------


@dataclass
class EditRecorder:
    """`sends`: {message id: [time.monotonic() of each edit the bot decided to send]}, progress edits and
    the final edit. An observer for `JobDisplay.edit_observers`, which calls it as the display hands each
    edit to discord.py; so these times are free of the arrival jitter of the shared event loop that the
    fake's own timestamps carry."""

    sends: dict[int, list[float]] = field(default_factory=dict)

    def __call__(self, message_id: int) -> None:
        self.sends.setdefault(message_id, []).append(time.monotonic())


# ---- the event loop, memory, jobs in flight ------------------------------------------------------------


@dataclass
class Samples:
    """What the lag ticker and the sampler saw."""

    lag: list[float] = field(default_factory=list)
    lag_running: list[int] = field(default_factory=list)  # jobs running when each lag sample was taken
    rss: list[float] = field(default_factory=list)
    peak_running: int = 0
    peak_provider_in_flight: int = 0


async def lag_ticker(samples: Samples, stop: asyncio.Event, running: Callable[[], int]) -> None:
    """Sleep LAG_TICK again and again; the oversleep is the event loop's lag. Each sample also notes how
    many jobs were running (`running()`), to tell the steady state from the ramp."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        began = loop.time()
        await asyncio.sleep(LAG_TICK)
        samples.lag.append(max(0.0, loop.time() - began - LAG_TICK))
        samples.lag_running.append(running())


async def sampler(samples: Samples, stop: asyncio.Event, bot: Any, provider: FixedLatencyProvider) -> None:
    """Every SAMPLE_EVERY: the RSS, and the peaks of jobs running and of jobs the provider has."""
    while not stop.is_set():
        rss = current_rss_mb()
        if rss is not None:
            samples.rss.append(rss)
        if bot.worker is not None:
            samples.peak_running = max(samples.peak_running, len(bot.worker.running))
        samples.peak_provider_in_flight = max(samples.peak_provider_in_flight, provider.in_flight)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def current_rss_mb() -> float | None:
    """Resident set size now (Linux /proc), in MiB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mb() -> float:
    """The process's peak RSS so far (getrusage; KiB on Linux, bytes on macOS), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def deep_size_mb(root: Any, *, exclude: Any = None) -> float:
    """Approximate MiB held by `root` and everything it references (containers, objects), not
    counting `exclude` (e.g. the owner that every record points back to)."""
    seen: set[int] = {id(exclude)} if exclude is not None else set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
        elif hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name))
    return total / (1024 * 1024)
