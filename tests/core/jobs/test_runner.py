"""A job end to end (admission, running, cancel) against a scripted provider, with time injected."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections import deque
from pathlib import Path

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.jobs.actions import Actor
from core.jobs.gate import AdmissionGate
from core.jobs.views import Requester
from core.services import Services
from core.validation import GenerationParams
from models import DailySpend, DailyUsage, Generation, GenerationStatus
from tests.core.jobs.conftest import pinned_cadence
from tests.fakes.scripted_provider import failed, queued, running, succeeded

CATALOG = load_catalog()
ALICE = Requester(user_id=42, guild_id=1, channel_id=2)


def err(
    category: ErrorCategory, retryable: bool = False, retry_after: float | None = None
) -> GenerationError:
    return GenerationError(
        category, f"scripted {category.value}", retryable=retryable, retry_after=retry_after
    )


async def cancel(jobs: Services, job_id: int) -> bool:
    """Alice cancels her job; True when it was cancelled."""
    return (await jobs.actions.cancel(job_id, Actor(ALICE.user_id))).ok


class Progress:
    def __init__(self) -> None:
        self.updates: list[tuple[int, str]] = []

    async def __call__(self, percent: int, stage: str) -> None:
        self.updates.append((percent, stage))

    @property
    def percents(self) -> list[int]:
        return [p for p, _ in self.updates]


PARAMS = GenerationParams(prompt="a red fox in snow", duration=6)


async def usage() -> tuple[int, int]:
    row = await DailyUsage.get(user_id=42)
    return row.videos, row.seconds


async def test_success_records_the_job_and_writes_the_video(db, jobs, provider):
    provider.polls = deque([running(), running(), succeeded()])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success"
    assert result.operation_id == "job-1"
    gen = await Generation.get(id=result.generation_id)
    assert gen.status is GenerationStatus.COMPLETED
    assert gen.provider_job_id == "job-1" and gen.attempts == 1
    assert gen.video_path == result.video_path and gen.video_bytes > 0
    assert Path(result.video_path).read_bytes()[4:8] == b"ftyp"  # noqa: ASYNC240
    assert {"submit", "processing", "download", "total"} <= set(gen.stage_timings)
    assert gen.guild_id == 1 and gen.channel_id == 2
    assert await usage() == (1, 6)


async def test_result_has_the_seed_shape(db, jobs):
    result = (await jobs.generate(PARAMS, ALICE)).to_dict()
    for key in ("status", "video_path", "operation_id", "duration", "generation_id", "error", "error_type"):
        assert key in result


async def test_output_name_is_timestamp_slug_and_job_id(db, jobs):
    result = await jobs.generate(GenerationParams(prompt="A serene mountain landscape at dawn"), ALICE)
    assert result.video_path.endswith(f"20261201_120000_A_serene_mountain_landsc_{result.generation_id}.mp4")


async def test_progress_follows_the_stage_plan_and_never_goes_back(db, jobs, provider):
    provider.polls = deque(
        [queued(3), queued(1), running(0.1), running(0.5), running(0.2), running(0.95), succeeded()]
    )
    progress = Progress()
    await jobs.generate(PARAMS, ALICE, progress)
    assert progress.updates[0] == (0, "Starting")
    assert (10, "Request sent") in progress.updates
    assert (10, "Queued · position 3") in progress.updates
    assert (10, "Queued · position 1") in progress.updates
    stages = [s for _, s in progress.updates]
    assert "Initializing" in stages and "Generating frames" in stages and "Finalizing" in stages
    assert progress.updates[-2:] == [(90, "Downloading"), (100, "Complete")]
    assert progress.percents == sorted(progress.percents)


async def test_time_based_progress_uses_the_catalog_latency_without_a_provider_signal(
    db, tmp_path, provider, clock
):
    jobs = pinned_cadence(tmp_path, clock, provider, 15.0)  # expects 60 s; polls at 7.5, 22.5, ... s
    provider.polls = deque([running(), running(), running(), running(), succeeded()])
    progress = Progress()
    await jobs.generate(PARAMS, ALICE, progress)
    processing = [p for p, s in progress.updates if 20 <= p <= 80]
    assert processing == [27, 42, 57, 72]


async def test_learned_latency_replaces_the_prior_after_five_jobs(db, jobs):
    spec = CATALOG.get("omni-1.2-flash")
    for seconds in (10, 20, 30, 40, 50):
        await Generation.create(
            user_id=(await jobs.quotas.ensure_user(1)).id,
            prompt="p",
            model=spec.name,
            provider="gemini",
            provider_model_id="m",
            video_seconds=4,
            quota_day=dt.date(2026, 12, 1),
            status=GenerationStatus.COMPLETED,
            stage_timings={"processing": seconds},
            completed_at=dt.datetime.now(dt.UTC),
        )
    assert (await jobs.runner.learned_latency(spec))[0] == 30


async def test_prior_is_used_with_fewer_than_five_samples(db, jobs):
    assert (await jobs.runner.learned_latency(CATALOG.get("omni-1.2-flash")))[0] == 60


async def test_rate_limited_submit_is_retried_after_retry_after(db, jobs, provider, clock):
    provider.submits = deque([err(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True, retry_after=7.0), "job-x"])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success" and len(provider.submitted) == 2
    assert clock.sleeps[0] >= 7.0


async def test_retryable_submit_gives_up_after_bounded_attempts(db, jobs, provider):
    provider.submits = deque([err(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True)] * 10)
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "provider_quota_exceeded"
    assert len(provider.submitted) == 4
    assert result.refunded and await usage() == (0, 0)


async def test_ambiguous_submit_failure_is_not_resubmitted_refunds_the_user_and_keeps_the_spend(
    db, jobs, provider
):
    provider.submits = deque([err(ErrorCategory.PROVIDER_UNAVAILABLE, retryable=False)])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "error" and result.error_type == "provider_unavailable"
    assert len(provider.submitted) == 1
    assert result.refunded  # not the user's fault
    # ...but the provider may have created (and billed) the job: the spend cap keeps counting it.
    assert (await DailySpend.get(day=dt.date(2026, 12, 1))).micro_usd == 420000


async def test_a_submit_the_provider_surely_refused_releases_the_spend(db, jobs, provider):
    provider.submits = deque([err(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, retryable=True)] * 4)
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "provider_quota_exceeded" and result.refunded
    assert (await DailySpend.get(day=dt.date(2026, 12, 1))).micro_usd == 0


async def test_a_job_killed_mid_submit_keeps_its_spend(db, jobs, provider):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await Generation.filter(id=job.id).update(submit_started_at=dt.datetime.now(dt.UTC))  # then SIGKILL
    result = await jobs.runner.run_job(job.id)
    assert result.error_type == "provider_unavailable" and result.refunded
    assert (await DailySpend.get(day=dt.date(2026, 12, 1))).micro_usd == 420000


@pytest.mark.parametrize(
    ("category", "refunded"),
    [
        (ErrorCategory.SAFETY_BLOCKED, True),
        (ErrorCategory.GENERATION_FAILED, True),
        (ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True),
        (ErrorCategory.MODEL_UNAVAILABLE, True),
    ],
)
async def test_provider_failure_maps_to_its_category_and_refunds(db, jobs, provider, category, refunded):
    provider.polls = deque([running(), failed(err(category))])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == category.value
    assert result.error == GenerationError(category, "").user_message
    assert result.refunded is refunded
    assert len(provider.submitted) == 1
    gen = await Generation.get(id=result.generation_id)
    assert gen.status is GenerationStatus.FAILED and gen.error == f"scripted {category.value}"


async def test_safety_block_releases_the_spend_but_a_billed_failure_keeps_it(db, jobs, provider):
    provider.polls = deque([failed(err(ErrorCategory.SAFETY_BLOCKED))])
    await jobs.generate(PARAMS, ALICE)
    assert await jobs.quotas.spent_today(dt.date(2026, 12, 1)) == 0
    provider.polls = deque([failed(err(ErrorCategory.GENERATION_FAILED))])
    await jobs.generate(PARAMS, ALICE)
    assert await jobs.quotas.spent_today(dt.date(2026, 12, 1)) == pytest.approx(0.42)


async def test_transient_poll_errors_keep_polling(db, jobs, provider):
    provider.polls = deque(
        [
            err(ErrorCategory.PROVIDER_UNAVAILABLE, True),
            err(ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True),
            succeeded(),
        ]
    )
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success" and len(provider.submitted) == 1 and len(provider.polled) == 3


async def test_a_job_that_never_finishes_times_out_is_cancelled_and_refunded(db, jobs, provider, clock):
    provider.polls = deque([running()])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "timeout"
    assert provider.cancelled == ["job-1"]
    assert result.refunded
    assert 595 <= clock.t - 1000 <= 605  # gives up when the next 5-s poll would pass the 600-s deadline


async def test_transient_fetch_errors_are_retried(db, jobs, provider):
    provider.fetches = deque([err(ErrorCategory.PROVIDER_UNAVAILABLE, True)])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success"


async def test_resume_polls_the_stored_id_and_never_submits(db, jobs, provider):
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    await Generation.filter(id=gen.id).update(
        status=GenerationStatus.PROCESSING,
        provider_job_id="stored-7",
        submit_started_at=dt.datetime.now(dt.UTC),
    )
    result = await jobs.runner.run_job(gen.id)
    assert result.status == "success" and result.operation_id == "stored-7"
    assert provider.submitted == [] and provider.polled[0] == "stored-7"


async def test_a_submit_that_may_have_reached_the_provider_is_not_repeated(db, jobs, provider):
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    await Generation.filter(id=gen.id).update(submit_started_at=dt.datetime.now(dt.UTC))
    result = await jobs.runner.run_job(gen.id)
    assert result.error_type == "provider_unavailable" and "not submitting again" in result.error_detail
    assert provider.submitted == [] and result.refunded


async def test_running_a_finished_job_again_changes_nothing(db, jobs, provider):
    first = await jobs.generate(PARAMS, ALICE)
    again = await jobs.runner.run_job(first.generation_id)
    assert again == first and len(provider.submitted) == 1


async def test_cancel_before_submission_refunds(db, jobs, provider):
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    assert await cancel(jobs, gen.id)
    assert (await Generation.get(id=gen.id)).status is GenerationStatus.CANCELLED
    assert await usage() == (0, 0)
    assert (await jobs.runner.run_job(gen.id)).error_type == "cancelled"
    assert provider.submitted == []
    assert not await cancel(jobs, gen.id)


async def test_cancel_while_polling_stops_the_job_and_cancels_at_the_provider(db, jobs, provider):
    async def cancel_on_second_poll():
        if len(provider.polled) == 2:
            await cancel(jobs, gen_id)

    provider.polls = deque([running()])
    provider.on_poll = cancel_on_second_poll
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    gen_id = gen.id
    result = await jobs.runner.run_job(gen.id)
    await jobs.runner.cancels.drain()  # the provider cancel runs in the background
    assert result.error_type == "cancelled"
    assert provider.cancelled == ["job-1"]
    assert len(provider.polled) == 2
    assert not result.refunded and await usage() == (1, 6)


async def test_a_failing_progress_callback_does_not_fail_the_job(db, jobs):
    async def broken(percent, stage):
        raise RuntimeError("discord is down")

    assert (await jobs.generate(PARAMS, ALICE, broken)).status == "success"


async def test_generation_ids_increase(db, jobs):
    first = await jobs.generate(PARAMS, ALICE)
    second = await jobs.generate(PARAMS, ALICE)
    assert second.generation_id > first.generation_id


async def test_quota_refusal_is_an_error_result_with_no_record(db, jobs):
    jobs.quotas.daily_videos = 1
    await jobs.generate(PARAMS, ALICE)
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "user_quota_exceeded" and result.generation_id is None
    assert await Generation.all().count() == 1


async def test_unexpected_exception_ends_the_job_as_unknown_and_refunds(db, jobs, provider):
    async def boom(ref):
        raise KeyError("bug")

    provider.poll = boom
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "unknown" and result.refunded


async def test_image_input_survives_into_the_submitted_request(db, jobs, provider):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    params = GenerationParams(prompt="animate this", image=png, image_mime_type="image/png")
    result = await jobs.generate(params, ALICE)
    assert result.status == "success"
    assert provider.submitted[0].image == png and provider.submitted[0].image_mime_type == "image/png"


async def test_cancel_while_the_submit_is_in_flight_cancels_at_the_provider_without_refund(
    db, jobs, provider
):
    original_submit = provider.submit

    async def submit_then_get_cancelled(request):
        job_id = await original_submit(request)
        assert await cancel(jobs, gen.id)  # the user clicks Cancel before the id is stored
        return job_id

    provider.submit = submit_then_get_cancelled
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    result = await jobs.runner.run_job(gen.id)
    await jobs.runner.cancels.drain()  # the provider cancel runs in the background
    assert result.error_type == "cancelled" and result.operation_id == "job-1"
    assert provider.cancelled == ["job-1"] and provider.polled == []
    assert not result.refunded and await usage() == (1, 6)


async def test_the_catalog_can_set_the_poll_cadence(db, tmp_path, provider, clock):
    jobs = pinned_cadence(tmp_path, clock, provider, 0.5)
    provider.polls = deque([running(), running(), succeeded()])
    assert (await jobs.generate(PARAMS, ALICE)).status == "success"
    assert clock.sleeps[:3] == [0.25, 0.5, 0.5]  # a random phase (rand() = 0.5), then the cadence


async def test_a_resumed_job_counts_the_time_before_the_restart(db, jobs, clock):
    gen = await jobs.intake.create_job(PARAMS, ALICE)
    await Generation.filter(id=gen.id).update(
        status=GenerationStatus.PROCESSING,
        provider_job_id="stored-8",
        submit_started_at=clock.now() - dt.timedelta(seconds=100),
        submitted_at=clock.now() - dt.timedelta(seconds=100),
    )
    result = await jobs.runner.run_job(gen.id)
    timings = (await Generation.get(id=gen.id)).stage_timings
    assert result.duration >= 100 and timings["processing"] >= 100


async def test_concurrent_requests_cannot_squeeze_past_the_waiting_cap(db, jobs):
    jobs.quotas.daily_videos = 0
    jobs.quotas.daily_seconds = 0
    jobs.intake.max_waiting = 3

    async def request(i: int) -> Generation | GenerationError:
        intake = copy.copy(jobs.intake)  # as if from another process: its own admission gate
        intake.gate = AdmissionGate()
        try:
            return await intake.create_job(GenerationParams(prompt=f"p{i}", duration=4), ALICE)
        except GenerationError as exc:
            return exc

    outcomes = await asyncio.gather(*(request(i) for i in range(8)))
    refused = [o for o in outcomes if isinstance(o, GenerationError)]
    assert len(refused) == 5 and await Generation.filter(user_id=ALICE.user_id).count() == 3
    assert all(r.category is ErrorCategory.TOO_MANY_WAITING for r in refused)
    assert all("you already have 3 videos waiting to start (at most 3)" in r.detail for r in refused)
    assert (await DailyUsage.get(user_id=ALICE.user_id)).videos == 3, "refused requests reserved nothing"
