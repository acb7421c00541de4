"""FalProvider.watch: fal's queue status stream (server-sent events) through our client against the fake."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, Watchable
from core.providers.fal import FalProvider
from core.providers.fal.stream import DEFAULT_SILENCE, KEEPALIVE, SseDecoder, SseEvent
from tests.core.providers.test_fal import KEY, KLING, make_request, ref_for
from tests.fakes.fal_queue import SCENARIOS, FakeFalQueue, Fault, Scenario
from tests.fakes.sample_video import sample_mp4

# A bug must fail a test, not hang it: every watch here ends within this many seconds.
GUARD = 10.0


@pytest.fixture
async def fake():
    async with FakeFalQueue(key=KEY) as server:
        yield server


def fal(fake: FakeFalQueue, key: str = KEY, **options) -> FalProvider:
    options.setdefault("watch_silence", 2.0)
    return FalProvider(key, fake.base_url, poll_interval=0, request_timeout=0.5, **options)


@pytest.fixture
async def provider(fake: FakeFalQueue):
    p = fal(fake)
    yield p
    await p.aclose()


async def watched(
    provider: FalProvider, ref: JobRef, into: list[PollResult] | None = None
) -> list[PollResult]:
    """Every result of one watch (also appended to `into`, which keeps them when the watch raises)."""
    results = [] if into is None else into
    async with asyncio.timeout(GUARD):
        async for result in provider.watch(ref):
            results.append(result)
    return results


async def watch_error(provider: FalProvider, ref: JobRef, into: list[PollResult] | None = None):
    with pytest.raises(GenerationError) as info:
        await watched(provider, ref, into)
    return info.value


async def submitted(provider: FalProvider, fake: FakeFalQueue, scenario: Scenario) -> JobRef:
    fake.scenario = scenario
    return ref_for(await provider.submit(make_request()))


def states(results: list[PollResult]) -> list[tuple[JobState, int | None, float | None]]:
    return [(r.state, r.queue_position, r.progress) for r in results]


# -- the wire format -----------------------------------------------------------------------------------


def test_fal_provider_is_watchable_and_its_silence_limit_outlasts_two_keepalives():
    assert isinstance(FalProvider(KEY), Watchable)
    assert DEFAULT_SILENCE > 2 * KEEPALIVE


def feed_all(chunks: list[bytes]) -> tuple[list[SseEvent], SseDecoder]:
    decoder = SseDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)], decoder


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_decoder_reads_every_line_ending_even_split_byte_by_byte(eol):
    raw = (
        b": keep-alive" + eol + eol
        + b'data: {"status": "IN_QUEUE", "queue_position": 1}' + eol + eol
        + b"data:first" + eol + b"data:  second" + eol + b"event: update" + eol + eol
        + b'data: {"status": "COMPLETED", "logs": ["caf\xc3\xa9"]}' + eol + eol
    )  # fmt: skip
    for chunks in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
        events, decoder = feed_all(chunks)
        assert events == [
            SseEvent('{"status": "IN_QUEUE", "queue_position": 1}'),
            SseEvent("first\n second", "update"),
            SseEvent('{"status": "COMPLETED", "logs": ["café"]}'),
        ]
        assert decoder.comments == 1


def test_decoder_drops_events_without_data_and_an_unterminated_last_event():
    events, _ = feed_all(
        [b"\xef\xbb\xbfdata: a\nid: 7\n\nevent: ping\n\nretry: 10\n\ndata: b\n\ndata: cut off"]
    )
    assert events == [SseEvent("a", id="7"), SseEvent("b", id="7")]


async def test_stream_request_follows_the_sub_path_rule_with_logs_key_and_accept(fake):
    rid = fake.seed_request(KLING)
    provider = fal(fake)  # a fresh process resuming by id
    try:
        await watched(provider, JobRef(rid, KLING))
    finally:
        await provider.aclose()
    [stream] = fake.requests_to("stream")
    assert stream.path == f"/fal-ai/kling-video/requests/{rid}/status/stream"
    assert stream.query == {"logs": "1"}
    assert stream.headers["Authorization"] == f"Key {KEY}"
    assert stream.headers["Accept"] == "text/event-stream"


# -- through the stream --------------------------------------------------------------------------------


async def test_a_job_completes_through_one_stream_request_without_status_polls(provider, fake):
    ref = await submitted(provider, fake, SCENARIOS["queued"])
    results = await watched(provider, ref)
    assert states(results) == [
        (JobState.QUEUED, 2, None),
        (JobState.QUEUED, 1, None),
        (JobState.QUEUED, 0, None),
        (JobState.RUNNING, None, None),  # the second, identical IN_PROGRESS is no change
        (JobState.SUCCEEDED, None, None),
    ]
    assert results[-1].video.url == f"{fake.base_url}/files/{ref.job_id}.mp4"
    assert results[-1].video.size_hint == len(sample_mp4())
    assert len(fake.requests_to("stream")) == 1
    assert fake.requests_to("status") == []
    assert len(fake.requests_to("result")) == 1


async def test_log_percentages_arrive_as_progress(provider, fake):
    ref = await submitted(provider, fake, SCENARIOS["progress"])
    results = await watched(provider, ref)
    assert [r.progress for r in results if r.state is JobState.RUNNING] == [0.25, 0.5, 0.75]


async def test_progress_stays_when_new_log_lines_carry_no_percentage(provider, fake):
    # The stream sends only new log lines: "Rendering step 2" must not wipe out the 20% seen before.
    ref = await submitted(provider, fake, Scenario(running_polls=4, progress_logs=True, progress_every=2))
    results = await watched(provider, ref)
    assert states(results) == [
        (JobState.RUNNING, None, 0.2),
        (JobState.RUNNING, None, 0.6),
        (JobState.SUCCEEDED, None, None),
    ]


async def test_keepalives_hold_a_quiet_stream_open(provider, fake):
    fake.stream_interval, fake.keepalive_interval = 0.6, 0.05
    ref = await submitted(provider, fake, Scenario(queued_polls=1))
    provider = fal(fake, watch_silence=0.3)
    try:
        results = await watched(provider, ref)
    finally:
        await provider.aclose()
    assert [r.state for r in results] == [JobState.QUEUED, JobState.SUCCEEDED]
    assert fake.keepalives_sent >= 5
    assert fake.requests_to("status") == []


async def test_without_keepalives_the_same_quiet_stream_is_silence(provider, fake):
    fake.stream_interval, fake.keepalive_interval = 0.6, 10.0
    ref = await submitted(provider, fake, Scenario(queued_polls=1))
    provider = fal(fake, watch_silence=0.3)
    try:
        error = await watch_error(provider, ref)
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)


async def test_a_watch_closed_early_closes_its_connection(provider, fake):
    fake.stream_interval = 0.05
    ref = await submitted(provider, fake, Scenario(queued_polls=1000))
    watch = provider.watch(ref)
    first = await anext(watch)
    assert (first.state, fake.open_streams) == (JobState.QUEUED, 1)
    await watch.aclose()
    await asyncio.wait_for(fake.stream_closed.wait(), GUARD)
    assert fake.open_streams == 0


# -- drops and silence ---------------------------------------------------------------------------------


async def test_a_drop_mid_stream_reopens_after_one_status_poll_and_completes(provider, fake):
    scenario = Scenario(
        queued_polls=3, running_polls=2, faults=(Fault("stream", drop=True, after=2, times=1),)
    )
    ref = await submitted(provider, fake, scenario)
    results = await watched(provider, ref)
    assert states(results) == [
        (JobState.QUEUED, 2, None),
        (JobState.QUEUED, 1, None),
        (JobState.QUEUED, 0, None),  # from the status route, between the two streams
        (JobState.RUNNING, None, None),
        (JobState.SUCCEEDED, None, None),
    ]
    assert [r.route for r in fake.requests if r.route != "submit"] == ["stream", "status", "stream", "result"]


async def test_a_stream_that_keeps_dropping_gives_up_retryable_after_its_reopens(fake):
    scenario = Scenario(queued_polls=100, faults=(Fault("stream", drop=True, after=1),))
    provider = fal(fake, watch_reconnects=2)
    try:
        ref = await submitted(provider, fake, scenario)
        results: list[PollResult] = []
        error = await watch_error(provider, ref, results)
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert "dropped 3 times" in error.detail
    assert [r.queue_position for r in results] == [99, 98, 97, 96, 95]
    assert (len(fake.requests_to("stream")), len(fake.requests_to("status"))) == (3, 2)


@pytest.mark.parametrize("after", [0, 1], ids=["before-headers", "mid-stream"])
async def test_silence_past_the_limit_raises_retryable_quickly(fake, after):
    scenario = Scenario(queued_polls=5, faults=(Fault("stream", delay=30.0, after=after),))
    provider = fal(fake, watch_silence=0.2)
    loop = asyncio.get_running_loop()
    try:
        ref = await submitted(provider, fake, scenario)
        started = loop.time()
        results: list[PollResult] = []
        error = await watch_error(provider, ref, results)
    finally:
        await provider.aclose()
    assert loop.time() - started < 2
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert "silent for 0.2 s" in error.detail
    assert len(results) == after
    assert len(fake.requests_to("stream")) == 1  # silence is not re-opened: the caller polls


# -- outcomes and refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "category", "says"),
    [
        (SCENARIOS["failed"], ErrorCategory.GENERATION_FAILED, "runner_disconnected"),
        (
            Scenario(error="Prompt flagged", error_type="content_policy_violation"),
            ErrorCategory.SAFETY_BLOCKED,
            "Prompt flagged",
        ),
    ],
    ids=["completed-with-error", "completed-with-policy-error"],
)
async def test_a_failed_job_maps_to_its_category_without_fetching_the_result(
    provider, fake, scenario, category, says
):
    ref = await submitted(provider, fake, scenario)
    [result] = await watched(provider, ref)
    assert result.state is JobState.FAILED
    assert (result.error.category, result.error.retryable) == (category, False)
    assert says in result.error.detail
    assert fake.requests_to("result") == []


async def test_a_refused_result_is_fetched_and_mapped_as_a_poll_would(provider, fake):
    ref = await submitted(provider, fake, SCENARIOS["safety"])
    [result] = await watched(provider, ref)
    assert (result.state, result.error.category) == (JobState.FAILED, ErrorCategory.SAFETY_BLOCKED)
    assert len(fake.requests_to("result")) == 1


async def test_a_cancelled_job_ends_cancelled(provider, fake):
    ref = await submitted(provider, fake, SCENARIOS["long_queue"])
    assert await provider.cancel(ref) is True
    [result] = await watched(provider, ref)
    assert (result.state, result.error.category) == (JobState.FAILED, ErrorCategory.CANCELLED)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_key_is_a_configuration_error_not_transient(fake, status):
    if status == 401:
        rid = fake.seed_request("fal-ai/veo3.1")
        provider = fal(fake, key="wrong-key")
    else:  # a key scoped to other operations
        forbidden = Scenario(faults=(Fault("stream", 403, {"detail": "Forbidden"}),))
        rid = fake.seed_request("fal-ai/veo3.1", forbidden)
        provider = fal(fake)
    try:
        error = await watch_error(provider, ref_for(rid))
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, False)
    assert "check FAL_KEY" in error.detail
    assert "wrong-key" not in error.detail
    assert (len(fake.requests_to("stream")), fake.requests_to("status")) == (1, [])


async def test_an_unknown_id_is_lost_once_the_status_route_agrees(provider, fake):
    [result] = await watched(provider, ref_for("no-such-request"))
    assert (result.state, result.error.category) == (JobState.FAILED, ErrorCategory.UNKNOWN)
    assert "no longer knows job no-such-request" in result.error.detail
    assert (len(fake.requests_to("stream")), len(fake.requests_to("status"))) == (1, 1)


async def test_a_404_from_the_stream_route_alone_hands_over_to_polling(provider, fake):
    scenario = Scenario(queued_polls=2, faults=(Fault("stream", 404, {"detail": "Not Found"}),))
    ref = await submitted(provider, fake, scenario)
    results: list[PollResult] = []
    error = await watch_error(provider, ref, results)
    assert error.retryable is True
    assert states(results) == [(JobState.QUEUED, 1, None)]  # what the status route said


@pytest.mark.parametrize(
    ("fault", "category", "retry_after"),
    [
        (
            Fault("stream", 503, {"detail": "Runner scheduling failure"}),
            ErrorCategory.PROVIDER_UNAVAILABLE,
            None,
        ),
        (Fault("stream", 502, "nginx", content_type="text/html"), ErrorCategory.PROVIDER_UNAVAILABLE, None),
        (
            Fault("stream", 429, {"detail": "Rate limit exceeded"}, headers={"Retry-After": "7"}),
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            7.0,
        ),
        (Fault("stream", 405, {"detail": "Method Not Allowed"}), ErrorCategory.PROVIDER_UNAVAILABLE, None),
        (Fault("stream", 200, {"status": "IN_QUEUE"}), ErrorCategory.PROVIDER_UNAVAILABLE, None),
        (
            Fault("stream", 200, "data: {not json\n\n", content_type="text/event-stream"),
            ErrorCategory.PROVIDER_UNAVAILABLE,
            None,
        ),
    ],
    ids=["503", "nginx-502", "429", "405", "json-not-sse", "garbled-event"],
)
async def test_a_stream_that_cannot_be_used_is_retryable_so_the_caller_polls(
    provider, fake, fault, category, retry_after
):
    ref = await submitted(provider, fake, Scenario(faults=(fault,)))
    error = await watch_error(provider, ref)
    assert (error.category, error.retryable, error.retry_after) == (category, True, retry_after)
    assert fake.jobs[ref.job_id].polls == 0  # nothing was advanced or consumed
    assert fake.requests_to("status") == []
