"""Waiting for a submitted job's video: pushed by the provider where its API can (`watch`), polled on a
schedule learned from this deployment's jobs where it can't, and polled as well whenever a stream
fails or falls silent. While waiting, the run checks every few seconds that it still holds the job
(cancelled? re-claimed?) and gives up at the model's deadline, stopping the job at the provider."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.errors import ErrorCategory, GenerationError
from core.jobs.poll_schedule import Schedule
from core.jobs.progress import ProgressReporter, processing_stage, queued_stage, time_fraction
from core.platform.retry import backoff_delay
from core.providers.base import JobRef, JobState, PollResult, Provider, VideoSource, Watchable

log = logging.getLogger(__name__)

CHECK_EVERY = 5.0  # seconds between "is this job still ours?" checks while a stream is open
_TICK = object()


@dataclass(frozen=True)
class Wait:
    """One job's wait: what to ask, how to report, and its limits (times are the runner's monotonic)."""

    job_id: int
    provider: Provider
    ref: JobRef
    reporter: ProgressReporter
    expected: float  # seconds the model usually takes (for progress estimated from time)
    schedule: Schedule
    began: float  # when the provider started on it (before a restart of ours, too)
    deadline: float  # when to give up
    still_mine: Callable[[], Awaitable[None]]  # raises when the job was cancelled or re-claimed


class VideoWaiter:
    """Waits for videos at the providers (one per runner)."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        rand: Callable[[], float],
        respect_rate_limit: Callable[[Provider], Awaitable[None]],
        cancel_at_provider: Callable[[int], Awaitable[None]],
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._rand = rand
        self._respect_rate_limit = respect_rate_limit
        self._cancel_at_provider = cancel_at_provider

    async def wait(self, w: Wait) -> VideoSource:
        """The finished video's source; raises the provider's failure, TIMEOUT past the deadline."""
        if isinstance(w.provider, Watchable):
            try:
                return await self._watch(w)
            except GenerationError as exc:
                if not exc.retryable:
                    raise
                log.warning(
                    "job %s: the provider's stream failed (%s); polling instead", w.job_id, exc.detail
                )
        return await self._poll(w)

    # ---- push ------------------------------------------------------------------------------

    async def _watch(self, w: Wait) -> VideoSource:
        await self._respect_rate_limit(w.provider)
        inbox: asyncio.Queue[PollResult | Exception | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for result in w.provider.watch(w.ref):  # type: ignore[attr-defined]
                    await inbox.put(result)
                await inbox.put(None)
            except Exception as exc:  # handed to the loop below, which decides
                await inbox.put(exc)

        pumping = asyncio.create_task(pump(), name=f"watch-{w.job_id}")
        last: PollResult | None = None
        try:
            while True:
                item = await self._next(inbox)
                if item is _TICK:
                    await w.still_mine()
                    await self._check_deadline(w, 0.0)
                    if last is not None:  # progress estimated from time moves on between events
                        await self._report(w, last)
                    continue
                if item is None:
                    raise GenerationError(
                        ErrorCategory.PROVIDER_UNAVAILABLE,
                        "the stream ended before the job did",
                        retryable=True,
                    )
                if isinstance(item, GenerationError):
                    raise item
                if isinstance(item, Exception):
                    log.error("job %s: the provider's stream broke", w.job_id, exc_info=item)
                    raise GenerationError(ErrorCategory.UNKNOWN, f"stream error: {item!r}", retryable=True)
                video = await self._observe(w, item)
                if video is not None:
                    return video
                last = item
        finally:
            pumping.cancel()
            await asyncio.gather(pumping, return_exceptions=True)

    async def _next(self, inbox: asyncio.Queue) -> object:
        """The stream's next item, or _TICK after CHECK_EVERY seconds without one."""
        getter = asyncio.ensure_future(inbox.get())
        ticker = asyncio.ensure_future(self._sleep(CHECK_EVERY))
        try:
            await asyncio.wait({getter, ticker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ticker.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        return _TICK

    # ---- poll ------------------------------------------------------------------------------

    async def _poll(self, w: Wait) -> VideoSource:
        failures = 0
        first = w.schedule.next_wait(self._monotonic() - w.began)
        # The first poll lands at a random point: jobs submitted or resumed together then poll at
        # spread-out moments instead of all at once.
        await self._sleep(first * (self._jitter() if w.schedule.jittered else self._rand()))
        while True:
            try:
                await self._respect_rate_limit(w.provider)
                result: PollResult | None = await w.provider.poll(w.ref)
                failures = 0
            except GenerationError as exc:
                if not exc.retryable:
                    raise
                failures += 1
                log.warning("job %s: poll failed (%s), retrying", w.job_id, exc.detail)
                result = None
                base = max(w.schedule.next_wait(self._monotonic() - w.began), 1.0)
                wait = backoff_delay(failures, base=base, retry_after=exc.retry_after, rand=self._rand)
            if result is not None:
                video = await self._observe(w, result)
                if video is not None:
                    return video
                wait = w.schedule.next_wait(self._monotonic() - w.began)
                if w.schedule.jittered:
                    wait *= self._jitter()
            await self._check_deadline(w, wait)
            await self._sleep(wait)
            await w.still_mine()

    def _jitter(self) -> float:
        return 0.95 + 0.1 * self._rand()

    # ---- shared ----------------------------------------------------------------------------

    async def _observe(self, w: Wait, result: PollResult) -> VideoSource | None:
        """The video if the job is done; raises its failure; else reports the progress."""
        if result.state is JobState.SUCCEEDED and result.video is not None:
            return result.video
        if result.state is JobState.FAILED:
            raise result.error or GenerationError(ErrorCategory.GENERATION_FAILED, "provider failed")
        await self._report(w, result)
        return None

    async def _report(self, w: Wait, result: PollResult) -> None:
        if result.state is JobState.QUEUED:
            await w.reporter.report(*queued_stage(result.queue_position))
            return
        elapsed = self._monotonic() - w.began
        fraction = result.progress if result.progress is not None else time_fraction(elapsed, w.expected)
        await w.reporter.report(*processing_stage(fraction))

    async def _check_deadline(self, w: Wait, wait: float) -> None:
        if self._monotonic() + wait > w.deadline:
            await self._cancel_at_provider(w.job_id)
            raise GenerationError(
                ErrorCategory.TIMEOUT, f"no video after {self._monotonic() - w.began:.0f}s of waiting"
            )
