"""Waiting for the video: pushed by a provider that can stream, polled on a learned schedule otherwise,
and polled as well whenever a stream fails — a stream is only ever a faster way to learn the same."""

from __future__ import annotations

from collections import deque

import pytest

from core.errors import ErrorCategory, GenerationError
from core.jobs.actions import Actor
from core.jobs.views import Requester
from core.jobs.waiting import CHECK_EVERY
from core.validation import GenerationParams
from models import Generation
from tests.core.jobs.conftest import make_services
from tests.fakes.clock import ManualClock
from tests.fakes.scripted_provider import StreamingProvider, failed, queued, running, succeeded

ALICE = Requester(user_id=42, guild_id=1, channel_id=2)
PARAMS = GenerationParams(prompt="a red fox in snow", duration=6)


class Progress:
    def __init__(self) -> None:
        self.updates: list[tuple[int, str]] = []

    async def __call__(self, percent: int, stage: str) -> None:
        self.updates.append((percent, stage))


@pytest.fixture
def streaming() -> StreamingProvider:
    return StreamingProvider(name="gemini")


@pytest.fixture
def jobs(tmp_path, clock, streaming):
    return make_services(tmp_path, clock, {"gemini": streaming})


def dropped() -> GenerationError:
    return GenerationError(ErrorCategory.PROVIDER_UNAVAILABLE, "stream dropped", retryable=True)


async def test_a_pushed_result_completes_the_job_without_a_single_poll(db, tmp_path, streaming):
    clock = ManualClock()  # time moves only when the test says: nothing here may wait for it
    jobs = make_services(tmp_path, clock, {"gemini": streaming})
    streaming.streams.append([queued(2), running(0.3), running(0.7), succeeded()])
    progress = Progress()
    result = await jobs.generate(PARAMS, ALICE, progress)
    assert result.status == "success"
    assert streaming.watched == ["job-1"] and streaming.polled == []
    assert (10, "Queued · position 2") in progress.updates
    assert [p for p, _ in progress.updates if 20 <= p <= 80] == [38, 62]  # the provider's own signal
    assert clock.t == 1000.0  # noticed the moment it was pushed, without any wait


async def test_a_failed_stream_falls_back_to_polling_and_the_job_still_completes(db, jobs, streaming):
    streaming.streams.append([running(0.2), dropped()])
    streaming.polls = deque([running(), succeeded()])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.status == "success"
    assert streaming.watched == ["job-1"] and streaming.polled == ["job-1", "job-1"]
    assert len(streaming.submitted) == 1


async def test_a_stream_that_ends_before_the_job_does_falls_back_to_polling(db, jobs, streaming):
    streaming.streams.append([running(0.5)])
    streaming.polls = deque([succeeded()])
    assert (await jobs.generate(PARAMS, ALICE)).status == "success"
    assert streaming.polled == ["job-1"]


async def test_a_bug_in_the_stream_is_logged_and_polling_takes_over(db, jobs, streaming, caplog):
    streaming.streams.append([ValueError("unexpected event shape")])
    streaming.polls = deque([succeeded()])
    assert (await jobs.generate(PARAMS, ALICE)).status == "success"
    assert "stream broke" in caplog.text and "unexpected event shape" in caplog.text


async def test_a_failure_pushed_by_the_provider_fails_the_job_with_its_category(db, jobs, streaming):
    blocked = GenerationError(ErrorCategory.SAFETY_BLOCKED, "blocked by the provider's filter")
    streaming.streams.append([running(0.1), failed(blocked)])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "safety_blocked" and result.refunded
    assert streaming.polled == []


async def test_a_refusal_from_the_stream_itself_is_not_retried_by_polling(db, jobs, streaming):
    streaming.streams.append([GenerationError(ErrorCategory.MODEL_UNAVAILABLE, "model gone")])
    result = await jobs.generate(PARAMS, ALICE)
    assert result.error_type == "model_unavailable" and streaming.polled == []


async def test_a_quiet_stream_still_notices_a_cancel_and_stops_the_job_at_the_provider(
    db, jobs, streaming, clock
):
    streaming.streams.append([running(0.1), "hang"])
    job = await jobs.intake.create_job(PARAMS, ALICE)

    async def cancel_on_first_check():
        await jobs.actions.cancel(job.id, Actor(ALICE.user_id))

    real_holds = jobs.runner._still_mine

    async def still_mine(gen, lease):
        await cancel_on_first_check()
        await real_holds(gen, lease)

    jobs.runner._still_mine = still_mine
    result = await jobs.runner.run_job(job.id)
    await jobs.runner.cancels.drain()
    assert result.error_type == "cancelled"
    assert streaming.cancelled == ["job-1"]
    assert CHECK_EVERY in clock.sleeps  # checked on the stream's quiet ticks


async def test_a_stream_that_never_finishes_times_out_at_the_models_deadline(db, jobs, streaming, clock):
    streaming.streams.append(["hang"])
    result = await jobs.generate(PARAMS, ALICE)
    await jobs.runner.cancels.drain()
    assert result.error_type == "timeout" and result.refunded
    assert streaming.cancelled == ["job-1"]
    assert 600 <= clock.t - 1000 <= 600 + CHECK_EVERY + 1


async def test_a_resumed_job_watches_again_from_its_stored_id(db, jobs, streaming):
    job = await jobs.intake.create_job(PARAMS, ALICE)
    await jobs.intake.publish(job.id, None)
    await Generation.filter(id=job.id).update(submit_started_at=jobs.clock.now(), provider_job_id="job-77")
    streaming.streams.append([succeeded()])
    result = await jobs.runner.run_job(job.id)
    assert result.status == "success" and streaming.watched == ["job-77"] and streaming.submitted == []
