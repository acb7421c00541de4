"""Workers sharing the queue: limits across workers, delivery, crash recovery without resubmitting."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque

import pytest

from core.accounts.quotas import QuotaService
from core.jobs.queue import JobQueue, QueuePolicy
from core.jobs.views import Requester
from core.jobs.worker import JobHooks, Worker
from core.platform.clock import REAL_CLOCK
from core.platform.coordination import RateLimiter
from core.services import Services
from core.validation import GenerationParams
from models import Generation, GenerationStatus, RateWindow
from tests.conftest import eventually
from tests.core.jobs.conftest import make_services, pinned_cadence
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_provider import ScriptedProvider, running, succeeded


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider(name="demo", poll_interval=0.01)


@pytest.fixture
def jobs(tmp_path, provider) -> Services:
    quotas = QuotaService(daily_videos=0, daily_seconds=0, spend_cap_usd=0)
    return make_services(tmp_path, REAL_CLOCK, {"demo": provider}, quotas=quotas, default_model="demo")


def worker(jobs, owner, delivered, *, slots=4, **policy) -> Worker:
    async def abandon(job_id, error):
        return None

    async def hooks_for(job_id):
        async def deliver(result):
            delivered.append((owner, result.generation_id, result.status))

        return JobHooks(None, deliver)

    queue = JobQueue(QueuePolicy(**policy), owner, on_abandoned=abandon)
    return Worker(jobs.runner, queue, slots=slots, hooks_for=hooks_for, idle_wait=0.02)


async def queued_jobs(jobs, n, users=None):
    ids = []
    for i in range(n):
        job = await jobs.intake.create_job(
            GenerationParams(prompt=f"p{i}"), Requester(user_id=(users or range(n))[i])
        )
        await jobs.intake.publish(job.id, None)
        ids.append(job.id)
    return ids


async def all_done(ids):
    return await Generation.filter(id__in=ids, status=GenerationStatus.COMPLETED).count() == len(ids)


async def test_two_workers_respect_the_global_limit_and_deliver_each_result_once(db, tmp_path, provider):
    # Eight jobs share one virtual clock, each poll's sleep moving it for all: a pinned 5-s cadence
    # keeps the total well inside every job's deadline.
    jobs = pinned_cadence(tmp_path, FakeClock(), provider, 5.0)
    peak = 0

    async def measure():
        nonlocal peak
        peak = max(peak, await Generation.filter(status=GenerationStatus.PROCESSING).count())

    provider.on_poll = measure
    provider.polls = deque([running(), running(), succeeded()])
    ids = await queued_jobs(jobs, 8)
    delivered = []
    workers = [worker(jobs, f"w{n}", delivered, max_concurrent=2) for n in range(2)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    await eventually(lambda: all_done(ids))

    async def all_delivered():  # results are delivered after their slot is free, in the background
        return len(delivered) == len(ids)

    await eventually(all_delivered)
    for w, t in zip(workers, tasks, strict=True):
        await w.stop()
        t.cancel()
    assert peak <= 2
    assert sorted(job for _, job, _ in delivered) == sorted(ids)
    assert len(provider.submitted) == 8


async def test_a_killed_worker_s_job_is_resumed_by_another_without_resubmitting(db, jobs, provider):
    gate = asyncio.Event()

    async def hang_until_released():
        await gate.wait()

    provider.on_poll = hang_until_released
    [job] = await queued_jobs(jobs, 1)
    delivered = []
    doomed = worker(jobs, "doomed", delivered, lease_seconds=0.2)
    await doomed.fill_slots()
    await eventually(lambda: _polled(provider))
    doomed.running[job].task.cancel()  # like SIGKILL: no hand-back, the lease just runs out
    await asyncio.sleep(0.3)
    provider.on_poll = None
    survivor = worker(jobs, "survivor", delivered, lease_seconds=5)
    task = asyncio.create_task(survivor.run())

    async def was_delivered():
        return bool(delivered)

    await eventually(was_delivered)
    await survivor.stop()
    task.cancel()
    gen = await Generation.get(id=job)
    assert len(provider.submitted) == 1 and gen.provider_job_id == "job-1"
    assert gen.attempts == 2 and delivered == [("survivor", job, "success")]


async def _polled(provider):
    return bool(provider.polled)


async def test_stop_hands_running_jobs_back_at_once(db, jobs, provider):
    async def forever():
        await asyncio.Event().wait()

    provider.on_poll = forever
    [job] = await queued_jobs(jobs, 1)
    w = worker(jobs, "w", [])
    await w.fill_slots()
    await eventually(lambda: _polled(provider))
    await w.stop()
    gen = await Generation.get(id=job)
    assert (
        gen.status is GenerationStatus.QUEUED and gen.lease_owner is None and gen.provider_job_id == "job-1"
    )


async def test_a_finished_job_frees_its_slot_before_its_result_is_delivered(db, jobs, provider):
    provider.polls = deque([succeeded()])
    first, second = await queued_jobs(jobs, 2)
    release = asyncio.Event()
    uploading = asyncio.Event()

    async def hooks_for(job_id):
        async def slow_upload(result):
            if job_id == first:
                uploading.set()
                await release.wait()  # fitting to Discord's limit and uploading take a while

        return JobHooks(None, slow_upload)

    w = Worker(jobs.runner, JobQueue(QueuePolicy(), "w", on_abandoned=None), slots=1, hooks_for=hooks_for)
    task = asyncio.create_task(w.run())
    await asyncio.wait_for(uploading.wait(), 10)

    async def second_done():
        return await Generation.filter(id=second, status=GenerationStatus.COMPLETED).exists()

    await eventually(second_done)  # it had the only slot while the first result was still uploading
    release.set()
    await w.stop()
    task.cancel()
    assert (await Generation.get(id=first)).status is GenerationStatus.COMPLETED


async def test_a_worker_fills_all_its_free_slots_in_one_pass(db, jobs, provider):
    async def forever():
        await asyncio.Event().wait()

    provider.on_poll = forever
    ids = await queued_jobs(jobs, 6)
    w = worker(jobs, "w", [], slots=4, max_concurrent=10)
    assert await w.fill_slots() == 4
    assert sorted(w.running) == ids[:4]
    await w.stop()


async def test_a_worker_that_lost_its_lease_stops_polling_and_leaves_the_job_alone(db, jobs, provider):
    provider.polls = deque([running()])  # the provider keeps working on it
    [job] = await queued_jobs(jobs, 1)
    claim = await JobQueue(QueuePolicy(), "old", on_abandoned=None).claim()
    assert claim.job_id == job

    async def taken_over():
        await Generation.filter(id=job).update(lease_owner="new")  # e.g. after a long pause of "old"

    provider.on_poll = taken_over
    result = await asyncio.wait_for(jobs.runner.run_job(job, lease=claim.lease), 10)
    assert not result.finished and len(provider.polled) == 1 and provider.cancelled == []
    gen = await Generation.get(id=job)
    assert (gen.status, gen.lease_owner) == (GenerationStatus.PROCESSING, "new")


async def test_the_periodic_sweep_drops_old_provider_rate_windows(db, jobs):
    jobs.runner.rate_limiter = RateLimiter({"demo": 5})
    minute = int(dt.datetime.now(dt.UTC).timestamp() // 60)
    await RateWindow.bulk_create(
        [RateWindow(provider="demo", minute=m, count=5) for m in (minute - 60, minute)]
    )
    w = Worker(jobs.runner, JobQueue(QueuePolicy(), "w", on_abandoned=None), slots=1)
    await w.sweep()
    assert await RateWindow.all().values_list("minute", flat=True) == [minute]
