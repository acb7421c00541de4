"""The durable queue: leases by compare-and-set, round-robin fairness, sweeps, the attempt cap, hand-back."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest

from core.accounts.quotas import QuotaService
from core.errors import GenerationError
from core.jobs.queue import JobQueue, QueuedJob, QueuePolicy, round_robin
from core.jobs.views import Requester
from core.platform.coordination import DbLock, RateLimiter
from core.services import Services
from core.validation import GenerationParams
from models import DailyUsage, Generation, GenerationStatus
from tests.core.jobs.conftest import make_services


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


class ClockFaces:
    """The queue takes a `now` callable; the engine takes a clock with now/monotonic/sleep."""

    def __init__(self, clock: Clock) -> None:
        self.now = clock
        self.monotonic = lambda: 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


@pytest.fixture
def jobs(tmp_path, clock) -> Services:
    quotas = QuotaService(daily_videos=0, daily_seconds=0, spend_cap_usd=0)
    # Only validation looks at the demo provider here.
    return make_services(tmp_path, ClockFaces(clock), {"demo": object()}, quotas=quotas, default_model="demo")


def make_queue(jobs, clock, owner="w1", **policy) -> JobQueue:
    async def abandon(job_id: int, error: GenerationError) -> None:
        await jobs.runner.abandon(job_id, error, expired_before=clock())

    return JobQueue(QueuePolicy(**policy), owner, on_abandoned=abandon, now=clock)


async def add_job(jobs, user_id: int) -> int:
    job = await jobs.intake.create_job(GenerationParams(prompt="p", model="demo"), Requester(user_id=user_id))
    await jobs.intake.publish(job.id, None)
    return job.id


def claimed(claims) -> list[int]:
    return [claim.job_id for claim in claims]


async def claim_id(queue: JobQueue) -> int | None:
    claim = await queue.claim()
    return claim.job_id if claim else None


async def test_200_jobs_8_claimers_every_job_claimed_exactly_once(db, jobs, clock):
    ids = [await add_job(jobs, user_id=i) for i in range(200)]
    claims: list[int] = []

    async def claimer(n: int) -> None:
        queue = make_queue(jobs, clock, owner=f"w{n}", max_concurrent=1000, user_max_running=1)
        while len(claims) < len(ids):
            job = await claim_id(queue)
            if job is None:
                await asyncio.sleep(0.001)
            else:
                claims.append(job)

    await asyncio.wait_for(asyncio.gather(*(claimer(n) for n in range(8))), 60)
    assert sorted(claims) == sorted(ids)
    assert Counter(claims).most_common(1)[0][1] == 1
    assert await Generation.filter(status=GenerationStatus.PROCESSING, attempts=1).count() == 200


async def test_8_claimers_taking_batches_never_share_a_job(db, jobs, clock):
    ids = [await add_job(jobs, user_id=i % 50) for i in range(200)]
    claims: list[int] = []

    async def claimer(n: int) -> None:
        queue = make_queue(jobs, clock, owner=f"w{n}", max_concurrent=1000, user_max_running=4)
        while len(claims) < len(ids):
            taken = claimed(await queue.claim_many(7))
            claims.extend(taken)
            if not taken:
                await asyncio.sleep(0.001)

    await asyncio.wait_for(asyncio.gather(*(claimer(n) for n in range(8))), 60)
    assert sorted(claims) == sorted(ids)
    assert await Generation.filter(status=GenerationStatus.PROCESSING, attempts=1).count() == 200


async def test_a_batch_claim_takes_turns_and_respects_every_limit(db, jobs, clock):
    a = [await add_job(jobs, 1) for _ in range(3)]
    b = [await add_job(jobs, 2) for _ in range(2)]
    c = await add_job(jobs, 3)
    queue = make_queue(jobs, clock, max_concurrent=5, user_max_running=2)
    assert claimed(await queue.claim_many(10)) == [a[0], b[0], c, a[1], b[1]]  # five slots, two per user
    assert claimed(await queue.claim_many(10)) == []  # global limit reached
    await Generation.filter(id=b[0]).update(status=GenerationStatus.COMPLETED)
    assert (
        claimed(await queue.claim_many(10)) == []
    )  # the free slot is B's, but B has nothing left; A is at 2
    await Generation.filter(id=a[0]).update(status=GenerationStatus.COMPLETED)
    assert claimed(await queue.claim_many(10)) == [a[2]]
    assert claimed(await queue.claim_many(0)) == []


async def test_a_batch_counts_jobs_already_running(db, jobs, clock):
    first = await add_job(jobs, 1)
    queue = make_queue(jobs, clock, max_concurrent=3, user_max_running=1)
    assert await claim_id(queue) == first
    more = [await add_job(jobs, user) for user in (1, 2, 3, 4)]
    assert claimed(await queue.claim_many(5)) == more[1:3]  # user 1 is busy; two slots were left


async def test_no_batch_while_another_process_is_claiming(db, jobs, clock):
    await add_job(jobs, 1)
    other = DbLock("queue:claim", "other", now=clock)
    assert await other.acquire()
    assert await make_queue(jobs, clock).claim_many(3) == []
    await other.release()
    assert len(await make_queue(jobs, clock).claim_many(3)) == 1


async def test_global_limit_holds(db, jobs, clock):
    for i in range(5):
        await add_job(jobs, user_id=i)
    queue = make_queue(jobs, clock, max_concurrent=2)
    assert await queue.claim() is not None and await queue.claim() is not None
    assert await queue.claim() is None


async def test_a_user_runs_one_job_at_a_time(db, jobs, clock):
    await add_job(jobs, 1)
    await add_job(jobs, 1)
    queue = make_queue(jobs, clock, max_concurrent=10, user_max_running=1)
    assert await queue.claim() is not None
    assert await queue.claim() is None


async def test_round_robin_b_starts_right_after_as_first(db, jobs, clock):
    a = [await add_job(jobs, 1) for _ in range(3)]
    clock.advance(1)
    b = await add_job(jobs, 2)
    queue = make_queue(jobs, clock, max_concurrent=1, user_max_running=1)
    order = []
    for _ in range(4):
        job = await claim_id(queue)
        order.append(job)
        clock.advance(1)
        await Generation.filter(id=job).update(status=GenerationStatus.COMPLETED)
    assert order == [a[0], b, a[1], a[2]]


def test_round_robin_order_interleaves_users_least_recently_served_first():
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    jobs = [QueuedJob(i, user, t + dt.timedelta(seconds=i)) for i, user in enumerate([1, 1, 1, 2, 3, 3])]
    order = [j.id for j in round_robin(jobs, {1: t, 2: None, 3: None})]
    assert order == [3, 4, 0, 5, 1, 2]


async def test_positions_follow_the_round_robin_order(db, jobs, clock):
    a1, a2 = await add_job(jobs, 1), await add_job(jobs, 1)
    b1 = await add_job(jobs, 2)
    positions = await make_queue(jobs, clock).positions()
    assert positions == {a1: (1, 3), b1: (2, 3), a2: (3, 3)}


async def test_expired_lease_is_swept_back_and_claimed_again(db, jobs, clock):
    job = await add_job(jobs, 1)
    dead = make_queue(jobs, clock, owner="dead", lease_seconds=60)
    assert await claim_id(dead) == job
    await Generation.filter(id=job).update(provider_job_id="provider-1")
    clock.advance(30)
    assert await dead.sweep() == ([], [])  # still leased
    clock.advance(31)
    alive = make_queue(jobs, clock, owner="alive")
    assert await alive.sweep() == ([job], [])
    claim = await alive.claim()
    gen = await Generation.get(id=job)
    assert (gen.lease_owner, gen.attempts, gen.provider_job_id) == (claim.lease, 2, "provider-1")
    assert claim.lease.startswith("alive#")


async def test_extending_keeps_the_lease(db, jobs, clock):
    job = await add_job(jobs, 1)
    queue = make_queue(jobs, clock, lease_seconds=60)
    claim = await queue.claim()
    for _ in range(5):
        clock.advance(40)
        assert await queue.extend({job: claim.lease}) == 1
        assert await queue.sweep() == ([], [])


async def test_attempt_cap_fails_the_job_and_refunds(db, jobs, clock):
    jobs.quotas.daily_videos = 5
    job = await add_job(jobs, 1)
    for n in range(3):
        queue = make_queue(jobs, clock, owner=f"w{n}", max_attempts=3)
        assert await claim_id(queue) == job
        clock.advance(61)
        await queue.sweep()
    gen = await Generation.get(id=job)
    assert gen.status is GenerationStatus.FAILED and gen.error_type == "provider_unavailable"
    assert gen.refunded and (await DailyUsage.get(user_id=1)).videos == 0


async def test_clean_shutdown_hands_jobs_back_at_once_without_using_an_attempt(db, jobs, clock):
    job = await add_job(jobs, 1)
    queue = make_queue(jobs, clock)
    claim = await queue.claim()
    await Generation.filter(id=job).update(provider_job_id="provider-1")
    assert await queue.hand_back({job: claim.lease}) == 1
    gen = await Generation.get(id=job)
    assert (gen.status, gen.lease_owner, gen.attempts, gen.provider_job_id) == (
        GenerationStatus.QUEUED,
        None,
        0,
        "provider-1",
    )
    assert await claim_id(make_queue(jobs, clock, owner="next")) == job


async def test_a_worker_that_lost_its_lease_cannot_finish_the_job(db, jobs, clock):
    job = await add_job(jobs, 1)
    old = (await make_queue(jobs, clock, owner="old").claim()).lease
    clock.advance(61)
    new = make_queue(jobs, clock, owner="new")
    await new.sweep()
    newer = (await new.claim()).lease
    assert await make_queue(jobs, clock, owner="old").extend({job: old}) == 0
    result = await jobs.runner.run_job(job, lease=old)
    assert result.status == "error" and (await Generation.get(id=job)).lease_owner == newer


async def test_lock_is_exclusive_and_expires(db, clock):
    a, b = DbLock("x", "a", ttl=10, now=clock), DbLock("x", "b", ttl=10, now=clock)
    assert await a.acquire() and not await b.acquire()
    clock.advance(11)
    assert await b.acquire()
    await b.release()
    assert await a.acquire()


async def test_rate_limiter_shares_a_per_minute_budget(db, clock):
    clock.now = clock.now.replace(second=50)
    first, second = RateLimiter({"gemini": 3}, now=clock), RateLimiter({"gemini": 3}, now=clock)
    waits = [await lim.try_acquire("gemini") for lim in (first, second, first, second)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(10)
    assert await first.try_acquire("fal") == 0  # no limit configured
    clock.advance(10)
    assert await second.try_acquire("gemini") == 0
