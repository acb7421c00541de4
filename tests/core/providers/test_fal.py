"""FalProvider against the fake fal queue, over real aiohttp on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.utils
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from core.catalog import ModelSpec, load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.fal import FalProvider, build_arguments, format_duration
from tests.fakes.fal_queue import SCENARIOS, FakeFalQueue, Fault, Scenario
from tests.fakes.sample_video import sample_mp4

KEY = "test-fal-key"
KLING = "fal-ai/kling-video/v3/standard/text-to-video"
CATALOG = load_catalog()
PROJECT_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def fake():
    async with FakeFalQueue(key=KEY) as server:
        yield server


@pytest.fixture
async def provider(fake: FakeFalQueue):
    p = FalProvider(KEY, fake.base_url, poll_interval=0, request_timeout=0.5)
    yield p
    await p.aclose()


def make_request(model_name: str = "fal-veo-3.1", prompt: str = "a cat surfing", **changes) -> VideoRequest:
    model = CATALOG.get(model_name)
    assert model is not None
    fields = {
        "prompt": prompt,
        "model": model,
        "duration": model.default_duration,
        "aspect_ratio": model.default_aspect_ratio,
        "resolution": model.default_resolution,
    }
    fields.update(changes)
    return VideoRequest(**fields)


def ref_for(job_id: str, model_name: str = "fal-veo-3.1") -> JobRef:
    model = CATALOG.get(model_name)
    assert model is not None
    return JobRef(job_id, model.provider_model_id)


async def poll_to_end(provider: FalProvider, ref: JobRef, limit: int = 30) -> list[PollResult]:
    results = []
    for _ in range(limit):
        result = await provider.poll(ref)
        results.append(result)
        if result.state in (JobState.SUCCEEDED, JobState.FAILED):
            return results
    raise AssertionError(f"job {ref.job_id} did not finish in {limit} polls")


async def submit_and_finish(provider: FalProvider, fake: FakeFalQueue, scenario: Scenario) -> PollResult:
    fake.scenario = scenario
    ref = ref_for(await provider.submit(make_request()))
    return (await poll_to_end(provider, ref))[-1]


async def raised(coro) -> GenerationError:
    with pytest.raises(GenerationError) as info:
        await coro
    return info.value


# -- arguments and submit ----------------------------------------------------------------------------


async def test_veo_arguments_use_seconds_suffix_resolution_and_audio(provider, fake):
    request = make_request(
        "fal-veo-3.1", duration=8, resolution="1080p", aspect_ratio="9:16", negative_prompt="blurry", seed=7
    )
    await provider.submit(request)
    [submit] = fake.requests_to("submit")
    assert submit.path == "/fal-ai/veo3.1"
    assert submit.json == {
        "prompt": "a cat surfing",
        "aspect_ratio": "9:16",
        "duration": "8s",
        "resolution": "1080p",
        "generate_audio": True,
        "negative_prompt": "blurry",
        "seed": 7,
    }


async def test_veo_fast_submits_to_its_sub_path(provider, fake):
    await provider.submit(make_request("fal-veo-3.1-fast", duration=4))
    [submit] = fake.requests_to("submit")
    assert submit.path == "/fal-ai/veo3.1/fast"
    assert submit.json["duration"] == "4s"


async def test_kling_arguments_use_plain_string_duration_and_no_resolution(provider, fake):
    request = make_request("fal-kling-3", aspect_ratio="1:1", negative_prompt="blur", seed=7)
    await provider.submit(request)
    [submit] = fake.requests_to("submit")
    assert submit.path == f"/{KLING}"
    assert submit.json == {
        "prompt": "a cat surfing",
        "aspect_ratio": "1:1",
        "duration": "5",
        "generate_audio": True,
        "negative_prompt": "blur",
    }


@pytest.mark.parametrize(
    ("fmt", "expected"), [("seconds_suffix", "6s"), ("string", "6"), ("integer", 6)], ids=str
)
def test_duration_formats(fmt, expected):
    assert format_duration(6, fmt) == expected


def test_integer_duration_model_sends_a_number():
    model = dataclasses.replace(CATALOG.get("fal-veo-3.1"), duration_format="integer", audio="always")
    args = build_arguments(make_request(model=model, duration=6))
    assert args["duration"] == 6
    assert "generate_audio" not in args


async def test_image_request_goes_to_image_endpoint_as_data_uri(provider, fake):
    image = b"\x89PNG\r\n\x1a\nfake-image"
    request = make_request(image=image, image_mime_type="image/png")
    rid = await provider.submit(request)
    [submit] = fake.requests_to("submit")
    assert submit.path == "/fal-ai/veo3.1/image-to-video"
    assert submit.json["image_url"] == "data:image/png;base64," + base64.b64encode(image).decode()
    result = (await poll_to_end(provider, ref_for(rid)))[-1]
    assert result.state is JobState.SUCCEEDED
    assert fake.requests_to("status")[0].path == f"/fal-ai/veo3.1/requests/{rid}/status"


async def test_image_on_model_without_image_endpoint_is_invalid_and_sends_nothing(provider, fake):
    # Independent of whether the catalog's entries have an image endpoint today.
    model = dataclasses.replace(CATALOG.get("fal-kling-3"), image_model_id=None)
    error = await raised(provider.submit(make_request(model=model, image=b"x", image_mime_type="image/png")))
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert fake.requests == []


async def test_submit_authenticates_with_key_header_and_allows_fal_retries(provider, fake):
    await provider.submit(make_request())
    [submit] = fake.requests_to("submit")
    assert submit.headers["Authorization"] == f"Key {KEY}"
    assert "x-fal-no-retry" not in {name.lower() for name in submit.headers}


async def test_submit_returns_the_request_id(provider, fake):
    rid = await provider.submit(make_request())
    assert list(fake.jobs) == [rid]


async def test_prompt_directive_picks_the_scenario(provider, fake):
    rid = await provider.submit(make_request(prompt="a cat [fake:safety]"))
    result = (await poll_to_end(provider, ref_for(rid)))[-1]
    assert result.error.category is ErrorCategory.SAFETY_BLOCKED


# -- submit errors -------------------------------------------------------------------------------------


async def test_submit_429_carries_retry_after_seconds_and_creates_no_job(provider, fake):
    fake.scenario = SCENARIOS["rate_limit_submit"]
    error = await raised(provider.submit(make_request()))
    assert error.retry_after == 7.0
    assert fake.jobs == {}


async def test_submit_429_with_an_http_date_retry_after_waits_until_that_date(provider, fake):
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)
    fake.scenario = Scenario(
        faults=(
            Fault("submit", 429, {"detail": "Rate limit exceeded"}, headers={"Retry-After": in_two_minutes}),
        )
    )
    error = await raised(provider.submit(make_request()))
    assert error.category is ErrorCategory.PROVIDER_QUOTA_EXCEEDED
    assert 110 < error.retry_after <= 120


@pytest.mark.parametrize(
    ("scenario", "category", "retryable", "says"),
    [
        ("rate_limit_submit", ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True, "no job was created"),
        ("submit_503", ErrorCategory.PROVIDER_UNAVAILABLE, True, "runner_scheduling_failure"),
        # a 5xx, a garbled, lost or late reply: the job may exist, so it is never sent again
        ("submit_500", ErrorCategory.PROVIDER_UNAVAILABLE, False, "outcome unknown, NOT resubmitted"),
        ("submit_502", ErrorCategory.PROVIDER_UNAVAILABLE, False, "outcome unknown, NOT resubmitted"),
        ("malformed_submit", ErrorCategory.PROVIDER_UNAVAILABLE, False, "outcome unknown, NOT resubmitted"),
        ("lost_submit", ErrorCategory.PROVIDER_UNAVAILABLE, False, "outcome unknown, NOT resubmitted"),
        ("slow_submit", ErrorCategory.PROVIDER_UNAVAILABLE, False, "outcome unknown, NOT resubmitted"),
        ("model_retired", ErrorCategory.MODEL_UNAVAILABLE, False, "fal-ai/veo3.1"),
        ("safety_submit", ErrorCategory.SAFETY_BLOCKED, False, "content checker"),
        (
            "invalid_submit",
            ErrorCategory.INVALID_REQUEST,
            False,
            "duration: Input should be '4s', '6s' or '8s'",
        ),
    ],
)
async def test_submit_errors_map_to_a_category_and_send_exactly_one_request(
    provider, fake, scenario, category, retryable, says
):
    fake.scenario = SCENARIOS[scenario]
    error = await raised(provider.submit(make_request()))
    assert (error.category, error.retryable) == (category, retryable)
    assert says in error.detail
    assert len(fake.requests_to("submit")) == 1


async def test_lost_submit_reply_leaves_exactly_one_job(provider, fake):
    fake.scenario = SCENARIOS["lost_submit"]
    await raised(provider.submit(make_request()))
    assert len(fake.jobs) == 1


async def test_submit_with_bad_key_says_key_rejected(fake):
    provider = FalProvider("wrong-key", fake.base_url, request_timeout=0.5)
    try:
        error = await raised(provider.submit(make_request()))
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, False)
    assert "key" in error.detail
    assert "wrong-key" not in error.detail


async def test_submit_to_closed_port_is_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = FalProvider(KEY, f"http://127.0.0.1:{port}", request_timeout=0.5)
    try:
        error = await raised(provider.submit(make_request()))
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)


# -- poll ----------------------------------------------------------------------------------------------


async def test_queue_position_counts_down_then_running_then_success(provider, fake):
    fake.scenario = SCENARIOS["queued"]
    rid = await provider.submit(make_request())
    results = await poll_to_end(provider, ref_for(rid))
    assert [(r.state, r.queue_position) for r in results] == [
        (JobState.QUEUED, 2),
        (JobState.QUEUED, 1),
        (JobState.QUEUED, 0),
        (JobState.RUNNING, None),
        (JobState.RUNNING, None),
        (JobState.SUCCEEDED, None),
    ]
    video = results[-1].video
    assert video == VideoSource(url=f"{fake.base_url}/files/{rid}.mp4", size_hint=len(sample_mp4()))


async def test_status_is_requested_with_logs_and_key(provider, fake):
    rid = await provider.submit(make_request())
    await poll_to_end(provider, ref_for(rid))
    status, result = fake.requests_to("status")[0], fake.requests_to("result")[0]
    assert status.query == {"logs": "1"}
    assert status.headers["Authorization"] == result.headers["Authorization"] == f"Key {KEY}"


async def test_log_percentages_become_progress(provider, fake):
    fake.scenario = SCENARIOS["progress"]
    rid = await provider.submit(make_request())
    results = await poll_to_end(provider, ref_for(rid))
    assert [r.progress for r in results if r.state is JobState.RUNNING] == [0.25, 0.5, 0.75]


async def test_logs_without_percent_give_no_progress(provider, fake):
    fake.scenario = Scenario(running_polls=1)
    rid = await provider.submit(make_request())
    result = await provider.poll(ref_for(rid))
    assert (result.state, result.progress) == (JobState.RUNNING, None)


@pytest.mark.parametrize(
    ("scenario", "category", "says"),
    [
        (SCENARIOS["failed"], ErrorCategory.GENERATION_FAILED, "runner_disconnected"),
        (
            Scenario(error="Prompt flagged", error_type="content_policy_violation"),
            ErrorCategory.SAFETY_BLOCKED,
            "Prompt flagged",
        ),
        (SCENARIOS["result_500"], ErrorCategory.GENERATION_FAILED, "Video generation failed: upstream error"),
        (SCENARIOS["safety"], ErrorCategory.SAFETY_BLOCKED, "content checker"),
    ],
    ids=["completed-with-error", "completed-with-policy-error", "result-500", "result-422-policy"],
)
async def test_a_job_that_ends_without_a_video_fails_with_its_category(
    provider, fake, scenario, category, says
):
    result = await submit_and_finish(provider, fake, scenario)
    assert result.state is JobState.FAILED
    assert (result.error.category, result.error.retryable) == (category, False)
    assert says in result.error.detail


async def test_completed_with_error_does_not_fetch_the_result(provider, fake):
    await submit_and_finish(provider, fake, SCENARIOS["failed"])
    assert fake.requests_to("result") == []


async def test_result_nginx_502_is_retried_not_failed(provider, fake):
    fake.scenario = Scenario(
        faults=(Fault("result", times=1, status=502, body="nginx", content_type="text/html"),)
    )
    ref = ref_for(await provider.submit(make_request()))
    error = await raised(provider.poll(ref))
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert (await provider.poll(ref)).state is JobState.SUCCEEDED


async def test_unknown_request_id_is_unknown(provider, fake):
    result = await provider.poll(ref_for("00000000-0000-0000-0000-000000000000"))
    assert result.state is JobState.FAILED
    assert result.error.category is ErrorCategory.UNKNOWN
    assert "no longer knows job 00000000-0000-0000-0000-000000000000" in result.error.detail


async def test_status_429_raises_retryable_quota_then_polling_continues(provider, fake):
    fake.scenario = SCENARIOS["rate_limit_status"]
    ref = ref_for(await provider.submit(make_request()))
    for _ in range(2):
        error = await raised(provider.poll(ref))
        assert (error.category, error.retryable, error.retry_after) == (
            ErrorCategory.PROVIDER_QUOTA_EXCEEDED,
            True,
            7.0,
        )
    assert (await provider.poll(ref)).state is JobState.SUCCEEDED


@pytest.mark.parametrize(
    "scenario", ["status_503", "status_502", "malformed_status", "missing_logs", "missing_queue_position"]
)
async def test_a_failed_status_call_is_retryable_and_the_job_continues(provider, fake, scenario):
    fake.scenario = SCENARIOS[scenario]
    ref = ref_for(await provider.submit(make_request()))
    error = await raised(provider.poll(ref))
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert (await poll_to_end(provider, ref))[-1].state is JobState.SUCCEEDED


async def test_slow_status_raises_retryable_timeout(provider, fake):
    fake.scenario = SCENARIOS["slow_status"]
    ref = ref_for(await provider.submit(make_request()))
    started = asyncio.get_running_loop().time()
    error = await raised(provider.poll(ref))
    assert asyncio.get_running_loop().time() - started < 2
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)


async def test_poll_with_bad_key_is_not_retryable(fake):
    rid = fake.seed_request("fal-ai/veo3.1")
    provider = FalProvider("wrong-key", fake.base_url, request_timeout=0.5)
    try:
        error = await raised(provider.poll(ref_for(rid)))
    finally:
        await provider.aclose()
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, False)
    assert "key" in error.detail


async def test_resume_by_id_rebuilds_owner_app_urls_for_deep_endpoint(fake):
    rid = fake.seed_request(KLING, Scenario(queued_polls=1))
    provider = FalProvider(KEY, fake.base_url, poll_interval=0, request_timeout=0.5)  # a fresh process
    try:
        results = await poll_to_end(provider, JobRef(rid, KLING))
    finally:
        await provider.aclose()
    assert [r.state for r in results] == [JobState.QUEUED, JobState.SUCCEEDED]
    assert {r.path for r in fake.requests_to("status")} == {f"/fal-ai/kling-video/requests/{rid}/status"}
    assert [r.path for r in fake.requests_to("result")] == [f"/fal-ai/kling-video/requests/{rid}"]
    assert fake.requests_to("submit") == []


async def test_submit_reply_urls_match_the_rebuilt_ones(provider, fake, caplog):
    caplog.set_level("WARNING", logger="core.providers.fal")
    await provider.submit(make_request("fal-veo-3.1-fast"))
    assert caplog.records == []


# -- fetch ---------------------------------------------------------------------------------------------


async def finished_video(
    provider: FalProvider, fake: FakeFalQueue, scenario: Scenario
) -> tuple[JobRef, VideoSource]:
    fake.scenario = scenario
    ref = ref_for(await provider.submit(make_request()))
    result = (await poll_to_end(provider, ref))[-1]
    assert result.state is JobState.SUCCEEDED
    return ref, result.video


async def test_fetch_streams_the_mp4_to_disk_without_the_key(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario())
    dest = tmp_path / "out.mp4"
    size = await provider.fetch(ref, video, dest, max_bytes=10_000_000)
    assert size == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()
    [download] = fake.requests_to("file")
    assert "Authorization" not in download.headers


@pytest.mark.parametrize(
    ("scenario", "category", "retryable", "says"),
    [
        (SCENARIOS["file_404"], ErrorCategory.PROVIDER_UNAVAILABLE, True, "HTTP 404"),
        (SCENARIOS["file_truncated"], ErrorCategory.PROVIDER_UNAVAILABLE, True, "truncated"),
        (SCENARIOS["slow_file"], ErrorCategory.PROVIDER_UNAVAILABLE, True, "TimeoutError"),
        (Scenario(video=b"<html>this is not a video</html>"), ErrorCategory.GENERATION_FAILED, False, "ftyp"),
    ],
    ids=["404", "truncated", "stalled", "not-mp4"],
)
async def test_a_bad_download_maps_to_a_category_and_leaves_no_file(
    provider, fake, tmp_path: Path, scenario, category, retryable, says
):
    ref, video = await finished_video(provider, fake, scenario)
    dest = tmp_path / "out.mp4"
    error = await raised(provider.fetch(ref, video, dest, max_bytes=10_000_000))
    assert (error.category, error.retryable) == (category, retryable)
    assert says in error.detail
    assert not dest.exists()


async def test_a_file_that_404s_at_first_is_fetched_once_it_appears(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, SCENARIOS["file_404"])
    dest = tmp_path / "out.mp4"
    for _ in range(2):
        await raised(provider.fetch(ref, video, dest, max_bytes=10_000_000))
    assert await provider.fetch(ref, video, dest, max_bytes=10_000_000) == len(sample_mp4())


async def test_size_hint_over_max_bytes_fails_before_downloading(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario())
    error = await raised(provider.fetch(ref, video, tmp_path / "out.mp4", max_bytes=100))
    assert error.category is ErrorCategory.GENERATION_FAILED
    assert error.detail == "video larger than 100 bytes"
    assert fake.requests_to("file") == []


async def test_content_length_over_max_bytes_fails(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario())
    dest = tmp_path / "out.mp4"
    error = await raised(provider.fetch(ref, dataclasses.replace(video, size_hint=None), dest, max_bytes=100))
    assert error.detail == "video larger than 100 bytes"
    assert not dest.exists()


async def test_max_bytes_is_enforced_while_streaming(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario(chunked_file=True))
    dest = tmp_path / "out.mp4"
    error = await raised(provider.fetch(ref, dataclasses.replace(video, size_hint=None), dest, max_bytes=100))
    assert (error.category, error.detail) == (ErrorCategory.GENERATION_FAILED, "video larger than 100 bytes")
    assert not dest.exists()


async def test_downloaded_chunks_are_written_off_the_event_loop(
    provider, fake, tmp_path: Path, spy_on_writes
):
    ref, video = await finished_video(provider, fake, Scenario(chunked_file=True))
    dest = tmp_path / "out.mp4"
    spies = spy_on_writes(dest)
    assert await provider.fetch(ref, video, dest, max_bytes=10_000_000) == len(sample_mp4())
    [spy] = spies
    assert spy.threads
    assert not spy.on_the_loop
    assert dest.read_bytes() == sample_mp4()


async def test_chunked_download_without_content_length_succeeds(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario(chunked_file=True))
    assert await provider.fetch(ref, video, tmp_path / "out.mp4", max_bytes=10_000_000) == len(sample_mp4())


# -- cancel and lifecycle ------------------------------------------------------------------------------


async def test_cancel_while_queued_is_accepted_and_job_ends_cancelled(provider, fake):
    fake.scenario = SCENARIOS["long_queue"]
    ref = ref_for(await provider.submit(make_request()))
    assert (await provider.poll(ref)).state is JobState.QUEUED
    assert await provider.cancel(ref) is True
    [cancel] = fake.requests_to("cancel")
    assert (cancel.method, cancel.path) == ("PUT", f"/fal-ai/veo3.1/requests/{ref.job_id}/cancel")
    assert cancel.headers["Authorization"] == f"Key {KEY}"
    result = await provider.poll(ref)
    assert (result.state, result.error.category) == (JobState.FAILED, ErrorCategory.CANCELLED)


async def test_cancel_after_completion_returns_false(provider, fake):
    ref = ref_for(await provider.submit(make_request()))
    await poll_to_end(provider, ref)
    assert await provider.cancel(ref) is False


async def test_cancel_of_unknown_request_returns_false(provider, fake):
    assert await provider.cancel(ref_for("no-such-request")) is False


async def test_cancel_gives_up_within_its_timeout_when_fal_stalls(fake):
    fake.scenario = Scenario(queued_polls=10, faults=(Fault("cancel", delay=30.0),))
    # A patient request timeout, so only the cancel's own bound can end the wait.
    provider = FalProvider(KEY, fake.base_url, request_timeout=60.0, cancel_timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        ref = ref_for(await provider.submit(make_request()))
        started = loop.time()
        error = await raised(provider.cancel(ref))
    finally:
        await provider.aclose()
    assert loop.time() - started < 3
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert f"fal cancel of {ref.job_id}" in error.detail


def test_constructor_needs_no_event_loop():
    provider = FalProvider(KEY)
    assert (provider.name, provider.supports_cancel, provider.poll_interval) == ("fal", True, 3.0)
    assert KEY not in repr(provider)


async def test_aclose_closes_the_session(provider, fake):
    await provider.submit(make_request())
    session = provider._session
    await provider.aclose()
    assert session is not None and session.closed
    await provider.aclose()  # idempotent


async def test_fake_runs_standalone_and_prints_its_url():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.fal_queue",
        "--port",
        "0",
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base_url}/a/b/requests/x/status") as resp,
        ):
            assert resp.status == 401
    finally:
        proc.terminate()
        await proc.wait()


def test_catalog_models_used_here_are_fal():
    for name in ("fal-veo-3.1", "fal-veo-3.1-fast", "fal-kling-3"):
        spec: ModelSpec | None = CATALOG.get(name)
        assert spec is not None and spec.provider == "fal"


async def test_download_shorter_than_file_size_is_truncated(provider, fake, tmp_path: Path):
    ref, video = await finished_video(provider, fake, Scenario(chunked_file=True))
    dest = tmp_path / "out.mp4"
    longer = dataclasses.replace(video, size_hint=video.size_hint + 10)
    error = await raised(provider.fetch(ref, longer, dest, max_bytes=10_000_000))
    assert (error.category, error.retryable) == (ErrorCategory.PROVIDER_UNAVAILABLE, True)
    assert "truncated" in error.detail
    assert not dest.exists()
