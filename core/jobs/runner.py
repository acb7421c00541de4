"""Running one job: submit → poll → download → completed, or a failure with its category.

Rules it keeps (see docs/engineering): the provider job id is stored before the first poll and a job
that has one (or whose submit may have reached the provider) is never submitted again; every state
change goes through `transitions` and is conditional on the claim's lease, so a run that lost its
lease can't finish the job; a transient database error is retried and never fails a job — if the
database stays away, the run stops and the job is resumed after its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.accounts.quotas import QuotaService
from core.catalog import Catalog, ModelSpec
from core.errors import REFUNDED_CATEGORIES, ErrorCategory, GenerationError
from core.jobs import store, submission, transitions
from core.jobs.cancels import ProviderCancels
from core.jobs.poll_schedule import FixedSchedule, LatencyModel, PollSchedule, Schedule
from core.jobs.progress import (
    COMPLETE,
    DOWNLOADING,
    STARTING,
    ProgressCallback,
    ProgressReporter,
    expected_latency,
)
from core.jobs.submission import LeaseLost
from core.jobs.views import GenerationResult, result_of
from core.jobs.waiting import VideoWaiter, Wait
from core.media.files import output_filename, safe_output_path
from core.media.join import join_clips
from core.platform.clock import Clock, utcnow
from core.platform.coordination import RateLimiter
from core.platform.db_retry import is_transient, retry_db
from core.platform.logs import add_job_log_fields, job_log_fields
from core.platform.retry import backoff_delay
from core.providers.base import JobRef, Provider, VideoSource
from core.storage import LocalStorage, Storage, local_copy
from models import Generation, GenerationStatus

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 4
MIN_POLL_TIMEOUT = 600.0  # seconds; providers.md: give up after about 10 minutes
POLL_TIMEOUT_FACTOR = 5.0  # ... or five times the model's expected latency, if longer
LATENCY_SAMPLE_SIZE = 20


class JobRunner:
    """Runs video jobs against providers and keeps the job record true."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        providers: dict[str, Provider],
        quotas: QuotaService,
        output_dir: Path,
        max_video_bytes: int = 200 * 1024 * 1024,
        now: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        rate_limiter: RateLimiter | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.catalog = catalog
        self.storage = storage or LocalStorage(output_dir)  # where finished videos are kept
        self.rate_limiter = rate_limiter
        self.providers = providers
        self.quotas = quotas
        self.output_dir = output_dir
        self.max_video_bytes = max_video_bytes
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._rand = rand
        self.cancels = ProviderCancels(providers, clock=Clock(monotonic=monotonic, sleep=sleep, now=now))
        self.waiter = VideoWaiter(
            monotonic=monotonic,
            sleep=sleep,
            rand=rand,
            respect_rate_limit=self._respect_rate_limit,
            cancel_at_provider=self.cancels.request,
        )

    async def _db(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        return await retry_db(call, what=what, sleep=self._sleep, monotonic=self._monotonic, rand=self._rand)

    # ---- running ---------------------------------------------------------------------------

    async def run_job(
        self, generation_id: int, progress: ProgressCallback | None = None, *, lease: str | None = None
    ) -> GenerationResult:
        """Run (or resume) one job to a terminal state and return its result.

        With `lease`, the job was claimed from the queue under that token: every later state change is
        conditional on it, so a run that lost its lease can't finish the job. Without it (the CLI),
        the job is started here. A result that is not `finished` means this run gave the job up
        (lease lost, or the database stayed away): it is resumed elsewhere or later.
        """
        with job_log_fields(job_id=generation_id):  # every line of the run names the job
            return await self._run_job(generation_id, ProgressReporter(progress), lease)

    async def _run_job(
        self, generation_id: int, reporter: ProgressReporter, lease: str | None
    ) -> GenerationResult:
        try:
            gen = await self._db("load job", lambda: Generation.get(id=generation_id))
            add_job_log_fields(
                user_id=gen.user_id, guild_id=gen.guild_id, provider_job_id=gen.provider_job_id
            )
            if gen.status.is_terminal:
                return result_of(gen)
            if lease is not None:
                if gen.status is not GenerationStatus.PROCESSING or gen.lease_owner != lease:
                    return result_of(gen)
            elif not await self._db("start job", lambda: transitions.start_unqueued(gen.id, self._now())):
                return result_of(await Generation.get(id=gen.id))
            await self._run(gen, lease, reporter)
        except asyncio.CancelledError:
            raise  # shutdown: the job stays processing with its provider id and is resumed later
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "job %s: the database stayed unreachable (%r); leaving it to be resumed", generation_id, exc
            )
        try:
            return result_of(await self._db("read result", lambda: Generation.get(id=generation_id)))
        except Exception as exc:
            if not is_transient(exc):
                raise
            return GenerationResult("error", None, None, None, generation_id, job_status="processing")

    async def _run(self, gen: Generation, lease: str | None, reporter: ProgressReporter) -> None:
        started = self._monotonic()
        await reporter.report(*STARTING)
        try:
            spec = self._spec_for(gen)
            provider = self._provider_for(gen)
            ref = await submission.ensure_submitted(self, gen, lease, spec, provider, reporter)
            video = await self._wait_for_video(gen, lease, spec, provider, ref, reporter)
            await reporter.report(*DOWNLOADING)
            path, size = await self._download(gen, lease, provider, ref, video)
            if gen.config.get("join_after"):  # an extension: the source clip, then the new seconds
                path, size = await self._join(gen, path)
            key = await self._store(gen, path)
            total = self._monotonic() - started
            if gen.submitted_at is not None:  # resumed: count the time before the restart too
                total = max(total, (self._now() - gen.submitted_at).total_seconds())
            timings = dict(gen.stage_timings, total=round(total, 3))
            finished = await self._db(
                "complete",
                lambda: transitions.complete(
                    gen.id, lease, path=str(path), size=size, timings=timings, now=self._now(), key=key
                ),
            )
            if not finished:  # cancelled meanwhile: the file is not the user's result any more
                await asyncio.to_thread(path.unlink, missing_ok=True)
                with contextlib.suppress(OSError):  # else retention removes it
                    await self.storage.delete(key)
                return
            log.info("job %s: completed in %.1fs (%d bytes)", gen.id, timings["total"], size)
            await reporter.report(*COMPLETE)
        except LeaseLost:
            log.info("job %s: no longer ours (cancelled or re-claimed); this run stops", gen.id)
        except GenerationError as exc:
            await self._fail(gen, lease, exc, self._monotonic() - started)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("job %s: unexpected error", gen.id)
            await self._fail(gen, lease, GenerationError(ErrorCategory.UNKNOWN, repr(exc)), None)

    async def learned_latency(self, spec: ModelSpec) -> tuple[float, list[float]]:
        """Seconds this model's jobs take to process here (learned once enough have completed, else the
        catalog's prior), and the processing times it was learned from."""
        samples = await store.processing_times(spec.name, LATENCY_SAMPLE_SIZE)
        return expected_latency(spec.expected_latency_s, samples), samples

    # ---- steps -----------------------------------------------------------------------------

    def _spec_for(self, gen: Generation) -> ModelSpec:
        spec = self.catalog.get(gen.model)
        if spec is None:
            raise GenerationError(ErrorCategory.MODEL_UNAVAILABLE, f"model '{gen.model}' left the catalog")
        return spec

    def _provider_for(self, gen: Generation) -> Provider:
        provider = self.providers.get(gen.provider)
        if provider is None:
            raise GenerationError(
                ErrorCategory.MODEL_UNAVAILABLE, f"provider '{gen.provider}' is not configured any more"
            )
        return provider

    async def _still_mine(self, gen: Generation, lease: str | None) -> None:
        if not await self._db("check lease", lambda: transitions.holds(gen.id, lease)):
            raise LeaseLost

    async def _wait_for_video(
        self,
        gen: Generation,
        lease: str | None,
        spec: ModelSpec,
        provider: Provider,
        ref: JobRef,
        reporter: ProgressReporter,
    ) -> VideoSource:
        add_job_log_fields(provider_job_id=ref.job_id)  # from here on every line names it
        expected, samples = await self._db("read latencies", lambda: self.learned_latency(spec))
        limit = max(MIN_POLL_TIMEOUT, POLL_TIMEOUT_FACTOR * expected)
        waited_before = (self._now() - gen.submitted_at).total_seconds() if gen.submitted_at else 0.0
        began = self._monotonic() - max(0.0, waited_before)
        if spec.poll_interval_s is not None:  # the catalog pins the cadence
            schedule: Schedule = FixedSchedule(spec.poll_interval_s)
        else:
            model = LatencyModel.fit(spec.expected_latency_s, samples)
            schedule = PollSchedule.for_model(model, provider.poll_interval)

        async def still_mine() -> None:  # cancelled, or our lease was lost: stop waiting for it
            await self._still_mine(gen, lease)

        video = await self.waiter.wait(
            Wait(gen.id, provider, ref, reporter, expected, schedule, began, began + limit, still_mine)
        )
        gen.stage_timings = dict(gen.stage_timings, processing=round(self._monotonic() - began, 3))
        return video

    async def _download(
        self, gen: Generation, lease: str | None, provider: Provider, ref: JobRef, video: VideoSource
    ) -> tuple[Path, int]:
        await asyncio.to_thread(self.output_dir.mkdir, parents=True, exist_ok=True)
        created = gen.created_at or self._now()
        path = safe_output_path(self.output_dir, output_filename(gen.prompt, created, gen.id))
        # One partial file per claim: two runs of the same job never write into each other's download.
        claim = (lease or "local").rsplit("#", 1)[-1]
        partial = path.with_name(f"{path.name}.{claim}.part")
        began = self._monotonic()
        size = await self._retrying(
            "download",
            gen.id,
            FETCH_ATTEMPTS,
            lambda: provider.fetch(ref, video, partial, self.max_video_bytes),
        )
        await asyncio.to_thread(partial.replace, path)
        gen.stage_timings = dict(gen.stage_timings, download=round(self._monotonic() - began, 3))
        return path, size

    async def _join(self, gen: Generation, clip: Path) -> tuple[Path, int]:
        """Put the source clip before the downloaded continuation, as the job's one result file."""
        began = self._monotonic()
        joined = clip.with_name(f"{clip.stem}.joined.mp4")
        try:
            source = await local_copy(
                self.storage, gen.config.get("join_after_key"), gen.config["join_after"]
            )
            assert source is not None
            await join_clips(source, clip, joined, drop_first_frame=bool(gen.config.get("drop_first_frame")))
        except (OSError, ValueError) as exc:
            raise GenerationError(
                ErrorCategory.UNKNOWN, f"joining the clip to job #{gen.config.get('extends')}'s failed: {exc}"
            ) from None
        await asyncio.to_thread(joined.replace, clip)
        gen.stage_timings = dict(gen.stage_timings, join=round(self._monotonic() - began, 3))
        return clip, (await asyncio.to_thread(clip.stat)).st_size

    async def _store(self, gen: Generation, path: Path) -> str:
        """Put the finished video in storage (a no-op for the local folder); its key. A store that keeps
        failing fails the job (refunded): a half upload is never visible, so nothing half is delivered."""
        key = self.storage.key_of(path)
        began = self._monotonic()

        async def put() -> None:
            try:
                await self.storage.put(key, path)
            except OSError as exc:  # StorageError included
                raise GenerationError(
                    ErrorCategory.UNKNOWN, f"storing the video failed: {exc}", retryable=True
                ) from None

        await self._retrying("store", gen.id, FETCH_ATTEMPTS, put)
        if self.storage.remote:
            gen.stage_timings = dict(gen.stage_timings, store=round(self._monotonic() - began, 3))
        return key

    async def _retrying(
        self, what: str, job_id: int, attempts: int, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except GenerationError as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                delay = backoff_delay(attempt, retry_after=exc.retry_after, rand=self._rand)
                log.warning(
                    "job %s: %s failed (%s); retry %d in %.1fs", job_id, what, exc.detail, attempt, delay
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _respect_rate_limit(self, provider: Provider) -> None:
        """Wait for a slot in the provider's per-minute budget (shared by every process)."""
        if self.rate_limiter is None:
            return
        while (
            wait := await self._db("rate limit", lambda: self.rate_limiter.try_acquire(provider.name))
        ) > 0:
            await self._sleep(wait + self._rand())  # jittered so waiting jobs don't all poll at once

    # ---- ending ----------------------------------------------------------------------------

    async def _fail(
        self, gen: Generation, lease: str | None, exc: GenerationError, elapsed: float | None
    ) -> None:
        changed = await self._db("fail", lambda: transitions.fail(gen.id, lease, exc, elapsed, self._now()))
        if changed:
            await self._after_failure(gen.id, exc)

    async def abandon(self, generation_id: int, exc: GenerationError, *, expired_before: dt.datetime) -> bool:
        """Fail a job whose worker vanished (lease expired before `expired_before`), refunding the quota,
        and stop it at the provider where the API allows."""
        if not await transitions.fail_abandoned(generation_id, expired_before, exc, self._now()):
            return False
        await self._after_failure(generation_id, exc)
        await self.cancels.request(generation_id)
        return True

    async def _after_failure(self, generation_id: int, exc: GenerationError) -> None:
        """Refund and release spend for the one caller whose update failed the job."""
        log.info("job %s: failed (%s): %s", generation_id, exc.category.value, exc.detail)
        if exc.category in REFUNDED_CATEGORIES:
            await self._db("refund", lambda: self.quotas.refund(generation_id))
        gen = await self._db("read job", lambda: Generation.get(id=generation_id))
        if exc.category is ErrorCategory.SAFETY_BLOCKED or not _may_have_billed(gen, exc):
            await self._db("release spend", lambda: self.quotas.release_spend(generation_id))


def _may_have_billed(gen: Generation, exc: GenerationError) -> bool:
    """Whether the provider may have billed this failed job: the day's spend keeps its estimated cost."""
    if gen.provider_job_id is not None:
        return True  # an accepted id is treated as billed
    if gen.submit_started_at is None:
        return False  # never sent
    return exc.may_have_billed if exc.may_have_billed is not None else True  # unknown: count it
