"""Admission: a request becomes a job, or a refusal that changes nothing.

    admit(params, requester)   where and who (the server's policy), validate once under its limits, the
                               blocklists, then reserve and record the job `pending` (recording.py)
    publish(job_id, target)    attach its message and put it in the queue (one UPDATE), wake a worker
    withdraw(job_id)           a pending job that can't be published: cancelled, quota and spend back

Every reservation has a path that releases it: a caller that admitted a job either publishes or
withdraws it, and `sweep_stale_pending` (run by every worker's sweep) withdraws jobs whose caller died
in between (a crash, a Discord error nobody caught).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.accounts.quotas import QuotaService
from core.catalog import Catalog, ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.jobs.gate import AdmissionGate
from core.jobs.recording import JobRecorder
from core.jobs.views import DeliveryTarget, JobView, Lineage, Requester
from core.moderation.service import Moderation
from core.platform.clock import utc_day, utcnow
from core.platform.db_retry import DB_RETRY_FOR, retry_db
from core.policy.fit import fit, model_name
from core.policy.rules import NO_POLICY as NO_SERVER_POLICY
from core.policy.rules import Effective, Limits, effective
from core.policy.service import PolicyService
from core.providers.base import VideoRequest
from core.storage import LocalStorage, Storage
from core.validation import MAX_SEED, GenerationParams, random_seed, resolve_model, validate

log = logging.getLogger(__name__)

STALE_PENDING_AFTER = dt.timedelta(minutes=5)  # longer than any admission can legitimately take
PUBLISH_RETRY_FOR = 10.0  # seconds a publish retries a database blip before the job is withdrawn


@dataclass(frozen=True)
class Admitted:
    """A recorded job, not yet in the queue: publish or withdraw it."""

    job: JobView
    request: VideoRequest
    group: tuple[JobView, ...] = ()  # all the variants (job is the first), when there are several

    @property
    def jobs(self) -> tuple[JobView, ...]:
        """Every job admitted: the variants, or the one job."""
        return self.group or (self.job,)


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused (nothing was recorded or charged)."""

    category: ErrorCategory
    detail: str

    @property
    def user_message(self) -> str:
        """The category's advice."""
        return GenerationError(self.category, self.detail).user_message

    @classmethod
    def of(cls, exc: GenerationError) -> Refusal:
        """The refusal for a domain error."""
        return cls(exc.category, exc.detail)


class Intake:
    """Turns requests into published jobs."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        providers: dict,
        quotas: QuotaService,
        output_dir: Path,
        default_model: str,
        max_waiting: int | None = None,
        moderation: Moderation | None = None,
        policy: PolicyService | None = None,
        gate: AdmissionGate | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        new_seed: Callable[[], int] = random_seed,
        storage: Storage | None = None,
    ) -> None:
        self._new_seed = new_seed
        self.storage = storage or LocalStorage(output_dir)  # input images are kept here
        self.recorder = JobRecorder(quotas=quotas, storage=self.storage, now=now, max_waiting=max_waiting)
        self.catalog = catalog
        self.providers = providers
        self.quotas = quotas
        self.output_dir = output_dir
        self.default_model = default_model
        # DMs, the CLI, and a bot without server policy: the global settings alone
        self._global_policy = effective(
            NO_SERVER_POLICY, Limits(default_model=default_model), channel_id=None
        )
        self.moderation = moderation
        self.policy = policy
        self.gate = gate or AdmissionGate()
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._published: list[Callable[[], None]] = []

    @property
    def max_waiting(self) -> int | None:
        """Jobs one user may have waiting to start (USER_MAX_QUEUED); None: no cap."""
        return self.recorder.max_waiting

    @max_waiting.setter
    def max_waiting(self, value: int | None) -> None:
        self.recorder.max_waiting = value

    def on_published(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever a job joins the queue (a worker of this process wakes up)."""
        self._published.append(callback)

    def available_models(self) -> list[ModelSpec]:
        """Catalog models whose provider is configured and that are not retired today (UTC)."""
        today = utc_day(self._now())
        return [m for m in self.catalog.offered(today) if m.provider in self.providers]

    def validate(self, params: GenerationParams, policy: Effective | None = None) -> VideoRequest:
        """Validate input without touching the database (fast; safe before a Discord defer), under a
        server's policy (`policy_for`) or the global one. A retired model is refused here, as
        model_unavailable naming its replacement, before anything is charged."""
        policy = policy or self._global_policy
        name = model_name(params, policy, self.default_model)
        spec = resolve_model(
            self.catalog, set(self.providers), name, self.default_model, today=utc_day(self._now())
        )
        return validate(fit(params, spec, policy), spec)

    def check(self, params: GenerationParams, policy: Effective | None = None) -> Refusal | None:
        """The refusal for input that can never work, or None (no database, no charge)."""
        try:
            self.validate(params, policy)
        except GenerationError as exc:
            return Refusal.of(exc)
        return None

    async def check_for(self, params: GenerationParams, requester: Requester) -> Refusal | None:
        """The refusal for this request from `requester` (where they ask, and their server's limits), or
        None; nothing is recorded or charged."""
        policy = await self.policy_for(requester)
        return policy if isinstance(policy, Refusal) else self.check(params, policy)

    async def policy_for(self, requester: Requester) -> Effective | Refusal:
        """The policy a request from `requester` is admitted under, or the refusal for asking there
        (a channel, thread or role the server does not allow; a DM when DMs are off)."""
        if self.policy is None:
            return self._global_policy
        guild = await self.policy.of(requester.guild_id)
        if (wrong := self.policy.refusal(guild, requester)) is not None:
            return Refusal.of(wrong)
        return self.policy.effective(guild, requester)

    # ---- admission ---------------------------------------------------------------------------

    async def admit(
        self,
        params: GenerationParams,
        requester: Requester,
        *,
        parent: Lineage | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Admitted | Refusal:
        """Validate, reserve quota and spend, and record the job `pending` — or refuse, changing nothing.

        `extra` goes into the job's config as it is (e.g. an extension's clip to continue and join).
        With `params.variants` > 1 that many jobs are admitted together or not at all, each charged and
        with its own seed (a given seed, then the next ones), sharing a group id: `Admitted.group`."""
        policy = await self.policy_for(requester)
        if isinstance(policy, Refusal):
            return policy
        try:
            request = self.validate(params, policy)
        except GenerationError as exc:
            return Refusal.of(exc)
        if self.moderation is not None:  # before anything is recorded or charged
            texts = {"prompt": request.prompt, "negative_prompt": request.negative_prompt}
            if (
                blocked := await self.moderation.check(requester.guild_id, requester.user_id, texts)
            ) is not None:
                return Refusal.of(blocked)
        count = params.variants
        seeds = self._seeds(request, count)  # chosen and recorded: every result can be remade
        request = dataclasses.replace(request, seed=seeds[0])
        user_id = requester.user_id
        size = (
            request.duration * count,
            request.model.estimate_cost(request.duration, request.resolution, audio=request.audio) * count,
        )
        if (known := self.gate.known_refusal(user_id, *size)) is not None:
            return Refusal.of(known)
        async with self.gate.turn(user_id):
            if (known := self.gate.known_refusal(user_id, *size)) is not None:
                return Refusal.of(known)
            try:
                gens = await self.recorder.record(
                    request, requester, policy, seeds, parent=parent, loop=params.loop, extra=extra
                )
            except GenerationError as exc:
                self.gate.remember(user_id, exc, *size)
                log.info("request from user %s refused: %s", user_id, exc.detail)
                return Refusal.of(exc)
        log.info(
            "job %s: admitted for user %s (%s, %ss%s)",
            gens[0].id,
            user_id,
            request.model.name,
            request.duration,
            f", {count} variants: {', '.join(str(g.id) for g in gens)}" if count > 1 else "",
        )
        group = tuple(JobView.of(g) for g in gens) if count > 1 else ()
        return Admitted(JobView.of(gens[0]), request, group)

    def _seeds(self, request: VideoRequest, count: int) -> list[int | None]:
        """Each job's seed: the one given, then the next ones for variants; else a new draw for each
        (None for a model that takes no seed)."""
        if not request.model.seed:
            return [None] * count
        if request.seed is None:
            return [self._new_seed() for _ in range(count)]
        return [(request.seed + i) % (MAX_SEED + 1) for i in range(count)]

    async def create_job(self, params: GenerationParams, requester: Requester) -> JobView:
        """Admit a job that will run right here (the CLI); raises the refusal as a GenerationError."""
        outcome = await self.admit(params, requester)
        if isinstance(outcome, Refusal):
            raise GenerationError(outcome.category, outcome.detail)
        return outcome.job

    async def _db(
        self, what: str, call: Callable[[], Awaitable[Any]], give_up_after: float = DB_RETRY_FOR
    ) -> Any:
        return await retry_db(
            call, what=what, sleep=self._sleep, monotonic=self._monotonic, give_up_after=give_up_after
        )

    # ---- publishing --------------------------------------------------------------------------

    async def publish(self, job_id: int | Sequence[int], target: DeliveryTarget | None) -> None:
        """Attach the job's message and put it in the queue, as one UPDATE; then wake the workers. Several
        ids (variants) are published together or not at all.

        If that can't be done (the database stays away), the jobs are withdrawn — cancelled and refunded —
        and the error raised: a job nobody can see must never run.
        """
        ids = [job_id] if isinstance(job_id, int) else list(job_id)
        try:
            published = await self._db(
                "publish", lambda: transitions.publish(ids, target, self._now()), PUBLISH_RETRY_FOR
            )
        except BaseException:
            for one in ids:
                await asyncio.shield(self.withdraw(one, "the job could not be put in the queue"))
            raise
        if not published:
            for one in ids:  # the others of a group: none runs without the rest
                await asyncio.shield(self.withdraw(one, "another variant was withdrawn before publishing"))
            raise GenerationError(
                ErrorCategory.CANCELLED, f"job {ids[0]} was withdrawn before it was published"
            )
        for callback in self._published:
            callback()

    async def withdraw(self, job_id: int, reason: str) -> bool:
        """Cancel a job that was never published and give back its quota and spend; False if it was."""
        if not await self._db("withdraw", lambda: transitions.cancel_pending(job_id, self._now(), reason)):
            return False
        await self._db("refund", lambda: self.quotas.refund(job_id))
        await self._db("release spend", lambda: self.quotas.release_spend(job_id))
        log.info("job %s: withdrawn and refunded (%s)", job_id, reason)
        return True

    async def sweep_stale_pending(self) -> list[int]:
        """Withdraw jobs left `pending` by an admission that died half-way; their ids."""
        stale = await transitions.stale_pending(self._now() - STALE_PENDING_AFTER)
        withdrawn = []
        for job_id in stale:
            try:
                if await self.withdraw(
                    job_id, "its request never finished (the bot stopped or Discord failed)"
                ):
                    withdrawn.append(job_id)
            except Exception:  # one bad row never stops the sweep
                log.exception("job %s: withdrawing a stale pending job failed", job_id)
        return withdrawn
