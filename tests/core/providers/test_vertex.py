"""VertexProvider (Veo on Vertex AI) with the real google-genai SDK against the local fake."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.genai import types
from google.oauth2.credentials import Credentials

from core.catalog import ModelSpec, load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.vertex import NO_CREDENTIALS, VertexProvider
from tests.fakes.sample_video import sample_mp4
from tests.fakes.vertex_api import (
    SCENARIOS,
    FakeVertexApi,
    Reply,
    Scenario,
    dropped,
    google_error,
    malformed,
)

PROJECT, LOCATION = "test-project", "europe-west4"
SPEC: ModelSpec = load_catalog().models["veo-3.1-fast"]
MODEL_ID = SPEC.provider_model_id
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVertexApi]:
    async with FakeVertexApi() as server:
        yield server


def project_provider(fake: FakeVertexApi, **kwargs: object) -> VertexProvider:
    options: dict = {
        "project": PROJECT,
        "location": LOCATION,
        "credentials": Credentials(token=fake.token),
        "base_url": fake.base_url,
        "poll_interval": 0,
        "request_timeout": 5,
    }
    return VertexProvider(**{**options, **kwargs})


def express_provider(fake: FakeVertexApi, **kwargs: object) -> VertexProvider:
    options: dict = {
        "api_key": fake.api_key,
        "base_url": fake.base_url,
        "poll_interval": 0,
        "request_timeout": 5,
    }
    return VertexProvider(**{**options, **kwargs})


@pytest.fixture
async def provider(fake: FakeVertexApi) -> AsyncIterator[VertexProvider]:
    p = project_provider(fake)
    yield p
    await p.aclose()


@pytest.fixture
async def express(fake: FakeVertexApi) -> AsyncIterator[VertexProvider]:
    p = express_provider(fake)
    yield p
    await p.aclose()


def request(prompt: str = "a cat surfing a wave", **overrides: object) -> VideoRequest:
    values: dict = {
        "prompt": prompt,
        "model": SPEC,
        "duration": 6,
        "aspect_ratio": "9:16",
        "resolution": "720p",
    }
    return VideoRequest(**{**values, **overrides})


def ref(job_id: str) -> JobRef:
    return JobRef(job_id=job_id, provider_model_id=MODEL_ID)


async def poll_until_done(provider: VertexProvider, job: JobRef, limit: int = 10) -> list[PollResult]:
    results = []
    for _ in range(limit):
        results.append(await provider.poll(job))
        if results[-1].state in (JobState.SUCCEEDED, JobState.FAILED):
            return results
    raise AssertionError(f"job still running after {limit} polls")


async def submit_error(provider: VertexProvider, req: VideoRequest | None = None) -> GenerationError:
    with pytest.raises(GenerationError) as info:
        await provider.submit(req or request())
    return info.value


async def poll_error(provider: VertexProvider, job: JobRef) -> GenerationError:
    with pytest.raises(GenerationError) as info:
        await provider.poll(job)
    return info.value


async def final_error(provider: VertexProvider, fake: FakeVertexApi, scenario: Scenario) -> GenerationError:
    fake.scenario = scenario
    results = await poll_until_done(provider, ref(await provider.submit(request())))
    assert results[-1].state is JobState.FAILED
    assert results[-1].error is not None
    return results[-1].error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- wire format: paths, auth, bodies ---------------------------------------------------------------------


async def test_project_mode_posts_predict_long_running_with_bearer_token(provider, fake):
    await provider.submit(request())

    [sent] = fake.requests
    assert sent.method == "POST"
    assert sent.path == (
        f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{MODEL_ID}:predictLongRunning"
    )
    assert sent.headers["Authorization"] == f"Bearer {fake.token}"
    assert "x-goog-api-key" not in sent.headers


async def test_project_mode_returns_the_full_operation_name(provider):
    job_id = await provider.submit(request())

    prefix = f"projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{MODEL_ID}/operations/"
    assert job_id.startswith(prefix)
    assert len(job_id) > len(prefix)


async def test_project_mode_polls_fetch_predict_operation_with_the_operation_name(provider, fake):
    job_id = await provider.submit(request())

    await provider.poll(ref(job_id))

    sent = fake.requests[-1]
    assert sent.method == "POST"
    assert sent.path == (
        f"/v1beta1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{MODEL_ID}"
        ":fetchPredictOperation"
    )
    assert sent.json == {"operationName": job_id}
    assert sent.headers["Authorization"] == f"Bearer {fake.token}"


async def test_location_defaults_to_us_central1(fake):
    p = project_provider(fake, location=None)
    try:
        job_id = await p.submit(request())
    finally:
        await p.aclose()

    assert job_id.startswith(f"projects/{PROJECT}/locations/us-central1/")
    assert fake.requests[0].path.startswith(f"/v1beta1/projects/{PROJECT}/locations/us-central1/")


async def test_express_mode_uses_publisher_paths_and_the_api_key_header(express, fake):
    job_id = await express.submit(request())
    await express.poll(ref(job_id))

    create, poll = fake.requests
    assert create.path == f"/v1beta1/publishers/google/models/{MODEL_ID}:predictLongRunning"
    assert poll.path == f"/v1beta1/publishers/google/models/{MODEL_ID}:fetchPredictOperation"
    for sent in (create, poll):
        assert sent.headers["x-goog-api-key"] == fake.api_key
        assert "Authorization" not in sent.headers


async def test_submit_sends_prompt_and_every_parameter(provider, fake):
    await provider.submit(request("a fox in snow", negative_prompt="blurry", seed=7))

    body = fake.requests[0].json
    assert body["instances"] == [{"prompt": "a fox in snow"}]
    assert body["parameters"] == {
        "sampleCount": 1,
        "durationSeconds": 6,
        "aspectRatio": "9:16",
        "resolution": "720p",
        "generateAudio": True,
        "negativePrompt": "blurry",
        "seed": 7,
    }


async def test_submit_omits_unset_options_and_audio_for_silent_models(provider, fake):
    silent = dataclasses.replace(SPEC, audio="none")

    await provider.submit(request(model=silent, duration=8, aspect_ratio="16:9", resolution="1080p"))

    assert fake.requests[0].json["parameters"] == {
        "sampleCount": 1,
        "durationSeconds": 8,
        "aspectRatio": "16:9",
        "resolution": "1080p",
    }


async def test_submit_sends_the_first_frame_image_inline(provider, fake):
    await provider.submit(request(image=PNG, image_mime_type="image/png"))

    instance = fake.requests[0].json["instances"][0]
    assert instance["prompt"] == "a cat surfing a wave"
    assert instance["image"]["mimeType"] == "image/png"
    assert instance["image"]["bytesBase64Encoded"] == "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA"


# ---- outcomes ---------------------------------------------------------------------------------------------


async def test_pending_operation_polls_as_running_without_progress(provider, fake):
    fake.scenario = Scenario(pending_polls=2)
    job = ref(await provider.submit(request()))

    results = await poll_until_done(provider, job)

    assert [r.state for r in results] == [JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]
    assert all(r.progress is None and r.queue_position is None for r in results[:2])


async def test_finished_operation_returns_the_inline_video_bytes(provider):
    [result] = await poll_until_done(provider, ref(await provider.submit(request())))

    assert result.state is JobState.SUCCEEDED
    assert result.video == VideoSource(data=sample_mp4(), size_hint=len(sample_mp4()))


async def test_the_finished_operation_is_parsed_off_the_event_loop(provider, monkeypatch):
    parsed_in: list[int] = []
    parse = types.GenerateVideosOperation.__dict__["from_api_response"].__func__

    def spy(cls, api_response, is_vertex_ai=False):
        parsed_in.append(threading.get_ident())
        return parse(cls, api_response, is_vertex_ai)

    monkeypatch.setattr(types.GenerateVideosOperation, "from_api_response", classmethod(spy))

    [result] = await poll_until_done(provider, ref(await provider.submit(request())))

    assert result.video.data == sample_mp4()
    assert parsed_in and threading.get_ident() not in parsed_in  # base64 decode + pydantic, off the loop


async def test_express_mode_job_runs_to_a_video(express, fake):
    fake.scenario = Scenario(pending_polls=1)

    results = await poll_until_done(express, ref(await express.submit(request())))

    assert results[-1].state is JobState.SUCCEEDED
    assert results[-1].video.data == sample_mp4()


@pytest.mark.parametrize(
    ("scenario", "category", "says"),
    [
        (SCENARIOS["failure"], ErrorCategory.GENERATION_FAILED, "rpc code 13"),
        (SCENARIOS["quota_failure"], ErrorCategory.PROVIDER_QUOTA_EXCEEDED, "rpc code 8"),
        (
            Scenario(outcome="failed", error_code=3, error_message="x"),
            ErrorCategory.INVALID_REQUEST,
            "rpc code 3",
        ),
        (SCENARIOS["safety"], ErrorCategory.SAFETY_BLOCKED, "Support codes: 58061214"),
        (SCENARIOS["empty"], ErrorCategory.GENERATION_FAILED, "without a video"),
        (SCENARIOS["corrupt_base64"], ErrorCategory.GENERATION_FAILED, "could not be decoded"),
    ],
    ids=["failed", "rpc-resource-exhausted", "rpc-invalid-argument", "safety", "empty", "corrupt-base64"],
)
async def test_an_operation_that_ends_without_a_video_fails_with_its_category(
    provider, fake, scenario, category, says
):
    error = await final_error(provider, fake, scenario)

    assert (error.category, error.retryable) == (category, False)
    assert says in error.detail


async def test_gcs_video_is_reported_by_uri_and_cannot_be_fetched(provider, fake, tmp_path):
    fake.scenario = SCENARIOS["gcs"]
    job = ref(await provider.submit(request()))
    [result] = await poll_until_done(provider, job)
    assert result.video == VideoSource(url="gs://fake-bucket/veo/sample_0.mp4")

    with pytest.raises(GenerationError) as info:
        await provider.fetch(job, result.video, tmp_path / "out.mp4", max_bytes=10**9)

    assert info.value.category is ErrorCategory.GENERATION_FAILED
    assert "gs://fake-bucket/veo/sample_0.mp4" in info.value.detail
    assert not (tmp_path / "out.mp4").exists()


async def test_prompt_directive_picks_the_fake_scenario(provider):
    job = ref(await provider.submit(request("a storm [fake:safety]")))

    [result] = await poll_until_done(provider, job)

    assert result.error.category is ErrorCategory.SAFETY_BLOCKED


# ---- fetch ------------------------------------------------------------------------------------------------


async def test_fetch_writes_the_video_and_returns_its_size(provider, tmp_path):
    job = ref(await provider.submit(request()))
    [result] = await poll_until_done(provider, job)
    dest = tmp_path / "video.mp4"

    size = await provider.fetch(job, result.video, dest, max_bytes=10**9)

    assert size == len(sample_mp4())
    assert dest.read_bytes() == sample_mp4()


async def test_fetch_refuses_a_video_larger_than_max_bytes(provider, tmp_path):
    dest = tmp_path / "video.mp4"
    video = VideoSource(data=sample_mp4())

    with pytest.raises(GenerationError) as info:
        await provider.fetch(ref("op"), video, dest, max_bytes=len(sample_mp4()) - 1)

    assert info.value.category is ErrorCategory.GENERATION_FAILED
    assert info.value.detail == f"video larger than {len(sample_mp4()) - 1} bytes"
    assert not dest.exists()


async def test_fetch_refuses_bytes_that_are_not_an_mp4(provider, tmp_path):
    dest = tmp_path / "video.mp4"

    with pytest.raises(GenerationError) as info:
        await provider.fetch(ref("op"), VideoSource(data=b"<html>not a video</html>"), dest, max_bytes=10**6)

    assert info.value.category is ErrorCategory.GENERATION_FAILED
    assert "ftyp" in info.value.detail
    assert not dest.exists()


# ---- create errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "category", "retryable", "says"),
    [
        # a 429 creates no job, so asking again is safe
        ("rate_limit_create", ErrorCategory.PROVIDER_QUOTA_EXCEEDED, True, "rate limit"),
        # a 5xx, a garbled or a lost reply: the job may exist, so it is never sent again
        ("unavailable_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("bad_gateway_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("malformed_create", ErrorCategory.PROVIDER_UNAVAILABLE, False, "not valid JSON"),
        ("lost_create_reply", ErrorCategory.PROVIDER_UNAVAILABLE, False, "NOT resubmitted"),
        ("invalid_argument", ErrorCategory.INVALID_REQUEST, False, "durationSeconds isn't supported"),
        ("bad_key", ErrorCategory.PROVIDER_UNAVAILABLE, False, "rejected"),
    ],
)
async def test_create_errors_map_to_a_category_and_send_exactly_one_request(
    provider, fake, scenario, category, retryable, says
):
    fake.scenario = SCENARIOS[scenario]

    error = await submit_error(provider)

    assert (error.category, error.retryable) == (category, retryable)
    assert says in error.detail
    assert len(fake.calls("predictLongRunning")) == 1


@pytest.mark.parametrize(("scenario", "operations"), [("rate_limit_create", 0), ("lost_create_reply", 1)])
async def test_only_a_lost_create_reply_leaves_a_job_behind(provider, fake, scenario, operations):
    fake.scenario = SCENARIOS[scenario]

    await submit_error(provider)

    assert len(fake.operations) == operations


@pytest.mark.parametrize(
    ("reply", "seconds"),
    [
        (google_error(429, "RESOURCE_EXHAUSTED", "slow down", headers=(("Retry-After", "7"),)), 7.0),
        (
            Reply(
                status=429,
                body=json.dumps(
                    {
                        "error": {
                            "code": 429,
                            "message": "slow down",
                            "status": "RESOURCE_EXHAUSTED",
                            "details": [
                                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "23s"}
                            ],
                        }
                    }
                ),
            ),
            23.0,
        ),
    ],
    ids=["retry-after-header", "retry-info-detail"],
)
async def test_rate_limit_carries_the_server_retry_delay(provider, fake, reply, seconds):
    fake.scenario = Scenario(create_reply=reply)

    error = await submit_error(provider)

    assert error.retry_after == seconds


async def test_http_date_retry_after_is_read_as_a_date(provider, fake):
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)
    fake.scenario = Scenario(
        create_reply=google_error(
            429, "RESOURCE_EXHAUSTED", "slow down", headers=(("Retry-After", in_two_minutes),)
        )
    )

    error = await submit_error(provider)

    assert 110 < error.retry_after <= 120


async def test_bad_gateway_html_page_is_not_dumped_into_the_detail(provider, fake):
    fake.scenario = SCENARIOS["bad_gateway_create"]

    error = await submit_error(provider)

    assert "502 Bad Gateway" in error.detail
    assert "<html" not in error.detail


async def test_retired_model_is_model_unavailable(provider, fake):
    fake.retired_models.add(MODEL_ID)

    error = await submit_error(provider)

    assert error.category is ErrorCategory.MODEL_UNAVAILABLE
    assert MODEL_ID in error.detail
    assert not error.retryable


async def test_server_side_invalid_argument_reports_the_server_message(provider):
    error = await submit_error(provider, request(duration=6, resolution="4k", aspect_ratio="16:9"))

    assert error.category is ErrorCategory.INVALID_REQUEST
    assert "durationSeconds isn't supported by this model." in error.detail
    assert not error.retryable


async def test_rejected_bearer_token_is_reported_as_rejected_credentials(fake):
    p = project_provider(fake, credentials=Credentials(token="wrong-token"))
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "rejected" in error.detail
    assert "401" in error.detail
    assert not error.retryable


async def test_rejected_api_key_is_reported_as_rejected_key(fake):
    p = express_provider(fake, api_key="wrong-key")
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "rejected" in error.detail
    assert "403" in error.detail
    assert "wrong-key" not in error.detail


async def test_api_key_not_valid_400_is_a_rejected_key_not_a_bad_request(express, fake):
    fake.scenario = Scenario(
        create_reply=google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    )

    error = await submit_error(express)

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "rejected" in error.detail


async def test_slow_create_times_out_as_unknown_outcome_without_retry(fake):
    fake.scenario = SCENARIOS["slow_create"]
    p = project_provider(fake, request_timeout=0.5)
    started = time.monotonic()
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert time.monotonic() - started < 3
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "timeout" in error.detail
    assert not error.retryable
    assert len(fake.calls("predictLongRunning")) == 1


async def test_refused_connection_on_create_is_retryable_and_not_retried_by_the_sdk(fake):
    p = project_provider(fake, base_url=f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert time.monotonic() - started < 1  # the SDK's hidden retry would sleep 1-10 s
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.retryable
    assert "not sent" in error.detail


async def test_missing_application_default_credentials_is_provider_unavailable(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    p = project_provider(fake, credentials=None)
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.detail == NO_CREDENTIALS
    assert not fake.requests


async def test_no_project_and_no_credentials_is_provider_unavailable(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("GOOGLE_API_KEY", "a-gemini-key-that-must-not-be-used")
    p = VertexProvider(base_url=fake.base_url, poll_interval=0)
    try:
        error = await submit_error(p)
    finally:
        await p.aclose()

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.detail == NO_CREDENTIALS
    assert not fake.requests


# ---- poll errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        (SCENARIOS["rate_limit_fetch"].fetch_replies[0], ErrorCategory.PROVIDER_QUOTA_EXCEEDED),
        (SCENARIOS["unavailable_fetch"].fetch_replies[0], ErrorCategory.PROVIDER_UNAVAILABLE),
        (SCENARIOS["bad_gateway_fetch"].fetch_replies[0], ErrorCategory.PROVIDER_UNAVAILABLE),
        (malformed(), ErrorCategory.PROVIDER_UNAVAILABLE),
        (dropped(), ErrorCategory.PROVIDER_UNAVAILABLE),
    ],
    ids=["429", "503-json", "502-html", "malformed-json", "dropped-connection"],
)
async def test_a_failed_poll_is_retryable_and_the_job_continues(provider, fake, reply, category):
    fake.scenario = Scenario(fetch_replies=(reply,))
    job = ref(await provider.submit(request()))

    error = await poll_error(provider, job)

    assert (error.category, error.retryable) == (category, True)
    assert (await provider.poll(job)).state is JobState.SUCCEEDED


async def test_unknown_operation_is_unknown_and_not_retryable(provider, fake):
    fake.scenario = SCENARIOS["unknown_operation"]
    job_id = await provider.submit(request())

    error = await poll_error(provider, ref(job_id))

    assert error.category is ErrorCategory.UNKNOWN
    assert f"no longer knows job {job_id}" in error.detail
    assert not error.retryable


async def test_slow_poll_times_out_retryably(fake):
    fake.scenario = SCENARIOS["slow_fetch"]
    p = project_provider(fake, request_timeout=0.5)
    try:
        job = ref(await p.submit(request()))
        started = time.monotonic()
        error = await poll_error(p, job)
    finally:
        await p.aclose()

    assert time.monotonic() - started < 3
    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.retryable


async def test_refused_connection_on_poll_is_retryable(fake):
    p = project_provider(fake, base_url=f"http://127.0.0.1:{closed_port()}")
    try:
        error = await poll_error(p, ref(f"projects/{PROJECT}/locations/{LOCATION}/x/operations/1"))
    finally:
        await p.aclose()

    assert error.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert error.retryable


# ---- resume and cancel ------------------------------------------------------------------------------------


async def test_resume_polls_a_stored_operation_name_to_completion(fake):
    job_id = fake.seed_operation(MODEL_ID, Scenario(pending_polls=1), project=PROJECT, location=LOCATION)
    p = project_provider(fake)  # a fresh provider, as after a restart
    try:
        results = await poll_until_done(p, ref(job_id))
    finally:
        await p.aclose()

    assert [r.state for r in results] == [JobState.RUNNING, JobState.SUCCEEDED]
    assert not fake.calls("predictLongRunning")


async def test_resume_works_in_express_mode(fake):
    job_id = fake.seed_operation(MODEL_ID, project=None)
    p = express_provider(fake)
    try:
        [result] = await poll_until_done(p, ref(job_id))
    finally:
        await p.aclose()

    assert result.state is JobState.SUCCEEDED


async def test_cancel_returns_false_and_sends_nothing(provider, fake):
    job_id = await provider.submit(request())
    before = len(fake.requests)

    assert await provider.cancel(ref(job_id)) is False
    assert len(fake.requests) == before
    assert provider.supports_cancel is False


# ---- the fake on its own ----------------------------------------------------------------------------------


def test_fake_serves_standalone_and_prints_its_base_url():
    root = Path(__file__).resolve().parents[3]
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.vertex_api", "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("http://127.0.0.1:")
            with socket.create_connection(("127.0.0.1", int(line.rsplit(":", 1)[1])), timeout=2):
                pass
        finally:
            proc.terminate()
