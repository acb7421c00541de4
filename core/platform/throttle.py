"""Coalescing updates: send at most one per interval, always the latest state, never a repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class StopUpdates(Exception):
    """Raised by a send function when the target is gone (e.g. the message was deleted)."""


class CoalescingUpdater(Generic[T]):
    """Runs `send(state)` in the background for the newest pushed state, at most once per `interval`.

    `push` never waits, so a slow or rate-limited target never slows the job that reports progress.
    `close` stops the background task; the caller then does its final update itself.
    """

    def __init__(
        self,
        send: Callable[[T], Awaitable[None]],
        interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send = send
        self._interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._latest: T | None = None
        self._sent: T | None = None
        self._last_sent_at: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stopped = False

    def push(self, state: T) -> None:
        """Offer a new state; it replaces any state not yet sent."""
        if self.stopped:
            return
        self._latest = state
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._last_sent_at is not None:
                wait = self._last_sent_at + self._interval - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            state = self._latest
            if state is None or state == self._sent:
                continue
            self._last_sent_at = self._monotonic()
            try:
                await self._send(state)
                self._sent = state
            except StopUpdates:
                self.stopped = True
                return
            except Exception:  # a display problem never fails the job
                log.exception("progress update failed")

    def next_send_in(self) -> float:
        """Seconds until another send would respect the interval (0 when it already would)."""
        if self._last_sent_at is None:
            return 0.0
        return max(0.0, self._last_sent_at + self._interval - self._monotonic())

    async def close(self) -> None:
        """Stop sending; an update in flight is cancelled."""
        self.stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
