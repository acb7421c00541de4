"""Stopping a job at its provider survives the process that decided it: the wish is stored with the
cancel, and a sweep (of any worker) asks the provider again until it has answered."""

from __future__ import annotations

import datetime as dt

from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.jobs.actions import Actor
from core.jobs.cancels import ProviderCancels
from core.jobs.views import Requester
from core.jobs.worker import no_hooks
from core.validation import GenerationParams
from models import Generation

ALICE = Requester(user_id=42, guild_id=1, channel_id=2)
PARAMS = GenerationParams(prompt="a red fox in snow", duration=6)


async def submitted_job(jobs, clock, provider_job_id: str | None = "job-7") -> int:
    """A job the provider accepted (or, without an id, one whose submit was sent but never answered)."""
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.intake.publish(job.id, None)
    await Generation.filter(id=job.id).update(
        status="processing", submit_started_at=clock.now(), provider_job_id=provider_job_id
    )
    return job.id


def fresh_process(jobs, clock, providers) -> ProviderCancels:
    """The cancels of another process (or of this one after a restart): nothing in memory."""
    return ProviderCancels(providers, clock=clock)


async def sweep(cancels: ProviderCancels) -> int:
    sent = await cancels.sweep()
    await cancels.drain()
    return sent


async def test_a_cancel_decided_just_before_the_process_died_is_still_sent(db, jobs, clock, provider):
    job = await submitted_job(jobs, clock)
    assert await transitions.cancel_unfinished(job, clock.now())  # then SIGKILL: nothing was sent
    assert provider.cancelled == []
    assert await sweep(fresh_process(jobs, clock, {"gemini": provider})) == 1
    assert provider.cancelled == ["job-7"]
    assert (await Generation.get(id=job)).provider_cancel_at is None  # answered: never sent again
    clock.advance(3600)
    assert await sweep(fresh_process(jobs, clock, {"gemini": provider})) == 0


async def test_a_cancel_the_provider_did_not_answer_is_retried_with_growing_pauses(db, jobs, clock, provider):
    job = await submitted_job(jobs, clock)
    down = GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "503", retryable=True)
    provider.cancels.extend([down, down])
    await jobs.runner.cancels.request(job)  # the first try, at once
    await jobs.runner.cancels.drain()
    assert provider.cancelled == []
    assert await sweep(jobs.runner.cancels) == 0  # not due yet
    clock.advance(61)
    assert await sweep(jobs.runner.cancels) == 1  # the second try fails too
    clock.advance(61)
    assert await sweep(jobs.runner.cancels) == 1
    assert provider.cancelled == ["job-7"]
    clock.advance(3600)
    assert await sweep(jobs.runner.cancels) == 0


async def test_the_cancel_action_stores_the_wish_and_the_sweep_of_another_worker_sends_it_once(
    db, jobs, clock, provider
):
    job = await submitted_job(jobs, clock)
    down = GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "timeout", retryable=True)
    provider.cancels.append(down)
    await jobs.actions.cancel(job, Actor(user_id=ALICE.user_id))
    await jobs.runner.cancels.drain()
    clock.advance(61)
    first, second = (fresh_process(jobs, clock, {"gemini": provider}) for _ in range(2))
    sent = await first.sweep() + await second.sweep()  # two workers sweep at the same moment
    await first.drain()
    await second.drain()
    assert sent == 1 and provider.cancelled == ["job-7"]


async def test_a_refused_cancel_is_not_retried(db, jobs, clock, provider):
    job = await submitted_job(jobs, clock)
    provider.cancels.append(GenerationError(ErrorCategory.INVALID_REQUEST, "already completed"))
    await jobs.runner.cancels.request(job)
    await jobs.runner.cancels.drain()
    clock.advance(7200)
    assert await sweep(jobs.runner.cancels) == 0
    assert (await Generation.get(id=job)).provider_cancel_at is None


async def test_a_job_without_an_id_is_named_once_it_has_one_and_given_up_after_a_day(
    db, jobs, clock, provider
):
    named = await submitted_job(jobs, clock, provider_job_id=None)  # the submit is in flight
    lost = await submitted_job(jobs, clock, provider_job_id=None)  # its submit's answer was lost
    for job in (named, lost):
        assert await transitions.cancel_unfinished(job, clock.now())
    cancels = fresh_process(jobs, clock, {"gemini": provider})
    assert await sweep(cancels) == 0  # nothing to name yet; both wait
    await transitions.store_provider_id(named, "job-8", clock.now())
    clock.advance(61)
    assert await sweep(cancels) == 1 and provider.cancelled == ["job-8"]
    clock.advance(dt.timedelta(days=1, seconds=1).total_seconds())
    assert await sweep(cancels) == 0
    assert (await Generation.get(id=lost)).provider_cancel_at is None  # given up, not retried forever


async def test_a_job_that_never_reached_the_provider_needs_no_cancel(db, jobs, clock, provider):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.intake.publish(job.id, None)
    assert await transitions.cancel_unfinished(job.id, clock.now())
    assert await sweep(jobs.runner.cancels) == 0
    assert provider.cancelled == [] and (await Generation.get(id=job.id)).provider_cancel_at is None


async def test_the_queue_sweep_of_every_worker_asks_again(db, jobs, clock, provider):
    job = await submitted_job(jobs, clock)
    assert await transitions.cancel_unfinished(job, clock.now())
    worker = jobs.worker(jobs.job_queue("w2"), slots=1, hooks_for=no_hooks)
    await worker.sweep()
    await jobs.runner.cancels.drain()
    assert provider.cancelled == ["job-7"]
