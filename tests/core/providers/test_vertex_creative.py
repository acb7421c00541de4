"""Veo's closing frame, native extension and silence through the real google-genai SDK against the Vertex
fake: each reaches the create body in the wire shape the SDK writes, and requests without them are unchanged."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from google.oauth2.credentials import Credentials

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest
from core.providers.vertex import VertexProvider
from tests.fakes.sample_video import sample_mp4
from tests.fakes.vertex_api import FakeVertexApi

CATALOG = load_catalog()
SPEC = CATALOG.get("veo-3.1")
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
FIRST = b"\x89PNG\r\n\x1a\nfirst-frame"
LAST = b"\xff\xd8\xff\xe0last-frame"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVertexApi]:
    async with FakeVertexApi() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeVertexApi) -> AsyncIterator[VertexProvider]:
    p = VertexProvider(
        project="test-project",
        credentials=Credentials(token=fake.token),
        base_url=fake.base_url,
        poll_interval=0,
        request_timeout=5,
    )
    yield p
    await p.aclose()


def request(**overrides: object) -> VideoRequest:
    values: dict = {
        "prompt": "a lighthouse at dusk",
        "model": SPEC,
        "duration": 8,
        "aspect_ratio": "16:9",
        "resolution": "720p",
    }
    return VideoRequest(**{**values, **overrides})


def create_body(fake: FakeVertexApi) -> dict:
    [create] = fake.calls("predictLongRunning")
    return create.json


async def test_a_last_frame_goes_to_instances_last_frame_next_to_the_first(provider, fake):
    await provider.submit(
        request(image=FIRST, image_mime_type="image/png", last_frame=LAST, last_frame_mime_type="image/jpeg")
    )

    assert create_body(fake)["instances"] == [
        {
            "prompt": "a lighthouse at dusk",
            "image": {"bytesBase64Encoded": b64(FIRST), "mimeType": "image/png"},
            "lastFrame": {"bytesBase64Encoded": b64(LAST), "mimeType": "image/jpeg"},
        }
    ]


async def test_a_loop_sends_the_first_frame_again_as_the_last(provider, fake):
    await provider.submit(
        request(image=FIRST, image_mime_type="image/png", last_frame=FIRST, last_frame_mime_type="image/png")
    )

    [instance] = create_body(fake)["instances"]
    assert instance["lastFrame"] == instance["image"]


async def test_an_extension_sends_the_clip_as_instances_video_at_8_seconds(provider, fake):
    clip = sample_mp4()

    name = await provider.submit(request(extend_video=clip, seed=3))

    body = create_body(fake)
    assert body["instances"] == [
        {
            "prompt": "a lighthouse at dusk",
            "video": {"bytesBase64Encoded": b64(clip), "mimeType": "video/mp4"},
        }
    ]
    assert body["parameters"]["durationSeconds"] == 8
    assert fake.operations[name].request == body  # the fake keeps what it was asked


async def test_an_extension_at_6_seconds_is_refused_as_an_invalid_request(provider, fake):
    with pytest.raises(GenerationError) as caught:
        await provider.submit(request(extend_video=sample_mp4(), duration=6))

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert not caught.value.retryable
    assert "durationSeconds must be 8 for video extension" in caught.value.detail
    assert len(fake.calls("predictLongRunning")) == 1
    assert fake.operations == {}


async def test_silence_on_an_optional_audio_model_sends_generate_audio_false(provider, fake):
    await provider.submit(request(audio=False))

    assert create_body(fake)["parameters"]["generateAudio"] is False


async def test_requests_without_the_new_fields_are_unchanged(provider, fake):
    await provider.submit(request(image=FIRST, image_mime_type="image/png", negative_prompt="fog", seed=7))

    # The whole body, so a new key would show: sound asked for as before, no lastFrame, no video.
    assert create_body(fake) == {
        "instances": [
            {
                "prompt": "a lighthouse at dusk",
                "image": {"bytesBase64Encoded": b64(FIRST), "mimeType": "image/png"},
            }
        ],
        "parameters": {
            "sampleCount": 1,
            "durationSeconds": 8,
            "seed": 7,
            "aspectRatio": "16:9",
            "resolution": "720p",
            "negativePrompt": "fog",
            "generateAudio": True,
        },
    }


@pytest.mark.parametrize(
    ("instance", "complaint"),
    [
        (
            {"prompt": "x", "lastFrame": {"bytesBase64Encoded": "AAAA", "mimeType": "image/png"}},
            "requires image",
        ),
        ({"prompt": "x", "video": {"mimeType": "video/mp4"}}, "exactly one of"),
        ({"prompt": "x", "video": {"bytesBase64Encoded": "no base64!", "mimeType": "video/mp4"}}, "base64"),
        ({"prompt": "x", "video": {"bytesBase64Encoded": "AAAA", "mimeType": "image/png"}}, "mimeType"),
    ],
)
async def test_the_fake_refuses_malformed_media_with_400_invalid_argument(fake, instance, complaint):
    body = {"instances": [instance], "parameters": {"durationSeconds": 8}}
    url = f"{fake.base_url}/v1beta1/publishers/google/models/veo-3.1-generate-001:predictLongRunning"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"x-goog-api-key": fake.api_key}) as reply,
    ):
        error = (await reply.json())["error"]
    assert reply.status == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert complaint in error["message"]
