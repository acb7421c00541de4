"""Builds the product's services from settings: catalog, providers, quotas, and the job lifecycle (intake, runner, actions, results, deliveries)."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.accounts.admin import AdminService
from core.accounts.forget import ForgetService
from core.accounts.presets import PresetService
from core.accounts.quotas import QuotaService
from core.catalog import Catalog, load_catalog
from core.errors import GenerationError
from core.jobs import store
from core.jobs.actions import JobActions
from core.jobs.counted import CountedIntake
from core.jobs.delivery import DeliveryLedger
from core.jobs.intake import Intake
from core.jobs.progress import ProgressCallback
from core.jobs.queue import JobQueue, QueuePolicy
from core.jobs.results import Results
from core.jobs.runner import JobRunner
from core.jobs.views import GenerationResult, Requester
from core.jobs.worker import JobHooks, Worker
from core.moderation.blocklist import BlocklistError, load_file
from core.moderation.service import Moderation
from core.platform.clock import REAL_CLOCK, Clock, utc_day
from core.platform.coordination import RateLimiter
from core.platform.metrics import Metrics
from core.platform.settings import Settings, SettingsError
from core.policy.service import PolicyService
from core.providers.base import Provider
from core.providers.metered import metered
from core.storage import Storage, open_storage
from core.validation import GenerationParams

log = logging.getLogger(__name__)


def build_providers(
    settings: Settings, clock: Clock = REAL_CLOCK, catalog: Catalog | None = None
) -> dict[str, Provider]:
    """One client per configured provider; unconfigured ones are simply absent. ComfyUI's workflows come
    from `catalog` (default: the one MODEL_CATALOG names)."""
    from core.providers.demo import DemoProvider

    providers: dict[str, Provider] = {
        "demo": DemoProvider(
            settings.output_dir / ".demo",
            latency=settings.demo_latency,
            clock=clock.monotonic,
            wall_clock=lambda: clock.now().timestamp(),
        )
    }
    if settings.gemini_api_key:
        from core.providers.gemini import GeminiProvider

        providers["gemini"] = GeminiProvider(settings.gemini_api_key, settings.google_gemini_base_url)
    if settings.vertex_configured:
        from core.providers.vertex import VertexProvider

        providers["vertex"] = VertexProvider(
            project=settings.google_cloud_project,
            location=settings.google_cloud_location,
            api_key=settings.vertex_api_key or None,
            base_url=settings.google_vertex_base_url,
        )
    if settings.fal_key:
        from core.providers.fal import FalProvider

        providers["fal"] = FalProvider(settings.fal_key, settings.fal_queue_url)
    if settings.comfyui_url:
        from core.providers.comfyui import ComfyUIProvider
        from core.providers.comfyui.chooser import WorkflowChooser

        providers["comfyui"] = ComfyUIProvider(
            settings.comfyui_url,
            dict(settings.comfyui_headers),
            WorkflowChooser(catalog or load_catalog(settings.model_catalog)),
            clock=clock.monotonic,
            sleep=clock.sleep,
        )
    return providers


@dataclass
class Services:
    """Everything the bot, the workers and the CLI call into."""

    settings: Settings
    catalog: Catalog
    providers: dict[str, Provider]
    quotas: QuotaService
    intake: Intake
    runner: JobRunner
    actions: JobActions
    results: Results
    deliveries: DeliveryLedger
    admin: AdminService
    presets: PresetService
    moderation: Moderation
    forgetting: ForgetService
    policy: PolicyService
    clock: Clock = REAL_CLOCK
    metrics: Metrics = field(default_factory=Metrics)  # this process's counters (/metrics)
    storage: Storage | None = None  # where videos and input images are kept (STORAGE_URL)

    def queue_policy(self) -> QueuePolicy:
        """The shared queue's limits, from settings."""
        return QueuePolicy(
            max_concurrent=self.settings.max_concurrent_jobs,
            user_max_running=self.settings.user_max_running,
            user_max_queued=self.settings.user_max_queued,
            lease_seconds=self.settings.lease_seconds,
            max_attempts=self.settings.max_attempts,
        )

    def job_queue(self, owner: str) -> JobQueue:
        """The queue as seen by worker `owner`; abandoned jobs are failed with a refund."""

        async def abandon(job_id: int, error) -> None:
            if await self.runner.abandon(job_id, error, expired_before=self.clock.now()):
                job = await store.find(job_id)
                self.metrics.job_finished("failed", job and job.model, job and job.provider)

        return JobQueue(self.queue_policy(), owner, on_abandoned=abandon, now=self.clock.now)

    def worker(self, queue: JobQueue, slots: int, hooks_for: Callable[[int], Awaitable[JobHooks]]) -> Worker:
        """A worker with `slots` slots on `queue`, woken whenever this process publishes a job."""
        worker = Worker(
            self.runner,
            queue,
            slots=slots,
            intake=self.intake,
            hooks_for=hooks_for,
            sleep=self.clock.sleep,
            monotonic=self.clock.monotonic,
            metrics=self.metrics,
        )
        self.intake.on_published(worker.wake)
        return worker

    async def generate(
        self, params: GenerationParams, requester: Requester, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        """Admit a job and run it to the end right here (the CLI). Refusals come back as error results."""
        try:
            job = await self.intake.create_job(params, requester)
        except GenerationError as exc:
            log.info("request from user %s refused: %s", requester.user_id, exc.detail)
            return GenerationResult.from_error(exc)
        return await self.runner.run_job(job.id, progress)

    async def aclose(self) -> None:
        """Wait for background provider cancels, then close provider HTTP sessions."""
        await self.runner.cancels.drain()
        if self.storage is not None:
            await self.storage.aclose()
        for provider in self.providers.values():
            try:
                await provider.aclose()
            except Exception:  # closing must not hide the real exit reason
                log.exception("closing provider %s failed", provider.name)


def build_services(
    settings: Settings, catalog: Catalog | None = None, *, clock: Clock = REAL_CLOCK
) -> Services:
    """Wire the services for `settings` (the database must be initialised separately); every one of them
    keeps time by `clock` (tests pass a virtual one)."""
    catalog = catalog or load_catalog(settings.model_catalog)
    default = catalog.get(settings.default_model)
    if default is None:
        raise SettingsError(
            f"setting DEFAULT_MODEL is '{settings.default_model}', which is not in the catalog"
            f" ({', '.join(catalog.names())})"
        )
    today = utc_day(clock.now())
    if default.retired(today):  # requests without a model are refused until the setting changes
        successor = catalog.successor(default.name, today)
        log.warning(
            "DEFAULT_MODEL '%s' retired on %s: /video without a model is refused; set DEFAULT_MODEL=%s",
            default.name,
            default.retires,
            successor.name if successor else "<a model from `python bot.py doctor`>",
        )
    quotas = QuotaService(
        daily_videos=settings.quota_daily_videos,
        daily_seconds=settings.quota_daily_seconds,
        spend_cap_usd=settings.daily_spend_cap_usd,
        now=clock.now,
    )
    rates: dict[str, int] = {}
    for spec in catalog.models.values():
        if spec.requests_per_minute:
            rates[spec.provider] = min(
                rates.get(spec.provider, spec.requests_per_minute), spec.requests_per_minute
            )
    return assemble(
        settings,
        catalog,
        build_providers(settings, clock, catalog),
        quotas,
        rate_limiter=RateLimiter(rates, now=clock.now),
        clock=clock,
    )


def assemble(
    settings: Settings,
    catalog: Catalog,
    providers: dict[str, Provider],
    quotas: QuotaService,
    *,
    rate_limiter: RateLimiter | None = None,
    clock: Clock = REAL_CLOCK,
    rand: Callable[[], float] = random.random,
) -> Services:
    """The job lifecycle's services around these providers and quotas (tests assemble their own)."""
    try:
        global_list = load_file(settings.blocklist_file) if settings.blocklist_file else []
    except BlocklistError as exc:
        raise SettingsError(f"setting BLOCKLIST_FILE: {exc}") from None
    moderation = Moderation(global_list, monotonic=clock.monotonic)
    metrics = Metrics()
    quotas.metrics = metrics
    storage = open_storage(settings)
    policy = PolicyService(
        catalog, default_model=settings.default_model, allow_dms=settings.allow_dms, monotonic=clock.monotonic
    )
    intake = CountedIntake(
        metrics=metrics,
        catalog=catalog,
        providers=providers,
        quotas=quotas,
        output_dir=settings.output_dir,
        storage=storage,
        default_model=settings.default_model,
        max_waiting=settings.user_max_queued,
        moderation=moderation,
        policy=policy,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    runner = JobRunner(
        rate_limiter=rate_limiter,
        catalog=catalog,
        providers=metered(providers, metrics),
        quotas=quotas,
        output_dir=settings.output_dir,
        storage=storage,
        max_video_bytes=settings.max_video_bytes,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        rand=rand,
    )
    actions = JobActions(intake, runner, clock=clock, metrics=metrics)
    return Services(
        settings,
        catalog,
        providers,
        quotas,
        intake,
        runner,
        actions,
        Results(quotas, notify_after=settings.notify_after, metrics=metrics, storage=storage),
        DeliveryLedger(
            redeliver_after=settings.lease_seconds / 2, now=clock.now, sleep=clock.sleep, metrics=metrics
        ),
        AdminService(quotas, on_change=intake.gate.forget),
        PresetService(intake),
        moderation,
        ForgetService(actions, clock, storage),
        policy,
        clock,
        metrics,
        storage,
    )
