"""The generator service: validate → reserve quota → record → submit → poll → download → finalize.

Rules it keeps (see docs/engineering): the provider job id is stored before the first poll and a job
that has one (or whose submit may have reached the provider) is never submitted again; every state
change is a conditional UPDATE, and refunds happen only for the caller whose update changed the row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.accounts.quotas import QuotaService
from core.catalog import Catalog, ModelSpec
from core.errors import REFUNDED_CATEGORIES, USER_MESSAGES, ErrorCategory, GenerationError
from core.jobs.progress import (
    COMPLETE,
    DOWNLOADING,
    REQUEST_SENT,
    STARTING,
    ProgressCallback,
    ProgressReporter,
    expected_latency,
    processing_stage,
    queued_stage,
    time_fraction,
)
from core.media.files import output_filename, safe_output_path
from core.platform.clock import utc_day, utcnow
from core.platform.coordination import RateLimiter
from core.platform.retry import backoff_delay
from core.providers.base import JobRef, JobState, PollResult, Provider, VideoRequest, VideoSource
from core.validation import GenerationParams, resolve_model, validate
from models import Generation, GenerationStatus
from models.generation import ACTIVE_STATUSES, TERMINAL_STATUSES

log = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 4
FETCH_ATTEMPTS = 4
MIN_POLL_TIMEOUT = 600.0  # seconds; providers.md: give up after about 10 minutes
POLL_TIMEOUT_FACTOR = 5.0  # ... or five times the model's expected latency, if longer
LATENCY_SAMPLE_SIZE = 20
ACTIVE = tuple(ACTIVE_STATUSES)


@dataclass(frozen=True)
class Requester:
    """Who asked, and where the result should appear."""

    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class GenerationResult:
    """The seed's result shape, plus what a UI shows next to the video."""

    status: str  # "success" | "error"
    video_path: str | None
    operation_id: str | None
    duration: float | None
    generation_id: int | None
    error: str | None = None
    error_type: str | None = None
    error_detail: str | None = None
    model: str | None = None
    video_seconds: int | None = None
    estimated_cost_usd: float | None = None
    refunded: bool = False
    job_status: str | None = None  # the record's status: anything but completed/failed/cancelled = not over

    @property
    def finished(self) -> bool:
        """True when the job reached a terminal state (False e.g. when another worker owns it now)."""
        return self.job_status in {status.value for status in TERMINAL_STATUSES} or (
            self.job_status is None and self.generation_id is None
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_error(cls, exc: GenerationError, generation_id: int | None = None) -> GenerationResult:
        """An error result for a job that was refused before it had a record."""
        return cls("error", None, None, None, generation_id, exc.user_message, exc.category.value, exc.detail)


class Generator:
    """Runs video jobs against providers and keeps the job record true."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        providers: dict[str, Provider],
        quotas: QuotaService,
        output_dir: Path,
        default_model: str,
        max_video_bytes: int = 200 * 1024 * 1024,
        now: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.catalog = catalog
        self.rate_limiter = rate_limiter
        self.providers = providers
        self.quotas = quotas
        self.output_dir = output_dir
        self.default_model = default_model
        self.max_video_bytes = max_video_bytes
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._rand = rand

    # ---- requests -------------------------------------------------------------------------

    def available_models(self) -> list[ModelSpec]:
        """Catalog models whose provider is configured."""
        return [m for m in self.catalog.models.values() if m.provider in self.providers]

    def validate(self, params: GenerationParams) -> VideoRequest:
        """Validate input without touching the database (fast; safe before a Discord defer)."""
        spec = resolve_model(self.catalog, set(self.providers), params.model, self.default_model)
        return validate(params, spec)

    async def create_job(
        self, params: GenerationParams, requester: Requester, *, max_waiting: int | None = None
    ) -> Generation:
        """Validate, check the user, reserve quota and spend, and record the job (status pending).

        Quota reservation and the record are one transaction: either both exist or neither. With
        `max_waiting`, a user who already has that many jobs waiting to start is refused; the check
        runs after the reservation's UPDATE of the user's usage row, which serializes a user's
        concurrent requests, so two at once cannot both squeeze past the cap.
        """
        request = self.validate(params)
        spec = request.model
        cost = spec.estimate_cost(request.duration, request.resolution)
        day = utc_day(self._now())
        user = await self.quotas.ensure_user(requester.user_id)
        config = _config_of(request)
        if request.image is not None:
            config["image_path"] = str(self._store_input_image(request.image, request.image_mime_type))
        try:
            gen = await self._record_job(request, requester, user, day, cost, config, max_waiting)
        except BaseException:
            if "image_path" in config:
                Path(config["image_path"]).unlink(missing_ok=True)  # noqa: ASYNC240 - tiny local file
            raise
        log.info(
            "job %s: created for user %s (%s, %ss)", gen.id, requester.user_id, spec.name, request.duration
        )
        return gen

    async def _record_job(
        self,
        request: VideoRequest,
        requester: Requester,
        user: Any,
        day: dt.date,
        cost: float,
        config: dict,
        max_waiting: int | None,
    ) -> Generation:
        spec = request.model
        async with in_transaction():
            await self.quotas.reserve(user, day, request.duration, cost)
            if max_waiting is not None:
                waiting = await Generation.filter(
                    user_id=requester.user_id, status__in=[GenerationStatus.PENDING, GenerationStatus.QUEUED]
                ).count()
                if waiting >= max_waiting:
                    raise GenerationError(
                        ErrorCategory.USER_QUOTA_EXCEEDED,
                        f"you already have {waiting} videos waiting (at most {max_waiting});"
                        " wait until one starts",
                    )
            return await Generation.create(
                user_id=requester.user_id,
                guild_id=requester.guild_id,
                channel_id=requester.channel_id,
                message_id=requester.message_id,
                prompt=request.prompt,
                model=spec.name,
                provider=spec.provider,
                provider_model_id=spec.provider_model_id,
                config=config,
                video_seconds=request.duration,
                estimated_cost_usd=cost,
                quota_day=day,
                created_at=self._now(),
            )

    def _store_input_image(self, image: bytes, mime_type: str | None) -> Path:
        folder = self.output_dir / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}.get(mime_type or "", ".bin")
        path = folder / f"{uuid.uuid4().hex}{ext}"
        path.write_bytes(image)
        return path

    async def generate(
        self, params: GenerationParams, requester: Requester, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        """Create the job and run it to the end. Expected failures come back as error results."""
        try:
            gen = await self.create_job(params, requester)
        except GenerationError as exc:
            log.info("request from user %s refused: %s", requester.user_id, exc.detail)
            return GenerationResult.from_error(exc)
        return await self.run_job(gen.id, progress)

    # ---- running ---------------------------------------------------------------------------

    async def run_job(
        self, generation_id: int, progress: ProgressCallback | None = None, *, owner: str | None = None
    ) -> GenerationResult:
        """Run (or resume) one job to a terminal state and return its result.

        With `owner`, the job was leased from the queue by that worker: every later state change is
        conditional on the lease still being ours, so a worker that lost its lease can't finish the job.
        Without it (the terminal CLI), the job is claimed here.
        """
        reporter = ProgressReporter(progress)
        gen = await Generation.get(id=generation_id)
        if gen.status.is_terminal:
            return result_of(gen)
        started = self._monotonic()
        resumed = gen.provider_job_id is not None
        if owner is not None:
            if gen.status is not GenerationStatus.PROCESSING or gen.lease_owner != owner:
                return result_of(gen)
        elif not await Generation.filter(id=gen.id, status__in=ACTIVE).update(
            status=GenerationStatus.PROCESSING, attempts=F("attempts") + 1, updated_at=self._now()
        ):
            return result_of(await Generation.get(id=gen.id))
        await reporter.report(*STARTING)
        try:
            spec = self._spec_for(gen)
            provider = self._provider_for(gen)
            ref = await self._ensure_submitted(gen, spec, provider, reporter)
            video = await self._wait_for_video(gen, spec, provider, ref, reporter, started)
            await reporter.report(*DOWNLOADING)
            path, size = await self._download(gen, provider, ref, video)
            total = self._monotonic() - started
            if resumed and gen.submitted_at is not None:  # count the time before the restart too
                total = max(total, (self._now() - gen.submitted_at).total_seconds())
            timings = dict(gen.stage_timings, total=round(total, 3))
            finished = await _mine(gen).update(
                status=GenerationStatus.COMPLETED,
                video_path=str(path),
                video_bytes=size,
                duration=timings["total"],
                stage_timings=timings,
                completed_at=self._now(),
                updated_at=self._now(),
            )
            if not finished:  # cancelled meanwhile: the file is not the user's result any more
                path.unlink(missing_ok=True)
                return result_of(await Generation.get(id=gen.id))
            log.info("job %s: completed in %.1fs (%d bytes)", gen.id, timings["total"], size)
            await reporter.report(*COMPLETE)
        except GenerationError as exc:
            await self._fail(gen, exc, self._monotonic() - started)
        except asyncio.CancelledError:
            raise  # shutdown: the job stays processing with its provider id and is resumed later
        except Exception as exc:
            log.exception("job %s: unexpected error", gen.id)
            await self._fail(
                gen, GenerationError(ErrorCategory.UNKNOWN, repr(exc)), self._monotonic() - started
            )
        return result_of(await Generation.get(id=gen.id))

    async def cancel(self, generation_id: int) -> bool:
        """Cancel a job that is not finished. Refunds when it never reached the provider.

        Two conditional UPDATEs decide, with no read before them: the first only matches a job whose
        submit has not started (so it can never be submitted any more: refund); the second any other
        unfinished job (it may be billed: cancel at the provider, no refund).
        """
        now = self._now()
        cancelled = {
            "status": GenerationStatus.CANCELLED,
            "error": "cancelled by request",
            "error_type": ErrorCategory.CANCELLED.value,
            "completed_at": now,
            "updated_at": now,
        }
        unsubmitted = Generation.filter(id=generation_id, status__in=ACTIVE, submit_started_at__isnull=True)
        if await unsubmitted.update(**cancelled):
            log.info("job %s: cancelled before submission", generation_id)
            await self.quotas.refund(generation_id)
            await self.quotas.release_spend(generation_id)
            return True
        if not await Generation.filter(id=generation_id, status__in=ACTIVE).update(**cancelled):
            return False
        log.info("job %s: cancelled", generation_id)
        gen = await Generation.get(id=generation_id)
        provider = self.providers.get(gen.provider)
        if provider is not None and gen.provider_job_id:
            await self._cancel_quietly(gen, provider, JobRef(gen.provider_job_id, gen.provider_model_id))
        return True

    async def attach_message(
        self,
        generation_id: int,
        *,
        channel_id: int,
        message_id: int,
        interaction_id: int | None = None,
        token: str | None = None,
        upload_limit: int | None = None,
    ) -> None:
        """Remember where the job's message is, and the interaction token that may edit it (if any)."""
        fields: dict[str, Any] = {
            "channel_id": channel_id,
            "message_id": message_id,
            "interaction_id": interaction_id,
            "interaction_token": token,
        }
        if upload_limit is not None:
            fields["upload_limit"] = upload_limit
        await Generation.filter(id=generation_id).update(**fields)

    async def forget_token(self, generation_id: int) -> None:
        """Discord rejected the job's interaction token: stop every process from trying it."""
        await Generation.filter(id=generation_id).update(interaction_token=None)

    async def jobs(self, generation_ids: list[int]) -> list[Generation]:
        """The records of these jobs."""
        return await Generation.filter(id__in=generation_ids)

    async def undelivered(self, *, older_than: dt.datetime) -> list[int]:
        """Finished jobs with a Discord message whose result was never shown (oldest first)."""
        return await (
            Generation.filter(
                status__in=list(TERMINAL_STATUSES),
                delivered_at__isnull=True,
                message_id__isnull=False,
                deleted=False,
                completed_at__lt=older_than,
            )
            .order_by("completed_at")
            .limit(100)
            .values_list("id", flat=True)
        )

    async def mark_delivered(self, generation_id: int) -> bool:
        """Record that the final result is visible; True only for the first caller."""
        return bool(
            await Generation.filter(id=generation_id, delivered_at__isnull=True).update(
                delivered_at=self._now()
            )
        )

    async def find_job(self, generation_id: int) -> Generation | None:
        """The job record, or None."""
        return await Generation.get_or_none(id=generation_id)

    async def get_job(self, generation_id: int) -> Generation:
        """The job record (it must exist)."""
        return await Generation.get(id=generation_id)

    def params_of(self, gen: Generation, *, new_seed: int | None = None) -> GenerationParams:
        """The parameters of an earlier job, for Regenerate (with `new_seed` where the model takes one)."""
        cfg = gen.config
        spec = self.catalog.get(gen.model)
        image = None
        if cfg.get("image_path"):
            try:
                image = Path(cfg["image_path"]).read_bytes()
            except OSError as exc:
                raise GenerationError(
                    ErrorCategory.INVALID_REQUEST, f"image: the original image is gone ({exc})"
                ) from None
        return GenerationParams(
            prompt=gen.prompt,
            model=gen.model,
            duration=cfg.get("duration"),
            aspect_ratio=cfg.get("aspect_ratio"),
            resolution=cfg.get("resolution"),
            negative_prompt=cfg.get("negative_prompt"),
            seed=new_seed if spec is not None and spec.seed and new_seed is not None else cfg.get("seed"),
            image=image,
            image_mime_type=cfg.get("image_mime_type") if image is not None else None,
        )

    async def expected_latency(self, spec: ModelSpec) -> float:
        """Seconds this model's jobs take to process here, learned once enough have completed."""
        rows = await (
            Generation.filter(model=spec.name, status=GenerationStatus.COMPLETED)
            .order_by("-completed_at")
            .limit(LATENCY_SAMPLE_SIZE)
            .values_list("stage_timings", flat=True)
        )
        samples = [float(t["processing"]) for t in rows if isinstance(t, dict) and "processing" in t]
        return expected_latency(spec.expected_latency_s, samples)

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

    async def _ensure_submitted(
        self, gen: Generation, spec: ModelSpec, provider: Provider, reporter: ProgressReporter
    ) -> JobRef:
        if gen.provider_job_id:
            log.info("job %s: resuming provider job %s", gen.id, gen.provider_job_id)
            await reporter.report(*REQUEST_SENT)
            return JobRef(gen.provider_job_id, gen.provider_model_id)
        if gen.submit_started_at is not None:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                "an earlier submit may have reached the provider but its job id was never stored;"
                " not submitting again to avoid paying twice",
            )
        request = _request_of(gen, spec)
        marked = (
            await _mine(gen)
            .filter(submit_started_at__isnull=True)
            .update(submit_started_at=self._now(), updated_at=self._now())
        )
        if not marked:
            raise GenerationError(ErrorCategory.CANCELLED, "cancelled before submission")
        began = self._monotonic()

        async def submit() -> str:
            await self._respect_rate_limit(provider)
            return await provider.submit(request)

        job_id = await self._retrying("submit", gen.id, SUBMIT_ATTEMPTS, submit)
        submitted_at = self._now()
        await Generation.filter(id=gen.id, provider_job_id__isnull=True).update(
            provider_job_id=job_id, submitted_at=submitted_at, updated_at=submitted_at
        )
        ref = JobRef(job_id, gen.provider_model_id)
        gen.stage_timings = dict(gen.stage_timings, submit=round(self._monotonic() - began, 3))
        log.info("job %s: submitted to %s as %s", gen.id, provider.name, job_id)
        if not await _mine(gen).exists():
            # Cancelled while the submit was in flight: the cancel could not name the job yet.
            await self._cancel_quietly(gen, provider, ref)
            raise GenerationError(ErrorCategory.CANCELLED, "cancelled while the request was being sent")
        await reporter.report(*REQUEST_SENT)
        return ref

    async def _wait_for_video(
        self,
        gen: Generation,
        spec: ModelSpec,
        provider: Provider,
        ref: JobRef,
        reporter: ProgressReporter,
        started: float,
    ) -> VideoSource:
        expected = await self.expected_latency(spec)
        deadline = self._monotonic() + max(MIN_POLL_TIMEOUT, POLL_TIMEOUT_FACTOR * expected)
        began = self._monotonic()
        failures = 0
        interval = spec.poll_interval_s if spec.poll_interval_s is not None else provider.poll_interval
        # The first poll lands at a random point of the first interval: jobs submitted or resumed
        # together then poll at spread-out moments instead of all at once, every interval.
        await self._sleep(interval * self._rand())
        while True:
            try:
                await self._respect_rate_limit(provider)
                result = await provider.poll(ref)
                failures = 0
            except GenerationError as exc:
                if not exc.retryable:
                    raise
                failures += 1
                log.warning("job %s: poll failed (%s), retrying", gen.id, exc.detail)
                result = None
                wait = backoff_delay(
                    failures,
                    base=max(interval, 1.0),
                    retry_after=exc.retry_after,
                    rand=self._rand,
                )
            if result is not None:
                if result.state is JobState.SUCCEEDED and result.video is not None:
                    processing = self._monotonic() - began
                    if gen.submitted_at is not None and gen.provider_job_id:  # resumed: the wall clock knows
                        processing = max(processing, (self._now() - gen.submitted_at).total_seconds())
                    gen.stage_timings = dict(gen.stage_timings, processing=round(processing, 3))
                    return result.video
                if result.state is JobState.FAILED:
                    raise result.error or GenerationError(ErrorCategory.GENERATION_FAILED, "provider failed")
                await self._report_wait(reporter, result, self._monotonic() - began, expected)
                wait = interval
            if self._monotonic() + wait > deadline:
                await self._cancel_quietly(gen, provider, ref)
                raise GenerationError(
                    ErrorCategory.TIMEOUT, f"no video after {self._monotonic() - started:.0f}s of waiting"
                )
            await self._sleep(wait)
            if not await _mine(gen).exists():  # cancelled, or our lease was lost: stop polling for it
                raise GenerationError(ErrorCategory.CANCELLED, "cancelled while waiting for the provider")

    async def _report_wait(
        self, reporter: ProgressReporter, result: PollResult, elapsed: float, expected: float
    ) -> None:
        if result.state is JobState.QUEUED:
            await reporter.report(*queued_stage(result.queue_position))
            return
        fraction = result.progress if result.progress is not None else time_fraction(elapsed, expected)
        await reporter.report(*processing_stage(fraction))

    async def _download(
        self, gen: Generation, provider: Provider, ref: JobRef, video: VideoSource
    ) -> tuple[Path, int]:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        created = gen.created_at or self._now()
        path = safe_output_path(self.output_dir, output_filename(gen.prompt, created, gen.id))
        partial = path.with_name(path.name + ".part")
        began = self._monotonic()
        size = await self._retrying(
            "download",
            gen.id,
            FETCH_ATTEMPTS,
            lambda: provider.fetch(ref, video, partial, self.max_video_bytes),
        )
        partial.replace(path)
        gen.stage_timings = dict(gen.stage_timings, download=round(self._monotonic() - began, 3))
        return path, size

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
        while (wait := await self.rate_limiter.try_acquire(provider.name)) > 0:
            await self._sleep(wait + self._rand())  # jittered so waiting jobs don't all poll at once

    async def _cancel_quietly(self, gen: Generation, provider: Provider, ref: JobRef) -> None:
        """Ask the provider to stop the job where its API can; a failure is logged, not raised."""
        if not provider.supports_cancel:
            return
        try:
            await provider.cancel(ref)
        except GenerationError as exc:
            log.warning("job %s: provider cancel failed: %s", gen.id, exc.detail)

    async def _fail(self, gen: Generation, exc: GenerationError, elapsed: float | None) -> None:
        await self._finish_failed(_mine(gen), gen.id, exc, elapsed)

    async def abandon(self, generation_id: int, exc: GenerationError, *, expired_before: dt.datetime) -> bool:
        """Fail a job whose worker vanished (lease expired before `expired_before`), refunding the quota."""
        query = Generation.filter(
            id=generation_id, status=GenerationStatus.PROCESSING, lease_expires_at__lt=expired_before
        )
        return await self._finish_failed(query, generation_id, exc, None)

    async def _finish_failed(
        self, query: Any, generation_id: int, exc: GenerationError, elapsed: float | None
    ) -> bool:
        """The conditional terminal update, then refund and spend release for the caller that made it."""
        changed = await query.update(
            status=GenerationStatus.FAILED,
            error=exc.detail,
            error_type=exc.category.value,
            duration=round(elapsed, 3) if elapsed is not None else None,
            completed_at=self._now(),
            updated_at=self._now(),
        )
        if not changed:
            return False
        log.info("job %s: failed (%s): %s", generation_id, exc.category.value, exc.detail)
        if exc.category in REFUNDED_CATEGORIES:
            await self.quotas.refund(generation_id)
        gen = await Generation.get(id=generation_id)
        if gen.provider_job_id is None or exc.category is ErrorCategory.SAFETY_BLOCKED:
            await self.quotas.release_spend(generation_id)
        return True


def _mine(gen: Generation) -> Any:
    """The job, if it is still processing under the lease this run holds (any lease for a CLI run)."""
    query = Generation.filter(id=gen.id, status=GenerationStatus.PROCESSING)
    return query.filter(lease_owner=gen.lease_owner) if gen.lease_owner else query


def _config_of(request: VideoRequest) -> dict[str, Any]:
    return {
        "duration": request.duration,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
        "negative_prompt": request.negative_prompt,
        "seed": request.seed,
        "image_mime_type": request.image_mime_type,
    }


def _request_of(gen: Generation, spec: ModelSpec) -> VideoRequest:
    cfg = gen.config
    image = None
    if cfg.get("image_path"):
        try:
            image = Path(cfg["image_path"]).read_bytes()
        except OSError as exc:
            raise GenerationError(ErrorCategory.UNKNOWN, f"the input image is gone: {exc}") from None
    return VideoRequest(
        prompt=gen.prompt,
        model=spec,
        duration=cfg["duration"],
        aspect_ratio=cfg["aspect_ratio"],
        resolution=cfg["resolution"],
        negative_prompt=cfg.get("negative_prompt"),
        seed=cfg.get("seed"),
        image=image,
        image_mime_type=cfg.get("image_mime_type") if image is not None else None,
    )


def result_of(gen: Generation) -> GenerationResult:
    """The result object for a job record."""
    ok = gen.status is GenerationStatus.COMPLETED
    category = ErrorCategory(gen.error_type) if gen.error_type else None
    return GenerationResult(
        status="success" if ok else "error",
        video_path=gen.video_path if ok else None,
        operation_id=gen.provider_job_id,
        duration=gen.duration,
        generation_id=gen.id,
        error=None if ok else (USER_MESSAGES[category] if category else gen.error),
        error_type=gen.error_type,
        error_detail=gen.error,
        model=gen.model,
        video_seconds=gen.video_seconds,
        estimated_cost_usd=gen.estimated_cost_usd,
        refunded=gen.refunded,
        job_status=gen.status.value,
    )
