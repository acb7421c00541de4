"""Supervised background work: loops that log an error and go on, tasks that are restarted if they die.

Nothing fails silently until shutdown: a loop body that raises is logged with its traceback and run
again after a backoff; a task that ends with an exception is logged and started again; `alive()` says
which loops are running (for health checks).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from core.platform.retry import backoff_delay

log = logging.getLogger(__name__)

RESTART_CAP = 60.0  # seconds: the longest wait before a crashed task or failing loop runs again


async def every(
    name: str,
    interval: Callable[[], float] | float,
    body: Callable[[], Awaitable[Any]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    first_wait: bool = False,
) -> None:
    """Run `body()` every `interval` seconds until cancelled. An error is logged with its traceback and
    the body runs again soon, after a backoff that grows with each failure in a row (never longer than
    the interval): a heartbeat that failed once tries again in about a second, not a whole interval later."""
    failures = 0
    if first_wait:
        await sleep(interval() if callable(interval) else interval)
    while True:
        wait = interval() if callable(interval) else interval
        try:
            await body()
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            log.exception("%s failed (%d in a row); trying again", name, failures)
            wait = min(wait, max(0.5, backoff_delay(failures, base=1.0, cap=RESTART_CAP, rand=rand)))
        await sleep(wait)


class Supervisor:
    """Starts named background tasks, restarts any that end with an error, and stops them all."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._sleep = sleep
        self._rand = rand
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    def start(self, name: str, factory: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run `factory()` as task `name`, restarting it whenever it raises."""
        self._tasks[name] = asyncio.create_task(self._keep(name, factory), name=name)

    async def _keep(self, name: str, factory: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        crashes = 0
        while not self._stopping:
            try:
                await factory()
                return  # finished on its own: nothing to restart
            except asyncio.CancelledError:
                raise
            except Exception:
                crashes += 1
                delay = backoff_delay(crashes, base=1.0, cap=RESTART_CAP, rand=self._rand)
                log.exception("background task %s crashed (%d); restarting in %.1fs", name, crashes, delay)
                await self._sleep(delay)

    def alive(self) -> dict[str, bool]:
        """Each task's name and whether it is still running."""
        return {name: not task.done() for name, task in self._tasks.items()}

    async def stop(self) -> None:
        """Cancel every task and wait for them."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def log_task_exception(task: asyncio.Task[Any]) -> None:
    """A done-callback: the exception of a finished task is retrieved and logged, never left for the GC."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("task %s failed", task.get_name(), exc_info=exc)
