"""A worker: claims jobs from the shared queue, runs them, keeps their leases alive, sweeps abandoned ones.

Several workers (in one or many processes) can share one database. Each runs at most `slots` jobs;
the queue's own limits (global and per user) apply on top. A job's slot is freed as soon as the job is
finished: fitting the video to Discord's limit and the upload happen after, outside the slot. The
Discord side plugs in through `JobHooks`: how to show progress and how to deliver a result.

Background loops (lease heartbeat, sweeps) are supervised: an error is logged and the loop goes on;
every job task's outcome is retrieved and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.jobs.intake import Intake
from core.jobs.progress import ProgressCallback
from core.jobs.queue import Claim, JobQueue
from core.jobs.runner import JobRunner
from core.jobs.views import GenerationResult
from core.platform.db import clock_skew
from core.platform.logs import job_log_fields
from core.platform.metrics import UNCOUNTED, Metrics
from core.platform.supervise import Supervisor, every, log_task_exception

log = logging.getLogger(__name__)

CLAIM_STALE_AFTER = 60.0  # seconds without a finished claim cycle before /readyz says the loop stalled


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


@dataclass
class _Running:
    claim: Claim
    task: asyncio.Task[None]


class Worker:
    """One claim loop with `slots` parallel jobs."""

    def __init__(
        self,
        runner: JobRunner,
        queue: JobQueue,
        *,
        slots: int,
        intake: Intake | None = None,
        hooks_for: Callable[[int], Awaitable[JobHooks]] = no_hooks,
        idle_wait: float = 2.0,
        sweep_every: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics = UNCOUNTED,
    ) -> None:
        self.runner = runner
        self.metrics = metrics
        self._monotonic = monotonic
        self.last_claim_cycle: float | None = None  # when a claim last reached the database (monotonic)
        self.queue = queue
        self.intake = intake
        self.slots = slots
        self.hooks_for = hooks_for
        self.idle_wait = idle_wait
        # Sweep at least twice per lease so a dead worker's jobs come back soon after its leases end.
        self.sweep_every = (
            sweep_every if sweep_every is not None else min(60.0, queue.policy.lease_seconds / 2)
        )
        self._sleep = sleep
        self._rand = rand
        self.running: dict[int, _Running] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self.loops = Supervisor(sleep=sleep, rand=rand)

    def wake(self) -> None:
        """Look for work now (a job was queued or a slot freed)."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until stopped; also keeps leases alive and sweeps."""
        lease = self.queue.policy.lease_seconds
        await self.check_clock()
        self.loops.start(
            "lease heartbeat",
            lambda: every(
                "lease heartbeat", lease / 3, self.extend_leases, sleep=self._sleep, first_wait=True
            ),
        )
        self.loops.start(
            "queue sweep", lambda: every("queue sweep", self.sweep_every, self.sweep, sleep=self._sleep)
        )
        try:
            while not self._stopping:
                self._wake.clear()  # before filling: a wake-up during the fill must not be lost
                try:
                    await self.fill_slots()
                    self.last_claim_cycle = self._monotonic()
                except Exception:  # the database blinked: try again at the next wake-up
                    log.exception("claiming jobs failed")
                # Jittered so idle workers of many processes don't poll the database in step.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_wait * (0.75 + 0.5 * self._rand()))
        finally:
            await self.loops.stop()

    async def fill_slots(self) -> int:
        """Claim jobs while there are free slots and work; returns how many started."""
        started = 0
        while not self._stopping:
            free = self.slots - len(self.running)
            if free <= 0:
                break
            taken = await self.queue.claim_many(free)
            for claim in taken:
                task = asyncio.create_task(self._run(claim), name=f"job-{claim.job_id}")
                task.add_done_callback(log_task_exception)
                self.running[claim.job_id] = _Running(claim, task)
            started += len(taken)
            if len(taken) < free:
                break
        return started

    async def _run(self, claim: Claim) -> None:
        with job_log_fields(job_id=claim.job_id):  # this task's lines, and its delivery task's, name the job
            await self._run_claimed(claim)

    async def _run_claimed(self, claim: Claim) -> None:
        job_id = claim.job_id
        try:
            try:
                hooks = await self.hooks_for(job_id)
            except Exception:  # nobody will see progress; the result is still delivered by the sweep
                log.exception("job %s: preparing its display failed", job_id)
                hooks = await no_hooks(job_id)
            result = await self.runner.run_job(job_id, hooks.progress, lease=claim.lease)
        finally:
            current = self.running.get(job_id)
            if current is not None and current.claim == claim:  # not a newer claim of the same job
                del self.running[job_id]
            self.wake()
        if result.job_status in ("completed", "failed"):  # cancels are counted where they happen
            spec = self.runner.catalog.get(result.model or "")
            self.metrics.job_finished(result.job_status, result.model, spec.provider if spec else None)
        if result.finished:  # the slot is free already: fitting and uploading happen outside it
            task = asyncio.create_task(self._deliver(hooks, result), name=f"deliver-{job_id}")
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, hooks: JobHooks, result: GenerationResult) -> None:
        try:
            await hooks.deliver(result)
        except Exception:  # delivery reports its own problems; a sweep retries undelivered results
            log.exception("job %s: delivering the result failed", result.generation_id)

    def claim_problem(self, stale_after: float = CLAIM_STALE_AFTER) -> str | None:
        """For /readyz: None while the claim loop has reached the database within `stale_after` seconds."""
        if self.last_claim_cycle is None:
            return "no claim cycle yet"
        age = self._monotonic() - self.last_claim_cycle
        return f"last claim cycle {age:.0f} s ago (limit {stale_after:g} s)" if age > stale_after else None

    async def check_clock(self) -> float | None:
        """Warn when this host's clock and the database's disagree by more than a tenth of a lease: leases
        written here would then end early or late on other hosts. The skew, or None if it can't be read."""
        try:
            skew = await clock_skew(self.queue.now)
        except Exception:  # the database may not answer yet; the claim loop will say so
            log.exception("could not compare this host's clock with the database's")
            return None
        if abs(skew) > self.queue.policy.lease_seconds / 10:
            log.warning(
                "this host's clock is %.1f s %s the database's: leases (%.0f s) are compared across hosts;"
                " keep every worker host on NTP",
                abs(skew),
                "ahead of" if skew > 0 else "behind",
                self.queue.policy.lease_seconds,
            )
        return skew

    async def extend_leases(self) -> None:
        """Keep the leases of the jobs this worker runs."""
        leases = {job_id: r.claim.lease for job_id, r in self.running.items()}
        if leases:
            kept = await self.queue.extend(leases)
            if kept < len(leases):
                log.warning("%s lost the lease of %d jobs", self.queue.owner, len(leases) - kept)

    async def sweep(self) -> None:
        """Expired leases back to the line, stale admissions withdrawn, unanswered provider cancels sent
        again, old rate windows pruned."""
        requeued, _ = await self.queue.sweep()
        self.metrics.leases_expired(len(requeued))
        if requeued:
            self.wake()
        await self.runner.cancels.sweep()
        if self.intake is not None:
            await self.intake.sweep_stale_pending()
        if self.runner.rate_limiter is not None:
            await self.runner.rate_limiter.prune()  # past minutes' request counts

    async def stop(self) -> None:
        """Stop claiming, stop running jobs and hand them back to the queue at once."""
        self._stopping = True
        self.wake()
        running = list(self.running.values())
        for r in running:
            r.task.cancel()
        deliveries = list(self._deliveries)
        for task in deliveries:
            task.cancel()  # the delivery sweep shows these results later
        await asyncio.gather(*(r.task for r in running), *deliveries, return_exceptions=True)
        await self.queue.hand_back({r.claim.job_id: r.claim.lease for r in running})
