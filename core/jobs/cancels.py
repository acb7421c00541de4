"""Stopping a job at its provider, in the background and durably.

A slow or hanging provider never holds up a click, a sweep or a job's end: the cancel request runs in a
background task. The wish to cancel is stored on the job first (`provider_cancel_at`, set in the same
update that cancelled or failed the job), so a process that dies before the provider answered loses
nothing: the sweep asks again, with growing pauses, until the provider has answered or a day has passed.
`drain` waits for the requests in flight at shutdown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.errors import GenerationError
from core.jobs import store, transitions
from core.platform.clock import REAL_CLOCK, Clock
from core.platform.db_retry import retry_db
from core.providers.base import JobRef, Provider
from models import Generation

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_MIN = dt.timedelta(minutes=1)  # the first retry of a cancel whose answer never came
RETRY_MAX = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=1)  # by then the provider has finished (or dropped) the job anyway
SWEEP_BATCH = 50


def retry_after(gen: Generation, now: dt.datetime) -> dt.timedelta:
    """The pause before asking again: half the job's time since it ended, within [1 min, 1 h]."""
    ended = gen.completed_at or now
    return min(RETRY_MAX, max(RETRY_MIN, (now - ended) / 2))


class ProviderCancels:
    """Cancel requests to the providers: sent in the background, retried by `sweep` until answered."""

    def __init__(self, providers: dict[str, Provider], *, clock: Clock = REAL_CLOCK) -> None:
        self.providers = providers
        self._clock = clock
        self._now = clock.now
        self._tasks: set[asyncio.Task[None]] = set()

    async def _db(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_db(call, what=what, sleep=self._clock.sleep, monotonic=self._clock.monotonic)

    async def request(self, job_id: int) -> None:
        """Tell the provider to stop this job (cancelled, abandoned or timed out), without waiting for
        its answer. The wish is stored first, so a sweep asks again if this process dies before that."""
        now = self._now()
        gen = await self._db("read job", lambda: Generation.get(id=job_id))
        due = now + retry_after(gen, now)
        await self._db("mark cancel", lambda: transitions.want_provider_cancel(job_id, due, now))
        await self._send(gen)

    async def sweep(self) -> int:
        """Ask again for the cancels whose answer never came (the process died, the provider was down).
        Returns how many were sent."""
        now = self._now()
        sent = 0
        for job_id in await store.provider_cancels_due(now, SWEEP_BATCH):
            gen = await Generation.get_or_none(id=job_id)
            if gen is None:
                continue
            if gen.completed_at is not None and now - gen.completed_at > GIVE_UP_AFTER:
                if gen.provider_job_id is not None:
                    log.warning("job %s: gave up telling %s to stop it", job_id, gen.provider)
                await transitions.provider_cancel_settled(job_id, now)
                continue
            # Claimed, so that the sweeps of several workers don't all send it.
            if await transitions.claim_provider_cancel(job_id, now + retry_after(gen, now), now):
                sent += await self._send(gen)
        return sent

    async def _send(self, gen: Generation) -> bool:
        provider = self.providers.get(gen.provider)
        if provider is None or not provider.supports_cancel:
            await self._settled(gen.id)  # the API has no cancel: nothing more can be done
            return False
        if gen.provider_job_id is None:
            if gen.submit_started_at is None:
                await self._settled(gen.id)  # it never reached the provider
            # else the submit may still be in flight: its runner (or a later sweep) names the job then
            return False
        task = asyncio.create_task(
            self._cancel(gen.id, provider, JobRef(gen.provider_job_id, gen.provider_model_id)),
            name=f"cancel-{gen.id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _cancel(self, job_id: int, provider: Provider, ref: JobRef) -> None:
        try:
            await provider.cancel(ref)
            log.info("job %s: cancelled at %s", job_id, provider.name)
        except GenerationError as exc:
            if exc.retryable:  # the provider did not answer: the sweep asks again
                log.warning("job %s: provider cancel failed, will retry: %s", job_id, exc.detail)
                return
            log.warning("job %s: the provider refused the cancel: %s", job_id, exc.detail)
        except Exception:
            log.exception("job %s: provider cancel failed, will retry", job_id)
            return
        await self._settled(job_id)

    async def _settled(self, job_id: int) -> None:
        try:
            await self._db("settle cancel", lambda: transitions.provider_cancel_settled(job_id, self._now()))
        except Exception:  # the sweep asks once more: a second cancel is harmless
            log.exception("job %s: could not record the provider's answer to the cancel", job_id)

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Give the cancels in flight `timeout` seconds to finish (shutdown, tests); then stop them."""
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%d provider cancels did not finish in %.0f s", len(pending), timeout)
            await asyncio.gather(*pending, return_exceptions=True)
