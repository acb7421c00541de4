"""What a person can do to an existing job — cancel, regenerate, extend, remix, delete — with the
permission rules.

Each action takes an `Actor` (who clicked, and what the platform says they may do) and returns an
outcome; nothing here waits on a provider: a cancel at the provider runs in the background.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.errors import ErrorCategory, GenerationError
from core.jobs import store, transitions
from core.jobs.creative import EXTENSION_KEYS, Creative
from core.jobs.info import JobInfo, job_info
from core.jobs.intake import Admitted, Intake, Refusal
from core.jobs.requests import params_again
from core.jobs.runner import JobRunner
from core.jobs.views import JobView, Lineage, Requester
from core.platform.clock import REAL_CLOCK, Clock
from core.platform.db_retry import retry_db
from core.platform.metrics import UNCOUNTED, Metrics
from core.validation import random_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts on a job. `is_admin` and `manages_messages` come from the platform (Discord roles)."""

    user_id: int
    is_admin: bool = False
    manages_messages: bool = False


@dataclass(frozen=True)
class Outcome:
    """What an action did: `job` after it, or why it was refused (`refusal`)."""

    job: JobView | None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        """The action was carried out."""
        return self.refusal is None


class JobActions:
    """Cancel, Regenerate, Extend, Remix and Delete, for any front end."""

    def __init__(
        self,
        intake: Intake,
        runner: JobRunner,
        *,
        clock: Clock = REAL_CLOCK,
        new_seed: Callable[[], int] = random_seed,
        metrics: Metrics = UNCOUNTED,
    ) -> None:
        self.metrics = metrics
        self.intake = intake
        self.runner = runner
        self.quotas = intake.quotas
        self._clock = clock
        self._now = clock.now
        self._new_seed = new_seed
        creative = Creative(intake, new_seed)
        self.extend = creative.extend
        self.remix = creative.remix

    async def _db(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        return await retry_db(call, what=what, sleep=self._clock.sleep, monotonic=self._clock.monotonic)

    async def cancel(self, job_id: int, actor: Actor) -> Outcome:
        """Cancel an unfinished job (its requester or an admin). Refunded when it never reached the provider."""
        job = await store.find(job_id)
        if job is None:
            return Outcome(None, f"Job #{job_id} does not exist.")
        if actor.user_id != job.user_id and not actor.is_admin:
            return Outcome(job, "Only the person who asked for this video (or an admin) can cancel it.")
        now = self._now()
        if await transitions.cancel_unsubmitted(job_id, now):
            # It can never be submitted now: nothing was or will be billed.
            await self._db("refund", lambda: self.quotas.refund(job_id))
            await self._db("release spend", lambda: self.quotas.release_spend(job_id))
        elif await transitions.cancel_unfinished(job_id, now):
            await self.runner.cancels.request(job_id)  # in the background
        else:
            return Outcome(job, f"Job #{job_id} has already finished.")
        self.metrics.job_finished("cancelled", job.model, job.provider)
        log.info(
            "job %s: cancelled by user %s%s", job_id, actor.user_id, " (admin)" if actor.is_admin else ""
        )
        return Outcome(await store.get(job_id))

    async def regenerate(self, job_id: int, requester: Requester) -> Admitted | Refusal:
        """The same request again (a new seed where the model takes one), charged to whoever asks."""
        job = await store.find(job_id)
        if job is None:
            return Refusal(ErrorCategory.INVALID_REQUEST, f"Job #{job_id} does not exist.")
        spec = self.intake.catalog.get(job.model)
        seed = self._new_seed() if spec is not None and spec.seed else None
        try:
            params = await params_again(
                job.prompt, job.model, job.config, seed=seed, storage=self.intake.storage
            )
        except GenerationError as exc:
            return Refusal.of(exc)
        extension = {k: job.config[k] for k in EXTENSION_KEYS if k in job.config}  # the same extension again
        return await self.intake.admit(
            params, requester, parent=Lineage(job_id, "regenerate"), extra=extension or None
        )

    async def info(self, job_id: int) -> JobInfo | None:
        """Everything a job ran with (the seed too), its cost, timings and the line that repeats it."""
        job = await store.find(job_id)
        return job_info(job, await store.children(job_id)) if job is not None else None

    async def delete(self, job_id: int, actor: Actor) -> Outcome:
        """Mark the job's message deleted (its requester, a moderator or an admin); history keeps the job."""
        job = await store.find(job_id)
        allowed = job is not None and (
            actor.user_id == job.user_id or actor.manages_messages or actor.is_admin
        )
        if not allowed:
            return Outcome(job, "Only the person who asked for this video, or a moderator, can delete it.")
        together = [j.id for j in await store.group(job.group_id)] if job.group_id else [job_id]
        for one in together:  # variants share the message
            await transitions.mark_deleted(one, self._now())
        log.info("job %s: message deleted by user %s", job_id, actor.user_id)
        return Outcome(await store.get(job_id))
