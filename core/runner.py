"""Runs jobs inside this process: at most MAX_CONCURRENT_JOBS at once, the rest wait in line.

The line is first come, first served, in the order `start` was called. Waiting jobs are told
their place (`Queued · position 2 of 5`) through the same progress callback the generator uses,
whenever it changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.generator import GenerationResult, Generator
from core.progress import ProgressCallback
from models import Generation, GenerationStatus

log = logging.getLogger(__name__)

ResultCallback = Callable[[GenerationResult], Awaitable[None]]


class JobRunner:
    """A fixed number of slots and a line in front of them."""

    def __init__(self, generator: Generator, max_concurrent: int) -> None:
        self.generator = generator
        self.max_concurrent = max_concurrent
        self._running = 0
        self._waiting: list[int] = []
        self._turn: dict[int, asyncio.Event] = {}
        self._holds_slot: set[int] = set()
        self._progress: dict[int, ProgressCallback] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(
        self, generation_id: int, progress: ProgressCallback, on_result: ResultCallback
    ) -> asyncio.Task:
        """Put the job in line and return the task that runs it and hands its result to `on_result`."""
        self._waiting.append(generation_id)
        self._turn[generation_id] = asyncio.Event()
        self._progress[generation_id] = progress
        self._dispatch()
        task = asyncio.create_task(self._run(generation_id, progress, on_result), name=f"job-{generation_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def position(self, generation_id: int) -> tuple[int, int] | None:
        """(place, line length) of a waiting job, 1-based; None when it is not waiting."""
        if generation_id not in self._waiting:
            return None
        return self._waiting.index(generation_id) + 1, len(self._waiting)

    async def leave_queue(self, generation_id: int) -> None:
        """Let a cancelled job skip the line (it needs no slot to report its end); the rest move up."""
        if generation_id in self._waiting:
            self._waiting.remove(generation_id)
            self._turn[generation_id].set()
            await self._announce_positions()

    def _dispatch(self) -> None:
        while self._waiting and self._running < self.max_concurrent:
            job_id = self._waiting.pop(0)
            self._running += 1
            self._holds_slot.add(job_id)
            self._turn[job_id].set()

    async def _run(self, generation_id: int, progress: ProgressCallback, on_result: ResultCallback) -> None:
        try:
            await Generation.filter(id=generation_id, status=GenerationStatus.PENDING).update(
                status=GenerationStatus.QUEUED
            )
            if not self._turn[generation_id].is_set():
                await self._announce_positions()
                await self._turn[generation_id].wait()
            self._progress.pop(generation_id, None)
            await self._announce_positions()
            result = await self.generator.run_job(generation_id, progress)
        finally:
            self._release(generation_id)
        try:
            await on_result(result)
        except Exception:  # delivery problems are the delivery's to report; the job is finished
            log.exception("job %s: delivering the result failed", generation_id)

    def _release(self, generation_id: int) -> None:
        self._progress.pop(generation_id, None)
        self._turn.pop(generation_id, None)
        if generation_id in self._waiting:
            self._waiting.remove(generation_id)
        if generation_id in self._holds_slot:
            self._holds_slot.discard(generation_id)
            self._running -= 1
            self._dispatch()

    async def _announce_positions(self) -> None:
        total = len(self._waiting)
        for place, job_id in enumerate(list(self._waiting), start=1):
            callback = self._progress.get(job_id)
            if callback is not None:
                try:
                    await callback(0, f"Queued · position {place} of {total}")
                except Exception:  # a display problem never blocks the line
                    log.exception("job %s: queue position update failed", job_id)

    async def shutdown(self) -> None:
        """Stop every job task; unfinished jobs keep their state and provider ids for the next start."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
