"""The database is the queue: jobs are leased, never popped.

A claim is a compare-and-set (`queued -> processing` with a lease owner and expiry) made while holding a
short database lock, so the global limit (MAX_CONCURRENT_JOBS), the per-user running limit and the
round-robin order hold across every process sharing the database. Workers extend their leases; a sweep
returns jobs whose lease expired (their worker died), and fails them once they have used up their
attempts — unless the provider already has the job: then it is only ever resumed by polling (never
resubmitted) until the model's deadline, since its video may exist and is paid for. A clean shutdown
hands running jobs back at once, keeping their provider job ids. Every write goes through `transitions`.

Each claim has its own lease token (`owner#claim-id`): a job that lost its lease and was claimed again,
even by the same process, is never mistaken for the earlier claim.

Leases compare wall clocks: each host's clock must stay within a few seconds of the others' (NTP), well
under LEASE_SECONDS / 3, the heartbeat interval; a worker warns at start when its clock and the
database's disagree by more than a tenth of a lease (`Worker.check_clock`).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tortoise.functions import Count

from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.platform.clock import utcnow
from core.platform.coordination import DbLock
from models import Generation, GenerationStatus, User

log = logging.getLogger(__name__)

CLAIM_LOCK = "queue:claim"
CANDIDATE_LIMIT = 1000  # queued jobs examined per claim


@dataclass(frozen=True)
class QueuePolicy:
    """Limits and timings of the shared queue."""

    max_concurrent: int = 4
    user_max_running: int = 1
    user_max_queued: int = 3
    lease_seconds: float = 60.0
    max_attempts: int = 3


@dataclass(frozen=True)
class Claim:
    """A job this worker now runs, and the lease token of this claim."""

    job_id: int
    lease: str


@dataclass(frozen=True)
class QueuedJob:
    """What the scheduler needs to know about a waiting job."""

    id: int
    user_id: int
    created_at: dt.datetime


def round_robin(queued: Iterable[QueuedJob], last_started: dict[int, dt.datetime | None]) -> list[QueuedJob]:
    """The order jobs will start in: users take turns, least recently served first; each user's jobs FIFO."""
    per_user: dict[int, list[QueuedJob]] = {}
    for job in sorted(queued, key=lambda j: (j.created_at, j.id)):
        per_user.setdefault(job.user_id, []).append(job)
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    users = sorted(per_user, key=lambda u: (last_started.get(u) or epoch, per_user[u][0].created_at, u))
    order: list[QueuedJob] = []
    for turn in range(max((len(jobs) for jobs in per_user.values()), default=0)):
        order.extend(per_user[u][turn] for u in users if turn < len(per_user[u]))
    return order


class JobQueue:
    """Claims, leases, sweeps and hand-backs for one worker identity (`owner`)."""

    def __init__(
        self,
        policy: QueuePolicy,
        owner: str,
        *,
        on_abandoned: Callable[[int, GenerationError], Awaitable[None]],
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.policy = policy
        self.owner = owner
        self._on_abandoned = on_abandoned
        self.now = now  # the clock leases are written and compared with
        self._lock = DbLock(CLAIM_LOCK, owner, now=now)

    def _lease_until(self) -> dt.datetime:
        return self.now() + dt.timedelta(seconds=self.policy.lease_seconds)

    def new_lease(self) -> str:
        """A lease token for one claim: this worker's identity plus a claim id."""
        return f"{self.owner[:50]}#{uuid.uuid4().hex[:10]}"

    async def claim(self) -> Claim | None:
        """Lease the next job by the round-robin rules, or None (nothing fits, or another process is claiming)."""
        taken = await self.claim_many(1)
        return taken[0] if taken else None

    async def claim_many(self, limit: int) -> list[Claim]:
        """Lease up to `limit` jobs in round-robin order under one lock hold; their ids, in start order.

        Empty when nothing fits the limits, or when another process is claiming right now. One
        conditional UPDATE takes the whole batch, so a busy worker filling many slots costs a handful
        of queries, not a handful per job.
        """
        if limit <= 0:
            return []
        async with self._lock.held() as got:
            if not got:
                return []
            now = self.now()
            running = Counter(
                dict(
                    await Generation.filter(status=GenerationStatus.PROCESSING, lease_expires_at__gt=now)
                    .annotate(n=Count("id"))
                    .group_by("user_id")
                    .values_list("user_id", "n")
                )
            )
            free = min(limit, self.policy.max_concurrent - sum(running.values()))
            if free <= 0:
                return []
            cap = self.policy.user_max_running
            busy = [u for u, n in running.items() if n >= cap]
            line = await _in_order(
                Generation.filter(status=GenerationStatus.QUEUED)
                .exclude(user_id__in=busy)
                .limit(CANDIDATE_LIMIT)
            )
            picked: list[QueuedJob] = []
            for job in line:
                if running[job.user_id] < cap:
                    picked.append(job)
                    running[job.user_id] += 1
                    if len(picked) == free:
                        break
            if not picked:
                return []
            ids = [job.id for job in picked]
            lease = self.new_lease()
            updated = await transitions.claim(ids, lease, self._lease_until(), now)
            taken = picked
            # From here on the claim stands: an error must not lose it (nobody would run the jobs until
            # their leases ran out), so the bookkeeping below degrades instead of raising.
            if updated < len(ids):  # a job cancelled between the read and the UPDATE: keep what we hold
                try:
                    ours = await transitions.held_by(ids, lease)
                    taken = [job for job in picked if job.id in ours]
                except Exception:  # each run checks its lease first: one we don't hold ends at once
                    log.warning("could not read back claim %s; running all %d picked", lease, len(picked))
            if taken:
                try:
                    await User.filter(id__in={job.user_id for job in taken}).update(last_started_at=now)
                except Exception:  # fairness misses one turn; the jobs still run
                    log.warning("could not record who started a job just now", exc_info=True)
            for job in taken:
                log.info("job %s: claimed by %s (user %s)", job.id, lease, job.user_id)
            return [Claim(job.id, lease) for job in taken]

    async def extend(self, leases: dict[int, str]) -> int:
        """Push the leases of our running jobs forward; returns how many are still ours."""
        if not leases:
            return 0
        return await transitions.extend(leases, self._lease_until(), self.now())

    async def hand_back(self, leases: dict[int, str]) -> int:
        """Clean shutdown: return our running jobs to the line at once (provider ids kept, no attempt used)."""
        count = await transitions.hand_back(leases, self.now())
        if count:
            log.info("%s handed %d running jobs back to the queue", self.owner, count)
        return count

    async def sweep(self) -> tuple[list[int], list[int]]:
        """Return jobs whose lease expired to the line, or fail them past the attempt cap. (requeued, failed).

        Past the cap, a job the provider already has (a stored provider job id) is requeued anyway: it
        will only be polled, and its own deadline ends it if the provider never delivers.
        """
        now = self.now()
        expired = await Generation.filter(
            status=GenerationStatus.PROCESSING, lease_expires_at__lt=now
        ).values_list("id", "attempts", "provider_job_id")
        requeued, failed = [], []
        for job_id, attempts, provider_job_id in expired:
            try:
                if attempts >= self.policy.max_attempts and provider_job_id is None:
                    error = GenerationError(
                        ErrorCategory.PROVIDER_UNAVAILABLE,
                        f"the job's worker stopped {attempts} times without finishing it; giving up",
                    )
                    await self._on_abandoned(job_id, error)
                    failed.append(job_id)
                elif await transitions.requeue_expired(job_id, now):
                    requeued.append(job_id)
            except Exception:  # one job's trouble never stops the sweep of the others
                log.exception("sweep: job %s could not be returned to the line", job_id)
        if requeued or failed:
            log.info(
                "sweep: %d jobs back in the queue, %d failed after %d attempts",
                len(requeued),
                len(failed),
                self.policy.max_attempts,
            )
        return requeued, failed

    async def positions(self) -> dict[int, tuple[int, int]]:
        """Every queued job's predicted place in line: id -> (place, line length)."""
        order = await _in_order(Generation.filter(status=GenerationStatus.QUEUED))
        return {job.id: (place, len(order)) for place, job in enumerate(order, start=1)}


async def _in_order(waiting: Any) -> list[QueuedJob]:
    """These waiting jobs (a Generation query) in the order they will start (see round_robin)."""
    rows = await waiting.order_by("created_at", "id").values("id", "user_id", "created_at")
    queued = [QueuedJob(r["id"], r["user_id"], r["created_at"]) for r in rows]
    if not queued:
        return []
    last = dict(await User.filter(id__in={j.user_id for j in queued}).values_list("id", "last_started_at"))
    return round_robin(queued, last)
