"""A worker: claims jobs from the shared queue, runs them, keeps their leases alive, sweeps abandoned ones.

Several workers (in one or many processes) can share one database. Each runs at most `slots` jobs;
the queue's own limits (global and per user) apply on top. The Discord side plugs in through
`JobHooks`: how to show progress and how to deliver a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.jobs.generator import GenerationResult, Generator
from core.jobs.progress import ProgressCallback
from core.jobs.queue import JobQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobHooks:
    """What to do with a job's progress and with its final result."""

    progress: ProgressCallback | None
    deliver: Callable[[GenerationResult], Awaitable[None]]


async def no_hooks(_job_id: int) -> JobHooks:
    """Hooks for a job nobody watches: progress is not shown, the result is only recorded."""

    async def ignore(_result: GenerationResult) -> None:
        return None

    return JobHooks(None, ignore)


class Worker:
    """One claim loop with `slots` parallel jobs."""

    def __init__(
        self,
        generator: Generator,
        queue: JobQueue,
        *,
        slots: int,
        hooks_for: Callable[[int], Awaitable[JobHooks]] = no_hooks,
        idle_wait: float = 2.0,
        sweep_every: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.generator = generator
        self.queue = queue
        self.slots = slots
        self.hooks_for = hooks_for
        self.idle_wait = idle_wait
        # Sweep at least twice per lease so a dead worker's jobs come back soon after its leases end.
        self.sweep_every = (
            sweep_every if sweep_every is not None else min(60.0, queue.policy.lease_seconds / 2)
        )
        self._sleep = sleep
        self._rand = rand
        self.running: dict[int, asyncio.Task[None]] = {}
        self._delivering: set[int] = set()
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Look for work now (a job was queued or a slot freed)."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until stopped; also keeps leases alive and sweeps."""
        heartbeat = asyncio.create_task(self._heartbeat())
        sweeper = asyncio.create_task(self._sweeper())
        try:
            while not self._stopping:
                self._wake.clear()  # before filling: a wake-up during the fill must not be lost
                await self.fill_slots()
                # Jittered so idle workers of many processes don't poll the database in step.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_wait * (0.75 + 0.5 * self._rand()))
        finally:
            heartbeat.cancel()
            sweeper.cancel()
            await asyncio.gather(heartbeat, sweeper, return_exceptions=True)

    async def fill_slots(self) -> int:
        """Claim jobs while there are free slots and work; returns how many started."""
        started = 0
        while not self._stopping:
            free = self.slots - len(self.running)
            if free <= 0:
                break
            taken = await self.queue.claim_many(free)
            for job_id in taken:
                self.running[job_id] = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
            started += len(taken)
            if len(taken) < free:
                break
        return started

    async def _run(self, job_id: int) -> None:
        try:
            hooks = await self.hooks_for(job_id)
            result = await self.generator.run_job(job_id, hooks.progress, owner=self.queue.owner)
            if not result.finished:
                return  # the lease was lost: the job belongs to another worker now
            self._delivering.add(job_id)  # finished: its lease ended with it, nothing left to extend
            try:
                await hooks.deliver(result)
            except Exception:  # delivery reports its own problems; a sweep retries undelivered results
                log.exception("job %s: delivering the result failed", job_id)
        finally:
            self.running.pop(job_id, None)
            self._delivering.discard(job_id)
            self.wake()

    async def _heartbeat(self) -> None:
        interval = self.queue.policy.lease_seconds / 3
        while True:
            await self._sleep(interval)
            leased = [job_id for job_id in self.running if job_id not in self._delivering]
            if leased:
                kept = await self.queue.extend(leased)
                if kept < len(leased):
                    log.warning("%s lost the lease of %d jobs", self.queue.owner, len(leased) - kept)

    async def _sweeper(self) -> None:
        while True:
            try:
                requeued, _ = await self.queue.sweep()
                if requeued:
                    self.wake()
                if self.generator.rate_limiter is not None:
                    await self.generator.rate_limiter.prune()  # past minutes' request counts
            except Exception:  # a sweep failing now is retried next time
                log.exception("queue sweep failed")
            await self._sleep(self.sweep_every)

    async def stop(self) -> None:
        """Stop claiming, stop running jobs and hand them back to the queue at once."""
        self._stopping = True
        self.wake()
        tasks = list(self.running.values())
        ids = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.queue.hand_back(ids)
