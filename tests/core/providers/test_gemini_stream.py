"""GeminiProvider.watch: the interaction's event stream, read through the real google-genai SDK from the fake.

The silence limit is injected small (0.3 s), so the tests that wait for silence wait that long, no longer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest

from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, Watchable
from core.providers.gemini import GeminiProvider
from tests.core.providers.test_gemini import (
    FILE_URI_PREFIX,
    FakeTime,
    _reuse_ssl_contexts,  # noqa: F401  (an autouse fixture: genai clients built faster)
    make_provider,
    ref_for,
    video_request,
)
from tests.fakes.gemini_api import (
    API_VERSION,
    DEFAULT_API_KEY,
    FAULT_429,
    SCENARIOS,
    FakeGeminiApi,
    HttpFault,
    Scenario,
    error_body,
)
from tests.fakes.sample_video import sample_mp4

SILENCE = 0.3  # the injected silence limit, seconds


@pytest.fixture
async def fake():
    async with FakeGeminiApi() as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def provider(fake, fake_time):
    p = make_provider(fake.base_url, fake_time, stream_silence_limit=SILENCE)
    yield p
    await p.aclose()


async def watch_all(provider: GeminiProvider, ref: JobRef) -> list[PollResult]:
    return [result async for result in provider.watch(ref)]


async def submit_and_watch(provider: GeminiProvider, prompt: str) -> tuple[JobRef, list[PollResult]]:
    ref = ref_for(await provider.submit(video_request(prompt)))
    return ref, await watch_all(provider, ref)


async def watch_error(provider: GeminiProvider, ref: JobRef) -> GenerationError:
    with pytest.raises(GenerationError) as caught:
        await watch_all(provider, ref)
    return caught.value


def states(results: list[PollResult]) -> list[JobState]:
    return [r.state for r in results]


# -- completing through the stream -------------------------------------------------------------------


async def test_the_provider_is_watchable():
    assert issubclass(GeminiProvider, Watchable)


async def test_a_job_completes_through_one_streaming_request_and_no_polls(provider, fake, tmp_path):
    ref, seen = await submit_and_watch(provider, "a cat surfing")

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    assert seen[-1].video.url.startswith(FILE_URI_PREFIX)
    assert fake.polls == []
    [request] = fake.stream_requests
    assert request.path == f"/{API_VERSION}/interactions/{ref.job_id}"
    assert request.query == {"stream": "true"}
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["x-goog-api-key"] == DEFAULT_API_KEY
    dest = tmp_path / "out.mp4"
    assert await provider.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000) == len(sample_mp4())


async def test_each_state_is_yielded_once_as_it_changes(provider, fake):
    _, seen = await submit_and_watch(provider, "x [fake:pending]")

    assert states(seen) == [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED]


async def test_an_inline_video_arrives_in_the_stream_and_is_decoded(provider, fake):
    _, seen = await submit_and_watch(provider, "x [fake:inline]")

    assert seen[-1].video.data == sample_mp4()
    assert fake.polls == []


async def test_keep_alives_hold_a_quiet_stream_open_past_the_silence_limit(provider, fake):
    fake.keepalive_interval = 0.1
    fake.scenario = Scenario(stream_hold=3 * SILENCE)

    _, seen = await submit_and_watch(provider, "a cat")

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    assert fake.keepalives_sent >= 5  # the only bytes for 0.9 s: they, not events, kept it alive
    assert len(fake.stream_requests) == 1


async def test_the_deprecated_interaction_complete_event_ends_the_watch(provider, fake):
    # The server keeps this connection open after the completion event: only the event itself ends it.
    _, seen = await submit_and_watch(provider, "x [fake:stream_old_completion]")

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    assert fake.polls == []


async def test_a_finished_job_is_replayed_to_its_end_after_a_restart(provider, fake):
    job_id = fake.seed_job(scenario="success")
    await watch_all(provider, ref_for(job_id))  # an earlier process saw it through

    seen = await watch_all(provider, ref_for(job_id))

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    assert fake.creates == []


# -- idle and other ends -----------------------------------------------------------------------------


async def test_idle_with_a_video_succeeds_over_the_stream(provider, fake):
    _, seen = await submit_and_watch(provider, "x [fake:idle]")

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    assert seen[-1].video.url.startswith(FILE_URI_PREFIX)
    assert fake.polls == []


async def test_idle_without_a_video_reads_the_interaction_once_and_fails(provider, fake):
    _, seen = await submit_and_watch(provider, "x [fake:idle_without_video]")

    assert seen[-1].error.category is ErrorCategory.GENERATION_FAILED
    assert "status idle without a video" in seen[-1].error.detail
    assert len(fake.polls) == 1  # the completion event leaves the outputs out: one GET confirms


async def test_a_refusal_is_read_from_the_step_events_without_a_get(provider, fake):
    _, seen = await submit_and_watch(provider, "x [fake:safety]")

    assert seen[-1].error.category is ErrorCategory.SAFETY_BLOCKED
    assert "content policy" in seen[-1].error.detail
    assert fake.polls == []


@pytest.mark.parametrize(
    ("scenario", "category", "says"),
    [
        ("failed", ErrorCategory.GENERATION_FAILED, "internal"),
        ("rate_limited_on_poll", ErrorCategory.PROVIDER_QUOTA_EXCEEDED, "too_many_requests"),
    ],
)
async def test_a_failure_takes_its_error_code_from_one_get(provider, fake, scenario, category, says):
    # The stream says `failed`; which failure it was (the rate cap is billed and never resubmitted) is in
    # the interaction's error, which the lean completion event does not carry.
    _, seen = await submit_and_watch(provider, f"x [fake:{scenario}]")

    error = seen[-1].error
    assert (error.category, error.retryable) == (category, False)
    assert says in error.detail
    assert len(fake.polls) == 1


async def test_a_cancel_ends_the_watch_as_cancelled(provider, fake):
    ref = ref_for(await provider.submit(video_request("x [fake:never_finishes]")))
    watching = provider.watch(ref)

    first = await anext(watching)
    await provider.cancel(ref)
    rest = [result async for result in watching]

    assert first.state is JobState.RUNNING
    assert states(rest) == [JobState.FAILED]
    assert rest[0].error.category is ErrorCategory.CANCELLED


async def test_a_watch_closed_early_closes_its_connection(provider, fake):
    # The runner stops watching (a cancel, a deadline): the stream must not stay open at the provider.
    ref = ref_for(await provider.submit(video_request("x [fake:never_finishes]")))
    watching = provider.watch(ref)
    assert (await anext(watching)).state is JobState.RUNNING
    assert fake.open_streams == 1
    fake.stream_ended.clear()

    await watching.aclose()

    await asyncio.wait_for(fake.stream_ended.wait(), 2)  # the fake notices within its 20-ms tick
    assert fake.open_streams == 0


# -- drops, silence and errors -----------------------------------------------------------------------


async def test_a_dropped_stream_resumes_from_the_last_event_id_and_completes(provider, fake):
    ref, seen = await submit_and_watch(provider, "x [fake:stream_drop]")

    assert states(seen) == [JobState.RUNNING, JobState.SUCCEEDED]
    first, resumed = fake.stream_requests
    delivered_last = fake.jobs[ref.job_id].events[1][1]["event_id"]  # the drop came after two events
    assert "last_event_id" not in first.query
    assert resumed.query == {"stream": "true", "last_event_id": delivered_last}
    assert fake.polls == []


async def test_a_silent_stream_raises_a_retryable_error_after_the_limit(provider, fake):
    ref = ref_for(await provider.submit(video_request("x [fake:stream_silent]")))
    started = asyncio.get_running_loop().time()

    error = await watch_error(provider, ref)

    assert asyncio.get_running_loop().time() - started < 10 * SILENCE
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert f"silent for more than {SILENCE:g} s" in error.detail


UNKNOWN_JOB = HttpFault(400, error_body("invalid_request", "Invalid interaction name: interactions/x"))


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        (SCENARIOS["stream_unavailable"].stream_faults[0], ErrorCategory.PROVIDER_UNAVAILABLE),
        (FAULT_429, ErrorCategory.PROVIDER_QUOTA_EXCEEDED),
        (UNKNOWN_JOB, ErrorCategory.UNKNOWN),
    ],
)
async def test_an_error_status_on_the_stream_maps_to_its_category_and_is_retryable(
    provider, fake, fault, category
):
    # Retryable whatever it says: the runner then polls, and the poll has the last word on the job.
    fake.scenario = Scenario(stream_faults=(fault,))
    ref = ref_for(await provider.submit(video_request()))

    error = await watch_error(provider, ref)

    assert (error.category, error.retryable) == (category, True)
    assert f"stream of job {ref.job_id}" in error.detail
    assert len(fake.stream_requests) == 1


async def test_a_429_on_the_stream_carries_its_retry_delay(provider, fake):
    fake.scenario = Scenario(stream_faults=(FAULT_429,))

    error = await watch_error(provider, ref_for(await provider.submit(video_request())))

    assert error.retry_after == pytest.approx(23.397)


async def test_a_stream_that_keeps_ending_without_news_gives_up(provider, fake):
    # The server closes the stream after a completion that settles nothing; the GET agrees: poll instead.
    fake.scenario = Scenario(outcome="paused_for_maintenance")

    error = await watch_error(provider, ref_for(await provider.submit(video_request())))

    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert len(fake.stream_requests) == 1
    assert len(fake.polls) == 1


async def test_connection_refused_on_the_stream_is_retryable(fake_time):
    unused = FakeGeminiApi()
    await unused.start()
    base_url = unused.base_url
    await unused.stop()
    p = make_provider(base_url, fake_time, stream_silence_limit=SILENCE)
    try:
        error = await watch_error(p, ref_for("v1_x"))
    finally:
        await p.aclose()

    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)


# -- the fake's stream, byte for byte ----------------------------------------------------------------


async def raw_stream(server: FakeGeminiApi, job_id: str, **query: str) -> bytes:
    url = f"{server.base_url}/{API_VERSION}/interactions/{job_id}"
    headers = {"x-goog-api-key": DEFAULT_API_KEY, "Accept": "text/event-stream"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"stream": "true", **query}, headers=headers) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        return await response.read()  # the whole body: the server ends the stream after the completion


def frames(body: bytes) -> list[list[str]]:
    return [block.split("\n") for block in body.decode().split("\n\n") if block]


async def test_the_fake_frames_each_event_as_event_and_data_lines_with_the_id_in_the_json(fake):
    job_id = fake.seed_job(scenario="success")

    body = await raw_stream(fake, job_id)

    events = frames(body)
    assert body.endswith(b"\n\n")
    for event_line, data_line in events:
        assert event_line.startswith("event: ")
        payload = json.loads(data_line.removeprefix("data: "))
        assert payload["event_type"] == event_line.removeprefix("event: ")
        assert payload["event_id"]
        assert ", " not in data_line and '": ' not in data_line  # compact JSON, as the API writes it
    kinds = [lines[0].removeprefix("event: ") for lines in events]
    assert kinds[0] == "interaction.created"
    assert kinds[-2:] == ["interaction.status_update", "interaction.completed"]
    completed = json.loads(events[-1][1].removeprefix("data: "))
    assert "steps" not in completed["interaction"]  # outputs come as step events, not in the completion


async def test_the_fake_replays_only_the_events_after_last_event_id(fake):
    job_id = fake.seed_job(scenario="success")
    whole = frames(await raw_stream(fake, job_id))
    third_id = json.loads(whole[2][1].removeprefix("data: "))["event_id"]

    rest = frames(await raw_stream(fake, job_id, last_event_id=third_id))

    assert rest == whole[3:]


async def test_the_fake_sends_keep_alive_comments_while_the_job_works(fake):
    fake.keepalive_interval = 0.05
    job_id = fake.seed_job(scenario=dataclasses.replace(SCENARIOS["success"], stream_hold=0.3))

    body = await raw_stream(fake, job_id)

    assert b"\n\n: keep-alive\n\n" in body
    assert body.count(b": keep-alive\n\n") == fake.keepalives_sent >= 3
