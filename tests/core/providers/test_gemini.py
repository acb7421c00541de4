"""GeminiProvider driven through the real google-genai SDK against the local Interactions fake."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.utils
import logging
import socket
import ssl
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.gemini import GeminiProvider, results
from tests.fakes.gemini_api import API_VERSION, DEFAULT_API_KEY, SCENARIOS, FakeGeminiApi, Scenario
from tests.fakes.sample_video import sample_mp4

SPEC = load_catalog().get("omni-1.2-flash")
MODEL_ID = "gemini-omni-1.2-flash"
PROJECT_ROOT = str(Path(__file__).resolve().parents[3])
FILE_URI_PREFIX = "https://generativelanguage.googleapis.com/v1beta/files/"
CALLER_FETCH_ATTEMPTS = 4  # the job runner's FETCH_ATTEMPTS: how often it calls fetch while it is retryable


class FakeTime:
    """Injected sleep/clock: sleeping advances the clock instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


_SSL_CONTEXTS: dict[object, ssl.SSLContext] = {}


@pytest.fixture(autouse=True)
def _reuse_ssl_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Share CA-loaded SSL contexts between tests.

    genai.Client loads the CA bundle three times per client (~45 ms each), which dominated this file's
    run time. The tests only speak plain http to 127.0.0.1, so sharing the contexts changes nothing else.
    """

    def shared(factory):
        def make(*args, **kwargs):
            key = (factory, args, tuple(sorted(kwargs.items())))
            if key not in _SSL_CONTEXTS:
                _SSL_CONTEXTS[key] = factory(*args, **kwargs)
            return _SSL_CONTEXTS[key]

        return make

    monkeypatch.setattr(ssl, "create_default_context", shared(ssl.create_default_context))
    monkeypatch.setattr(httpx2, "create_ssl_context", shared(httpx2.create_ssl_context))


@pytest.fixture
async def fake():
    async with FakeGeminiApi() as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_provider(base_url: str, fake_time: FakeTime, **kwargs) -> GeminiProvider:
    options = {"poll_interval": 0, "request_timeout": 5.0, "sleep": fake_time.sleep, "clock": fake_time.clock}
    options.update(kwargs)
    api_key = options.pop("api_key", DEFAULT_API_KEY)
    return GeminiProvider(api_key, base_url, **options)


@pytest.fixture
async def provider(fake: FakeGeminiApi, fake_time: FakeTime):
    p = make_provider(fake.base_url, fake_time)
    yield p
    await p.aclose()


@pytest.fixture
async def impatient(fake: FakeGeminiApi, fake_time: FakeTime):
    """A provider whose per-request timeout is 0.5 s, for the slow-response scenarios."""
    p = make_provider(fake.base_url, fake_time, request_timeout=0.5)
    yield p
    await p.aclose()


def video_request(prompt: str = "a cat surfing", **kwargs) -> VideoRequest:
    fields = {"model": SPEC, "duration": 6, "aspect_ratio": "16:9", "resolution": "720p"}
    fields.update(kwargs)
    return VideoRequest(prompt=prompt, **fields)


def ref_for(job_id: str) -> JobRef:
    return JobRef(job_id=job_id, provider_model_id=MODEL_ID)


async def run_to_end(provider: GeminiProvider, ref: JobRef, limit: int = 20) -> list[PollResult]:
    """Poll until SUCCEEDED or FAILED; return every observation."""
    seen: list[PollResult] = []
    for _ in range(limit):
        result = await provider.poll(ref)
        seen.append(result)
        if result.state in (JobState.SUCCEEDED, JobState.FAILED):
            return seen
    raise AssertionError(f"job did not finish in {limit} polls: {[r.state for r in seen]}")


async def submit_and_finish(provider: GeminiProvider, prompt: str) -> tuple[JobRef, list[PollResult]]:
    ref = ref_for(await provider.submit(video_request(prompt)))
    return ref, await run_to_end(provider, ref)


async def raised(call) -> GenerationError:
    with pytest.raises(GenerationError) as caught:
        await call
    return caught.value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- submit: request shape ---------------------------------------------------------------------------


async def test_submit_posts_v1beta_create_with_video_response_format_seed_and_key(provider, fake):
    job_id = await provider.submit(video_request(seed=7))

    assert job_id in fake.jobs
    [create] = fake.creates
    assert create.path == f"/{API_VERSION}/interactions"
    assert create.headers["x-goog-api-key"] == DEFAULT_API_KEY
    assert create.json["model"] == MODEL_ID
    assert create.json["background"] is True
    assert create.json["input"] == "a cat surfing"
    assert create.json["response_format"] == {
        "type": "video",
        "aspect_ratio": "16:9",
        "duration": "6s",
        "resolution": "720p",
        "delivery": "uri",
    }
    assert create.json["generation_config"] == {"seed": 7}


async def test_submit_without_seed_sends_no_generation_config(provider, fake):
    await provider.submit(video_request(aspect_ratio="9:16", resolution="360p", duration=3))

    [create] = fake.creates
    assert "generation_config" not in create.json
    assert create.json["response_format"]["duration"] == "3s"
    assert create.json["response_format"]["aspect_ratio"] == "9:16"
    assert create.json["response_format"]["resolution"] == "360p"


async def test_submit_with_image_sends_image_block_then_text_block(provider, fake):
    png = b"\x89PNG\r\n\x1a\nfake-image"

    await provider.submit(video_request(image=png, image_mime_type="image/png"))

    [create] = fake.creates
    [turn] = create.json["input"]
    assert turn["type"] == "user_input"
    assert turn["content"] == [
        {"type": "image", "data": base64.b64encode(png).decode(), "mime_type": "image/png"},
        {"type": "text", "text": "a cat surfing"},
    ]


async def test_negative_prompt_is_appended_to_the_prompt_as_avoid(provider, fake):
    await provider.submit(video_request(negative_prompt="blur, text overlays"))

    [create] = fake.creates
    assert create.json["input"] == "a cat surfing\n\nAvoid: blur, text overlays"
    assert "negative_prompt" not in create.json


# -- success paths -----------------------------------------------------------------------------------


async def test_success_after_queued_and_pending_polls_with_inline_video(provider, fake, tmp_path):
    fake.scenario = Scenario(queued_polls=1, pending_polls=2, delivery="inline")
    ref = ref_for(await provider.submit(video_request()))

    seen = await run_to_end(provider, ref)

    assert [r.state for r in seen] == [
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.RUNNING,
        JobState.SUCCEEDED,
    ]
    video = seen[-1].video
    assert video.data == sample_mp4()
    assert video.url is None
    assert seen[-1].billed_usd is None
    dest = tmp_path / "out.mp4"
    assert await provider.fetch(ref, video, dest, max_bytes=10_000_000) == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()


async def test_polls_get_the_interaction_by_id_on_v1beta(provider, fake):
    ref = ref_for(await provider.submit(video_request()))

    await provider.poll(ref)

    [get] = fake.requests_to("GET", "/interactions/")
    assert get.path == f"/{API_VERSION}/interactions/{ref.job_id}"
    assert get.query == {"stream": "false"}  # google-genai always says so on a poll
    assert get.headers["x-goog-api-key"] == DEFAULT_API_KEY
    assert get.headers["Accept"] == "application/json"


async def test_success_with_uri_delivery_downloads_the_file(provider, fake, tmp_path):
    fake.scenario = Scenario(pending_polls=2, delivery="uri")
    ref, seen = await submit_and_finish(provider, "a cat surfing")

    assert [r.state for r in seen] == [JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]
    video = seen[-1].video
    assert video.data is None
    assert video.url.startswith(FILE_URI_PREFIX)
    assert video.url.endswith(":download?alt=media")
    dest = tmp_path / "out.mp4"
    assert await provider.fetch(ref, video, dest, max_bytes=10_000_000) == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()
    [download] = fake.requests_to("GET", "/files/")
    assert download.path.startswith(f"/{API_VERSION}/files/")
    assert download.path.endswith(":download")
    assert download.query == {"alt": "media"}


async def test_success_logs_the_video_token_count(provider, fake, caplog):
    caplog.set_level(logging.INFO, logger="core.providers.gemini")

    await submit_and_finish(provider, "a cat surfing")

    assert "34752 video tokens" in caplog.text  # 6 s x 5792 tokens/s from the fake's usage block


async def test_resume_polls_a_pre_seeded_job_to_completion_without_creating(provider, fake):
    job_id = fake.seed_job(scenario=Scenario(pending_polls=1, delivery="uri"))

    seen = await run_to_end(provider, ref_for(job_id))

    assert [r.state for r in seen] == [JobState.RUNNING, JobState.SUCCEEDED]
    assert seen[-1].video.url.startswith(FILE_URI_PREFIX)
    assert fake.creates == []


# -- terminal failures reported by polls -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "category", "says"),
    [
        ("failed", ErrorCategory.GENERATION_FAILED, "internal"),
        ("safety", ErrorCategory.SAFETY_BLOCKED, "content policy"),
        ("rate_limited_on_poll", ErrorCategory.PROVIDER_QUOTA_EXCEEDED, "too_many_requests"),
        ("incomplete", ErrorCategory.GENERATION_FAILED, "incomplete"),
        ("budget_exceeded", ErrorCategory.GENERATION_FAILED, "budget_exceeded"),
        ("requires_action", ErrorCategory.GENERATION_FAILED, "requires_action"),
        ("idle_without_video", ErrorCategory.GENERATION_FAILED, "status idle without a video"),
    ],
)
async def test_a_job_that_ends_without_a_video_fails_with_its_category(
    provider, fake, scenario, category, says
):
    _, seen = await submit_and_finish(provider, f"x [fake:{scenario}]")

    error = seen[-1].error
    assert seen[-1].state is JobState.FAILED
    assert (error.category, error.retryable) == (category, False)  # the job is over: never resubmitted
    assert says in error.detail


async def test_idle_with_a_video_is_a_success(provider, fake, tmp_path):
    # google-genai 3.5.0 added `idle` ("the server has completed all processing") in place of requires_action.
    ref, seen = await submit_and_finish(provider, "x [fake:idle]")

    assert [r.state for r in seen] == [JobState.SUCCEEDED]
    assert seen[-1].video.url.startswith(FILE_URI_PREFIX)
    assert await provider.fetch(ref, seen[-1].video, tmp_path / "out.mp4", max_bytes=10_000_000) == len(
        sample_mp4()
    )


@pytest.mark.parametrize(("outcome", "status"), [("idle_without_video", "idle"), ("completed", "completed")])
async def test_settling_without_any_output_is_a_failure_not_a_safety_block(provider, fake, outcome, status):
    # A refusal carries text (the safety scenario); an empty answer (e.g. a task not offered in the user's
    # region) is not the prompt's fault.
    fake.scenario = Scenario(outcome=outcome)

    _, seen = await submit_and_finish(provider, "a cat")

    assert seen[-1].error.category is ErrorCategory.GENERATION_FAILED
    assert f"status {status} without a video or an explanation" in seen[-1].error.detail


async def test_a_running_interaction_is_not_taken_for_idle(provider, fake):
    ref = ref_for(await provider.submit(video_request("x [fake:never_finishes]")))

    assert [(await provider.poll(ref)).state for _ in range(3)] == [JobState.RUNNING] * 3


async def test_too_many_requests_after_an_accepted_create_is_terminal_quota(provider, fake):
    _, seen = await submit_and_finish(provider, "x [fake:rate_limited_on_poll]")

    error = seen[-1].error
    assert seen[-1].state is JobState.FAILED
    assert error.category is ErrorCategory.PROVIDER_QUOTA_EXCEEDED
    assert not error.retryable
    assert error.retry_after == pytest.approx(23.397)
    assert len(fake.creates) == 1


@pytest.mark.parametrize("scenario", ["no_status", "unknown_status"])
async def test_missing_or_unknown_status_keeps_the_job_running(provider, fake, scenario):
    ref = ref_for(await provider.submit(video_request(f"x [fake:{scenario}]")))

    results = [await provider.poll(ref) for _ in range(3)]

    assert [r.state for r in results] == [JobState.RUNNING] * 3


async def test_inline_video_is_decoded_off_the_event_loop(provider, fake, monkeypatch):
    decoded_in: list[int] = []
    decode = results.decode_video

    def spy(data: str) -> bytes:
        decoded_in.append(threading.get_ident())
        return decode(data)

    monkeypatch.setattr(results, "decode_video", spy)
    ref = ref_for(await provider.submit(video_request("x [fake:inline]")))

    [result] = await run_to_end(provider, ref)

    assert result.video.data == sample_mp4()
    assert decoded_in and threading.get_ident() not in decoded_in


async def test_corrupt_inline_base64_is_generation_failed(provider, fake, monkeypatch):
    # The fake only sends valid base64, so corrupt the one block the SDK parses.
    ref = ref_for(await provider.submit(video_request("x [fake:inline]")))
    original = fake._video_block

    def corrupt(job):
        block = original(job)
        block["data"] = "!!!not-base64!!!"
        return block

    monkeypatch.setattr(fake, "_video_block", corrupt)
    [result] = await run_to_end(provider, ref)

    assert result.error.category is ErrorCategory.GENERATION_FAILED
    assert "base64" in result.error.detail


# -- create errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "category", "retryable", "says"),
    [
        # a 429 creates no job, so asking again is safe
        ("rate_limited_on_create", ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True, "too_many_requests"),
        # a 5xx, a garbled or a lost reply: the job may exist, so it is never sent again
        ("server_error_on_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("bad_gateway_on_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("unavailable_on_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("malformed_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "malformed"),
        ("lost_create_reply", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("model_retired", ErrorCategory.MODEL_UNAVAILABLE, False, "no longer available"),
    ],
)
async def test_create_errors_map_to_a_category_and_send_exactly_one_request(
    provider, fake, scenario, category, retryable, says
):
    error = await raised(provider.submit(video_request(f"x [fake:{scenario}]")))

    assert (error.category, error.retryable) == (category, retryable)
    assert says in error.detail
    assert len(fake.creates) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            404,
            "models/{model} is no longer available to new users. Please update your code to use a newer model.",
        ),
        (404, "models/{model} is not found for API version v1beta."),
        (400, "The model {model} is no longer available."),
    ],
)
async def test_a_retired_model_is_model_unavailable_and_tells_the_user_what_to_do(
    provider, fake, status, message
):
    fake.scenario = Scenario(
        create_fault=dataclasses.replace(
            SCENARIOS["model_retired"].create_fault,
            status=status,
            body='{"error": {"code": "not_found", "message": "' + message + '"}}',
        )
    )

    error = await raised(provider.submit(video_request()))

    assert (error.category, error.retryable) == (ErrorCategory.MODEL_UNAVAILABLE, False)
    assert MODEL_ID in error.detail  # the log names the model
    assert "Pick another model" in error.user_message  # and the user learns what to do
    assert "update the catalog" in error.user_message
    assert len(fake.creates) == 1
    assert fake.jobs == {}


async def test_429_on_create_carries_the_message_delay_and_creates_no_job(provider, fake):
    error = await raised(provider.submit(video_request("x [fake:rate_limited_on_create]")))

    assert error.retry_after == pytest.approx(23.397)
    assert fake.jobs == {}


async def test_lost_create_reply_leaves_exactly_one_job(provider, fake):
    await raised(provider.submit(video_request("x [fake:lost_create_reply]")))

    assert len(fake.jobs) == 1


async def test_retry_after_header_on_429_wins_over_the_message(provider, fake):
    fault = dataclasses.replace(
        SCENARIOS["rate_limited_on_create"].create_fault, headers=(("Retry-After", "7"),)
    )
    fake.scenario = Scenario(create_fault=fault)

    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request())

    assert caught.value.retry_after == 7.0


async def test_http_date_retry_after_on_429_is_read_as_a_date(provider, fake):
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)
    fault = dataclasses.replace(
        SCENARIOS["rate_limited_on_create"].create_fault, headers=(("Retry-After", in_two_minutes),)
    )
    fake.scenario = Scenario(create_fault=fault)

    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request())

    assert 110 < caught.value.retry_after <= 120  # not the message's "retry in 23.397s"


async def test_502_html_body_is_reduced_to_text_in_the_detail(provider, fake):
    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request("x [fake:bad_gateway_on_create]"))

    assert "HTTP 502" in caught.value.detail
    assert "<html>" not in caught.value.detail.lower()


async def test_rejected_api_key_is_provider_unavailable_saying_so(fake, fake_time):
    p = make_provider(fake.base_url, fake_time, api_key="wrong-key")
    try:
        with pytest.raises(GenerationError) as caught:
            await p.submit(video_request())
    finally:
        await p.aclose()

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "key was rejected" in caught.value.detail
    assert "wrong-key" not in caught.value.detail
    assert not caught.value.retryable


async def test_bad_request_on_create_is_invalid_request(provider, fake):
    fake.scenario = Scenario(
        create_fault=dataclasses.replace(
            SCENARIOS["rate_limited_on_create"].create_fault,
            status=400,
            body='{"error": {"code": "invalid_request", "message": "duration must be a string like 6s"}}',
        )
    )

    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request())

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert "duration" in caught.value.detail


async def test_slow_create_times_out_as_unknown_outcome_not_retried(impatient, fake):
    with pytest.raises(GenerationError) as caught:
        await impatient.submit(video_request("x [fake:slow_create]"))

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "timed out" in caught.value.detail
    assert not caught.value.retryable
    assert len(fake.creates) == 1


async def test_connection_refused_on_create_is_retryable(fake_time):
    p = make_provider(f"http://127.0.0.1:{free_port()}", fake_time)
    try:
        with pytest.raises(GenerationError) as caught:
            await p.submit(video_request())
    finally:
        await p.aclose()

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert caught.value.retryable
    assert "nothing was sent" in caught.value.detail


# -- poll errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "category"),
    [
        ("http_429_on_poll", ErrorCategory.PROVIDER_QUOTA_EXCEEDED),
        ("server_error_on_poll", ErrorCategory.PROVIDER_UNAVAILABLE),
        ("bad_gateway_on_poll", ErrorCategory.PROVIDER_UNAVAILABLE),
        ("unavailable_on_poll", ErrorCategory.PROVIDER_UNAVAILABLE),
        ("malformed_poll", ErrorCategory.PROVIDER_UNAVAILABLE),
    ],
)
async def test_a_failed_poll_is_retryable_and_the_job_continues(provider, fake, scenario, category):
    ref = ref_for(await provider.submit(video_request(f"x [fake:{scenario}]")))

    error = await raised(provider.poll(ref))

    assert (error.category, error.retryable) == (category, True)
    assert (await provider.poll(ref)).state is JobState.SUCCEEDED
    assert len(fake.creates) == 1


async def test_slow_poll_times_out_and_is_retryable(impatient, fake):
    job_id = fake.seed_job(scenario="slow_poll")

    with pytest.raises(GenerationError) as caught:
        await impatient.poll(ref_for(job_id))

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "timed out" in caught.value.detail
    assert caught.value.retryable


async def test_unknown_job_id_is_unknown_and_not_retryable(provider, fake):
    with pytest.raises(GenerationError) as caught:
        await provider.poll(ref_for("v1_doesnotexist"))

    assert caught.value.category is ErrorCategory.UNKNOWN
    assert "no longer knows job v1_doesnotexist" in caught.value.detail
    assert not caught.value.retryable


# -- cancel ------------------------------------------------------------------------------------------


async def test_cancel_posts_cancel_and_the_next_poll_reports_cancelled(provider, fake):
    ref = ref_for(await provider.submit(video_request("x [fake:never_finishes]")))

    assert await provider.cancel(ref) is True
    result = await provider.poll(ref)

    [cancel] = fake.requests_to("POST", "/cancel")
    assert cancel.path == f"/{API_VERSION}/interactions/{ref.job_id}/cancel"
    assert result.state is JobState.FAILED
    assert result.error.category is ErrorCategory.CANCELLED


async def test_cancel_gives_up_within_its_timeout_when_the_api_stalls(fake, fake_time):
    # A patient request timeout, so only the cancel's own bound can end the wait.
    p = make_provider(fake.base_url, fake_time, request_timeout=60.0, cancel_timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        ref = ref_for(await p.submit(video_request()))
        fake.jobs[ref.job_id].scenario = Scenario(delays={"cancel": 30.0})
        started = loop.time()
        with pytest.raises(GenerationError) as caught:
            await p.cancel(ref)
    finally:
        await p.aclose()

    assert loop.time() - started < 3
    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert caught.value.retryable


async def test_cancel_of_an_unknown_job_is_unknown(provider, fake):
    with pytest.raises(GenerationError) as caught:
        await provider.cancel(ref_for("v1_gone"))

    assert caught.value.category is ErrorCategory.UNKNOWN


# -- fetch -------------------------------------------------------------------------------------------


async def test_download_404s_are_retried_with_the_injected_sleep_then_succeed(
    provider, fake, fake_time, tmp_path
):
    ref, seen = await submit_and_finish(provider, "x [fake:download_404]")
    dest = tmp_path / "out.mp4"

    size = await provider.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000)

    assert size == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()
    assert fake_time.sleeps == [5.0, 5.0]
    assert len(fake.requests_to("GET", "/files/")) == 3


async def test_download_still_404_after_the_retry_window_is_final(provider, fake, fake_time, tmp_path):
    fake.scenario = Scenario(delivery="uri", download_404s=10_000)
    ref, seen = await submit_and_finish(provider, "a cat")
    dest = tmp_path / "out.mp4"

    with pytest.raises(GenerationError) as caught:
        await provider.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000)

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert not caught.value.retryable
    assert "still missing after 120 s" in caught.value.detail
    assert sum(fake_time.sleeps) == pytest.approx(120.0)
    assert len(fake.requests_to("GET", "/files/")) == 25  # t = 0, 5, ..., 120 s
    assert not dest.exists()


async def test_a_missing_file_fails_after_one_window_not_one_per_caller_attempt(
    provider, fake, fake_time, tmp_path
):
    fake.scenario = Scenario(delivery="uri", download_404s=10_000)
    ref, seen = await submit_and_finish(provider, "a cat")
    calls = 0

    for _ in range(CALLER_FETCH_ATTEMPTS):  # what the job runner does: fetch again while retryable
        calls += 1
        try:
            await provider.fetch(ref, seen[-1].video, tmp_path / "out.mp4", max_bytes=10_000_000)
        except GenerationError as exc:
            if not exc.retryable:
                break

    assert calls == 1
    assert sum(fake_time.sleeps) == pytest.approx(120.0)  # was 4 x 120 s: ~8 minutes for a missing file


async def test_downloaded_file_is_opened_written_and_closed_off_the_event_loop(
    provider, fake, tmp_path, spy_on_writes
):
    ref, seen = await submit_and_finish(provider, "x [fake:uri]")
    dest = tmp_path / "out.mp4"
    spies = spy_on_writes(dest)

    assert await provider.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000) == len(sample_mp4())

    [spy] = spies
    assert spy.threads
    assert not spy.on_the_loop
    assert dest.read_bytes() == sample_mp4()


@pytest.mark.parametrize(
    ("scenario", "category", "retryable", "says"),
    [
        ("truncated_download", ErrorCategory.PROVIDER_UNAVAILABLE, True, "truncated"),
        ("garbage_video", ErrorCategory.GENERATION_FAILED, False, "not an mp4"),
    ],
)
async def test_a_bad_download_maps_to_a_category_and_leaves_no_file(
    provider, fake, tmp_path, scenario, category, retryable, says
):
    ref, seen = await submit_and_finish(provider, f"x [fake:{scenario}]")
    dest = tmp_path / "out.mp4"

    error = await raised(provider.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000))

    assert (error.category, error.retryable) == (category, retryable)
    assert says in error.detail
    assert not dest.exists()


async def test_slow_download_times_out_and_is_retryable(impatient, fake, tmp_path):
    ref, seen = await submit_and_finish(impatient, "x [fake:slow_download]")
    dest = tmp_path / "out.mp4"

    with pytest.raises(GenerationError) as caught:
        await impatient.fetch(ref, seen[-1].video, dest, max_bytes=10_000_000)

    assert caught.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert caught.value.retryable
    assert not dest.exists()


@pytest.mark.parametrize("delivery", ["inline", "uri"])
async def test_max_bytes_is_enforced_and_nothing_is_left_behind(provider, fake, tmp_path, delivery):
    ref, seen = await submit_and_finish(provider, f"x [fake:{delivery}]")
    dest = tmp_path / "out.mp4"
    limit = len(sample_mp4()) - 1

    with pytest.raises(GenerationError) as caught:
        await provider.fetch(ref, seen[-1].video, dest, max_bytes=limit)

    assert caught.value.category is ErrorCategory.GENERATION_FAILED
    assert f"video larger than {limit} bytes" in caught.value.detail
    assert not dest.exists()


async def test_inline_fetch_writes_exactly_the_given_bytes(provider, tmp_path):
    dest = tmp_path / "out.mp4"

    size = await provider.fetch(ref_for("v1_x"), VideoSource(data=sample_mp4()), dest, max_bytes=10_000_000)

    assert size == dest.stat().st_size == len(sample_mp4())


# -- the fake itself ---------------------------------------------------------------------------------


async def test_fake_default_scenario_applies_when_the_prompt_has_no_directive(provider, fake):
    fake.scenario = "failed"

    _, seen = await submit_and_finish(provider, "no directive here")

    assert seen[-1].error.category is ErrorCategory.GENERATION_FAILED


async def test_fake_refuses_a_directive_naming_no_scenario(provider, fake):
    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request("x [fake:no_such_scenario]"))

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert "unknown fake scenario 'no_such_scenario'" in caught.value.detail
    assert fake.jobs == {}


async def test_fake_serves_standalone_and_prints_its_base_url():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.gemini_api",
        "--port",
        "0",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
    finally:
        proc.terminate()
        await proc.wait()

    assert line.decode().strip().startswith("http://127.0.0.1:")
