"""Faults a running bot meets — a database that blinks, a heartbeat that fails once, a worker killed
again and again, an admission that dies half-way — and what must hold through them: the job is never
failed or refunded for it, never submitted twice, and never left holding a user's quota."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections import deque

import pytest
from tortoise.exceptions import OperationalError

from core.accounts.quotas import QuotaService
from core.errors import ErrorCategory, GenerationError
from core.jobs import transitions
from core.jobs.intake import STALE_PENDING_AFTER
from core.jobs.queue import JobQueue, QueuePolicy
from core.jobs.views import Requester
from core.jobs.worker import Worker
from core.validation import GenerationParams
from models import DailyUsage, Generation, GenerationStatus
from tests.fakes.clock import ManualClock
from tests.fakes.scripted_provider import running, succeeded

ALICE = Requester(user_id=42, guild_id=1, channel_id=2)
PARAMS = GenerationParams(prompt="a red fox in snow", duration=6)


def locked() -> OperationalError:
    return OperationalError("database is locked")


def failing(monkeypatch, module, name: str, times: int, error=locked) -> list[int]:
    """Make `module.name` raise `error()` the first `times` calls; returns a call counter."""
    real = getattr(module, name)
    calls = [0]

    async def flaky(*args, **kwargs):
        calls[0] += 1
        if calls[0] <= times:
            raise error()
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


async def usage() -> tuple[int, int]:
    row = await DailyUsage.get(user_id=ALICE.user_id)
    return row.videos, row.seconds


# ---- a database blink never fails a paid job (§1.2) --------------------------------------------------


@pytest.mark.parametrize("step", ["mark_submit_started", "store_provider_id", "holds", "complete"])
async def test_a_locked_database_at_any_step_of_a_running_job_is_waited_out(
    db, jobs, provider, monkeypatch, step
):
    provider.polls = deque([running(), succeeded()])
    calls = failing(monkeypatch, transitions, step, times=3)
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success", result.error_detail
    assert calls[0] >= 4, "the step was tried again"
    assert len(provider.submitted) == 1 and provider.cancelled == []
    assert not result.refunded and await usage() == (1, 6)


async def test_a_database_that_stays_away_leaves_the_job_to_be_resumed_not_failed(
    db, jobs, provider, monkeypatch
):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    failing(monkeypatch, transitions, "complete", times=10**6)
    result = await jobs.runner.run_job(job.id)
    assert not result.finished
    gen = await Generation.get(id=job.id)
    assert gen.status is GenerationStatus.PROCESSING and gen.provider_job_id == "job-1"
    assert not gen.refunded and provider.cancelled == []


async def test_a_dropped_postgres_connection_counts_as_a_blink(db, jobs, provider, monkeypatch):
    import asyncpg

    failing(
        monkeypatch, transitions, "store_provider_id", 2, lambda: asyncpg.ConnectionDoesNotExistError("gone")
    )
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success" and len(provider.submitted) == 1


async def test_a_real_bug_is_still_a_failure(db, jobs, provider, monkeypatch):
    failing(monkeypatch, transitions, "complete", 1, lambda: OperationalError("no such column: nope"))
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "unknown" and result.refunded


# ---- leases: a re-claim is a new claim, the heartbeat survives errors (§1.1, §1.7) ------------------


def make_queue(jobs, clock, owner="w1", **policy) -> JobQueue:
    async def abandon(job_id, error):
        await jobs.runner.abandon(job_id, error, expired_before=clock.now())

    return JobQueue(QueuePolicy(**policy), owner, on_abandoned=abandon, now=clock.now)


async def queued_job(jobs) -> int:
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.intake.publish(job.id, None)
    return job.id


async def test_the_same_worker_reclaiming_a_job_gets_a_new_lease_and_the_old_run_stops(
    db, jobs, clock, provider
):
    job = await queued_job(jobs)
    queue = make_queue(jobs, clock, lease_seconds=60)
    first = await queue.claim()
    clock.advance(61)  # the heartbeat failed: the lease ran out
    await queue.sweep()
    second = await queue.claim()
    assert second.job_id == first.job_id == job and second.lease != first.lease
    assert await queue.extend({job: first.lease}) == 0 and await queue.extend({job: second.lease}) == 1
    stale = await jobs.runner.run_job(job, lease=first.lease)
    assert not stale.finished and provider.submitted == []
    assert (await jobs.runner.run_job(job, lease=second.lease)).status == "success"


async def test_past_the_attempt_cap_a_job_the_provider_has_is_resumed_not_failed(db, jobs, clock, provider):
    job = await queued_job(jobs)
    for n in range(3):
        queue = make_queue(jobs, clock, owner=f"w{n}", max_attempts=3)
        await queue.claim()
        await Generation.filter(id=job).update(provider_job_id="job-1", submit_started_at=clock.now())
        clock.advance(61)  # killed while it waited on the provider
        await queue.sweep()
    gen = await Generation.get(id=job)
    assert gen.status is GenerationStatus.QUEUED and gen.attempts == 3 and not gen.refunded
    claim = await make_queue(jobs, clock, owner="survivor", max_attempts=3).claim()
    result = await jobs.runner.run_job(job, lease=claim.lease)
    assert result.status == "success" and provider.submitted == [] and provider.polled == ["job-1"]


async def test_abandoning_a_submitted_job_cancels_it_at_the_provider(db, jobs, clock, provider):
    job = await queued_job(jobs)
    await make_queue(jobs, clock).claim()
    await Generation.filter(id=job).update(submit_started_at=clock.now())  # no provider id: may be orphaned
    clock.advance(61)
    error = GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "gone")
    await Generation.filter(id=job).update(provider_job_id="job-9")
    assert await jobs.runner.abandon(job, error, expired_before=clock.now())
    await jobs.runner.cancels.drain()
    assert provider.cancelled == ["job-9"]


class FlakyQueue:
    """A queue whose first lease extension fails, as one "database is locked" would."""

    policy = QueuePolicy(lease_seconds=3.0)
    owner = "flaky"

    def __init__(self) -> None:
        self.extends = 0

    async def claim_many(self, n):
        return []

    async def extend(self, leases):
        self.extends += 1
        if self.extends == 1:
            raise locked()
        return len(leases)

    async def sweep(self):
        return [], []

    async def hand_back(self, leases):
        return 0


async def test_the_lease_heartbeat_goes_on_after_a_database_error(jobs, caplog):
    clock = ManualClock()
    queue = FlakyQueue()
    worker = Worker(jobs.runner, queue, slots=1, sleep=clock.sleep, idle_wait=0.01)
    worker.running[1] = type("R", (), {"claim": type("C", (), {"lease": "flaky#1", "job_id": 1})()})()
    task = asyncio.create_task(worker.run())
    for _ in range(10):  # ten heartbeat intervals (lease / 3 = 1 s)
        await clock.advance(1.0)
    assert queue.extends >= 9, "one error did not end lease renewal"
    assert any("lease heartbeat failed" in r.getMessage() and r.exc_info for r in caplog.records)
    worker.running.clear()
    await worker.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_job_whose_display_fails_still_runs_and_the_error_is_logged(db, jobs, caplog, provider):
    job = await queued_job(jobs)
    delivered = []

    async def broken_hooks(job_id):
        raise locked()

    queue = JobQueue(QueuePolicy(), "w", on_abandoned=None)
    worker = Worker(jobs.runner, queue, slots=1, hooks_for=broken_hooks)
    await worker.fill_slots()
    await asyncio.gather(*(r.task for r in worker.running.values()))
    assert (await Generation.get(id=job)).status is GenerationStatus.COMPLETED and delivered == []
    assert any("preparing its display failed" in r.getMessage() for r in caplog.records)


async def test_a_crashing_job_task_is_logged_not_lost(db, jobs, caplog, monkeypatch):
    await queued_job(jobs)

    async def bug(*args, **kwargs):
        raise RuntimeError("a bug in the runner")

    monkeypatch.setattr(jobs.runner, "run_job", bug)
    worker = Worker(jobs.runner, JobQueue(QueuePolicy(), "w", on_abandoned=None), slots=1)
    caplog.set_level(logging.ERROR)
    await worker.fill_slots()
    tasks = [r.task for r in worker.running.values()]
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)
    assert any("a bug in the runner" in str(r.exc_info) for r in caplog.records if r.exc_info)
    assert worker.running == {}, "the slot is free again"


# ---- admission that dies half-way (§1.3) --------------------------------------------------------------


async def test_a_pending_job_nobody_published_is_withdrawn_and_refunded_by_the_sweep(db, jobs, clock):
    job = await jobs.intake.create_job(PARAMS, ALICE)  # the bot died before it published it
    await jobs.intake.sweep_stale_pending()
    assert (await Generation.get(id=job.id)).status is GenerationStatus.PENDING, "too young to sweep"
    clock.advance(STALE_PENDING_AFTER.total_seconds() + 1)
    assert await jobs.intake.sweep_stale_pending() == [job.id]
    gen = await Generation.get(id=job.id)
    assert gen.status is GenerationStatus.CANCELLED and gen.refunded and await usage() == (0, 0)


async def test_stale_pending_jobs_no_longer_lock_the_user_out(db, jobs, clock):
    jobs.intake.max_waiting = 3
    for _ in range(3):
        await jobs.intake.create_job(PARAMS, ALICE)
    refused = await jobs.intake.admit(PARAMS, ALICE)
    assert refused.category is ErrorCategory.TOO_MANY_WAITING, "the waiting cap has its own words"
    assert "waiting" in refused.user_message and "quota" not in refused.user_message
    clock.advance(STALE_PENDING_AFTER.total_seconds() + 1)
    jobs.intake.gate.forget()
    await jobs.intake.sweep_stale_pending()
    assert (await jobs.intake.admit(PARAMS, ALICE)).job.id


async def test_publish_that_cannot_reach_the_database_withdraws_the_job(db, jobs, monkeypatch):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    failing(monkeypatch, transitions, "publish", times=10**6)
    with pytest.raises(OperationalError):
        await jobs.intake.publish(job.id, None)
    gen = await Generation.get(id=job.id)
    assert gen.status is GenerationStatus.CANCELLED and gen.refunded and await usage() == (0, 0)


# ---- a storm of requests from one user (§1.6) ----------------------------------------------------------


async def test_a_flood_from_one_user_is_decided_with_a_handful_of_queries(db, jobs, monkeypatch):
    jobs.quotas.daily_videos = 10
    jobs.quotas.daily_seconds = 0
    jobs.intake.max_waiting = None
    calls = [0]
    real = jobs.intake.recorder.record

    async def counted(*args, **kwargs):
        calls[0] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(jobs.intake.recorder, "record", counted)
    outcomes = await asyncio.gather(*(jobs.intake.admit(PARAMS, ALICE) for _ in range(300)))
    admitted = [o for o in outcomes if hasattr(o, "job")]
    assert len(admitted) == 10 and await Generation.all().count() == 10
    assert calls[0] == 11, "after the first refusal, the rest come from memory"
    bob = await jobs.intake.admit(PARAMS, Requester(user_id=7))
    assert hasattr(bob, "job"), "other users are not affected"


# ---- accounting (§1.8) -----------------------------------------------------------------------------------


async def test_a_refund_after_an_admin_reset_never_drives_usage_below_zero(db, jobs):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.admin.reset_usage(actor=1, user_id=ALICE.user_id, day=job.created_at.date())
    await jobs.intake.publish(job.id, None)
    assert (await jobs.actions.cancel(job.id, type("A", (), {"user_id": 42, "is_admin": False})())).ok
    assert await usage() == (0, 0)


async def test_every_transition_stamps_updated_at(db, jobs, clock):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    for step in (
        lambda: transitions.publish([job.id], None, clock.now()),
        lambda: transitions.forget_token(job.id, clock.now()),
        lambda: transitions.mark_deleted(job.id, clock.now()),
        lambda: transitions.claim([job.id], "w#1", clock.now(), clock.now()),
        lambda: transitions.extend({job.id: "w#1"}, clock.now(), clock.now()),
        lambda: transitions.complete(job.id, "w#1", path="x.mp4", size=1, timings={}, now=clock.now()),
        lambda: transitions.mark_delivered(job.id, clock.now()),
    ):
        clock.advance(5)
        await step()
        assert (await Generation.get(id=job.id)).updated_at == clock.now()


async def test_delivery_drops_the_interaction_token(db, jobs, clock):
    from core.jobs.views import DeliveryTarget

    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.intake.publish(job.id, DeliveryTarget(2, 3, 4, "secret-token", 10))
    assert (await Generation.get(id=job.id)).interaction_token == "secret-token"
    await jobs.deliveries.delivered(job.id)
    assert (await Generation.get(id=job.id)).interaction_token is None


async def test_a_missing_result_file_is_said_plainly(db, jobs, tmp_path):
    result = await jobs.generate(PARAMS, ALICE)
    os.unlink(result.video_path)
    view = await jobs.results.prepare(result.generation_id, 10 * 1024 * 1024)
    assert view.upload is None and "no longer on the bot's disk" in view.body and "0.0 KB" not in view.body


async def test_quota_status_of_a_stranger_writes_nothing(db):
    from models import User

    status = await QuotaService(daily_videos=3, daily_seconds=0, spend_cap_usd=0).status(
        99, dt.date(2026, 1, 1)
    )
    assert status.videos_left == 3 and await User.filter(id=99).count() == 0


async def test_a_worker_warns_when_its_clock_and_the_database_s_disagree(db, jobs, caplog):
    def ahead() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)

    in_step = Worker(jobs.runner, JobQueue(QueuePolicy(lease_seconds=60), "w", on_abandoned=None), slots=1)
    assert abs(await in_step.check_clock()) < 2
    assert "NTP" not in caplog.text
    skewed = Worker(
        jobs.runner, JobQueue(QueuePolicy(lease_seconds=60), "w", on_abandoned=None, now=ahead), slots=1
    )
    assert 28 < await skewed.check_clock() < 32
    assert "30.0 s ahead of the database's" in caplog.text or "ahead of the database's" in caplog.text


async def test_a_remembered_refusal_only_repeats_for_requests_at_least_as_large(db, jobs):
    jobs.quotas.daily_videos = 0
    jobs.quotas.daily_seconds = 8
    long = await jobs.intake.admit(GenerationParams(prompt="too long", duration=10), ALICE)
    assert long.category is ErrorCategory.USER_QUOTA_EXCEEDED
    again = await jobs.intake.admit(GenerationParams(prompt="still too long", duration=10), ALICE)
    assert again.category is ErrorCategory.USER_QUOTA_EXCEEDED
    short = await jobs.intake.admit(GenerationParams(prompt="fits", duration=6), ALICE)
    assert short.job.id, "a shorter video that fits is not refused from memory"


async def test_a_claim_survives_a_lock_release_the_database_refused(db, jobs, clock, monkeypatch):
    """Found trying it as a user: the claim's UPDATE went through, releasing the claim lock met the locked
    SQLite file, and the error lost the claim in memory — the job sat `processing` with nobody running
    it until its lease ran out."""
    from core.platform.coordination import DbLock

    job = await queued_job(jobs)
    failing(monkeypatch, DbLock, "release", times=1)
    claims = await make_queue(jobs, clock).claim_many(4)
    assert [c.job_id for c in claims] == [job]
    assert (await Generation.get(id=job)).lease_owner == claims[0].lease


async def test_a_claim_survives_a_failed_fairness_stamp(db, jobs, clock, monkeypatch):
    from models import User

    job = await queued_job(jobs)
    real_filter = User.filter

    class Locked:
        """User queries as usual, but every UPDATE meets a locked database."""

        def __init__(self, query):
            self.query = query

        def __getattr__(self, name):
            return getattr(self.query, name)

        async def update(self, **fields):
            raise locked()

    monkeypatch.setattr(User, "filter", classmethod(lambda cls, *a, **k: Locked(real_filter(*a, **k))))
    claims = await make_queue(jobs, clock).claim_many(4)
    monkeypatch.setattr(User, "filter", real_filter)
    assert [c.job_id for c in claims] == [job]


async def test_a_retried_delivery_reuses_the_fitted_copy_instead_of_encoding_again(
    db, jobs, provider, tmp_path, monkeypatch
):
    from core.jobs import results
    from core.media.demo_render import render_demo_video

    clip = tmp_path / "clip.mp4"
    render_demo_video(clip, prompt="too big for this channel", duration=2, width=640, height=360)
    provider.fetches = deque([clip.read_bytes()])
    result = await jobs.generate(PARAMS, ALICE)
    limit = clip.stat().st_size * 2 // 3
    fits = []
    real_fit = results.fit_to_size

    async def counting_fit(*args, **kwargs):
        fits.append(args)
        return await real_fit(*args, **kwargs)

    monkeypatch.setattr(results, "fit_to_size", counting_fit)
    first = await jobs.results.prepare(result.generation_id, limit)
    again = await jobs.results.prepare(result.generation_id, limit)  # Discord failed; the sweep retries
    assert len(fits) == 1 and first.upload == again.upload and again.upload_bytes <= limit
    assert "Re-encoded to" in again.body
    elsewhere = await jobs.results.prepare(result.generation_id, limit // 2)  # a smaller limit: its own copy
    assert len(fits) == 2 and elsewhere.upload != first.upload
