"""The in-process runner: a fixed number of slots, live queue positions, results handed over."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from core.catalog import load_catalog
from core.generator import Generator, Requester
from core.quotas import QuotaService
from core.runner import JobRunner
from core.validation import GenerationParams
from models import Generation, GenerationStatus
from tests.fakes.scripted_provider import ScriptedProvider, running, succeeded


async def wait_until(predicate, limit: float = 5.0) -> None:
    """Let other tasks run until `predicate()` (sync or async) holds."""
    async with asyncio.timeout(limit):
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0.005)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider(name="demo", poll_interval=0)


@pytest.fixture
def generator(tmp_path, provider) -> Generator:
    return Generator(
        catalog=load_catalog(),
        providers={"demo": provider},
        quotas=QuotaService(daily_videos=0, daily_seconds=0, spend_cap_usd=0),
        output_dir=tmp_path,
        default_model="demo",
    )


async def test_one_slot_runs_jobs_one_after_another_and_reports_positions(db, generator, provider):
    gate = asyncio.Event()

    async def hold_first_job():
        await gate.wait()

    provider.on_poll = hold_first_job
    provider.polls = deque([succeeded()])
    runner = JobRunner(generator, max_concurrent=1)
    seen: dict[int, list[str]] = {}
    results = []

    def progress_for(job_id):
        async def cb(percent, stage):
            seen.setdefault(job_id, []).append(stage)

        return cb

    async def on_result(result):
        results.append(result.generation_id)

    jobs = [
        await generator.create_job(GenerationParams(prompt=f"p{i}"), Requester(user_id=i)) for i in range(3)
    ]
    tasks = [runner.start(j.id, progress_for(j.id), on_result) for j in jobs]
    await wait_until(lambda: runner.position(jobs[2].id) == (2, 2) and provider.polled)
    assert runner.position(jobs[1].id) == (1, 2) and runner.position(jobs[2].id) == (2, 2)
    assert (await Generation.get(id=jobs[2].id)).status is GenerationStatus.QUEUED
    assert "Queued · position 2 of 2" in seen[jobs[2].id]
    gate.set()
    await asyncio.gather(*tasks)
    assert results == [j.id for j in jobs]
    assert "Queued · position 1 of 1" in seen[jobs[2].id]
    statuses = [(await Generation.get(id=j.id)).status for j in jobs]
    assert statuses == [GenerationStatus.COMPLETED] * 3


async def test_cancelled_waiting_job_leaves_the_line_at_once(db, generator, provider):
    gate = asyncio.Event()

    async def hold():
        await gate.wait()

    provider.on_poll = hold
    provider.polls = deque([running(), succeeded()])
    runner = JobRunner(generator, max_concurrent=1)
    results = {}

    async def on_result(result):
        results[result.generation_id] = result.error_type

    async def quiet(percent, stage):
        return None

    jobs = [
        await generator.create_job(GenerationParams(prompt=f"p{i}"), Requester(user_id=i)) for i in range(3)
    ]
    tasks = [runner.start(j.id, quiet, on_result) for j in jobs]
    await wait_until(lambda: runner.position(jobs[2].id) == (2, 2) and provider.polled)
    assert await generator.cancel(jobs[1].id)
    await runner.leave_queue(jobs[1].id)
    assert runner.position(jobs[2].id) == (1, 1)
    gate.set()
    await asyncio.gather(*tasks)
    assert results[jobs[1].id] == "cancelled" and results[jobs[2].id] is None


async def test_shutdown_leaves_unfinished_jobs_for_the_next_start(db, generator, provider):
    async def forever():
        await asyncio.Event().wait()

    provider.on_poll = forever
    runner = JobRunner(generator, max_concurrent=1)
    job = await generator.create_job(GenerationParams(prompt="p"), Requester(user_id=1))

    async def quiet(*args):
        return None

    runner.start(job.id, quiet, quiet)
    await wait_until(lambda: provider.polled)
    await runner.shutdown()
    gen = await Generation.get(id=job.id)
    assert gen.status is GenerationStatus.PROCESSING and gen.provider_job_id == "job-1"
