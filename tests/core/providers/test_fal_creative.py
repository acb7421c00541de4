"""fal's closing frame and silence, over real aiohttp against the fake queue: the last frame goes to the
catalog's end_frame_field on the image endpoint, encoded like the first frame; audio:false asks an optional-
audio model for silence; requests without them are unchanged."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest
from core.providers.fal import FalProvider
from core.providers.fal import client as fal_client_module
from core.validation import GenerationParams, validate
from tests.fakes.fal_queue import FakeFalQueue

CATALOG = load_catalog()
KEY = "test-fal-key"
FIRST = b"\x89PNG\r\n\x1a\nfirst-frame"
LAST = b"\xff\xd8\xff\xe0last-frame"


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def request(model: str, **fields) -> VideoRequest:
    """A request through the real validation, so it only holds what the model allows."""
    return validate(GenerationParams(prompt="a kite over dunes", model=model, **fields), CATALOG.get(model))


@pytest.fixture
async def fake():
    async with FakeFalQueue(key=KEY) as server:
        yield server


@pytest.fixture
async def provider(fake: FakeFalQueue):
    p = FalProvider(KEY, fake.base_url, poll_interval=0, request_timeout=2.0)
    yield p
    await p.aclose()


def submitted(fake: FakeFalQueue) -> tuple[str, dict]:
    [submit] = fake.requests_to("submit")
    return submit.path, submit.json


FRAMES = {
    "image": FIRST,
    "image_mime_type": "image/png",
    "last_frame": LAST,
    "last_frame_mime_type": "image/jpeg",
}


@pytest.mark.parametrize(
    ("model", "endpoint", "body"),
    [
        (
            "fal-kling-3",
            "/fal-ai/kling-video/v3/standard/image-to-video",
            {
                "prompt": "a kite over dunes",
                "duration": "5",
                "generate_audio": True,
                "start_image_url": data_uri(FIRST, "image/png"),
                "end_image_url": data_uri(LAST, "image/jpeg"),
            },
        ),
        (
            "fal-seedance-2",
            "/bytedance/seedance-2.0/image-to-video",
            {
                "prompt": "a kite over dunes",
                "aspect_ratio": "16:9",
                "duration": "5",
                "resolution": "720p",
                "generate_audio": True,
                "image_url": data_uri(FIRST, "image/png"),
                "end_image_url": data_uri(LAST, "image/jpeg"),
            },
        ),
    ],
)
async def test_a_last_frame_goes_to_end_image_url_on_the_image_endpoint(
    provider, fake, model, endpoint, body
):
    job_id = await provider.submit(request(model, **FRAMES))

    assert submitted(fake) == (endpoint, body)
    assert fake.jobs[job_id].arguments == body


async def test_a_loop_sends_the_first_frame_as_the_last(provider, fake):
    await provider.submit(request("fal-seedance-2-fast", image=FIRST, image_mime_type="image/png", loop=True))

    _, body = submitted(fake)
    assert body["end_image_url"] == body["image_url"] == data_uri(FIRST, "image/png")


async def test_the_last_frame_field_name_comes_from_the_catalog(provider, fake):
    renamed = dataclasses.replace(CATALOG.get("fal-kling-3"), end_frame_field="tail_image_url")
    req = dataclasses.replace(request("fal-kling-3", **FRAMES), model=renamed)

    await provider.submit(req)

    _, body = submitted(fake)
    assert body["tail_image_url"] == data_uri(LAST, "image/jpeg")
    assert "end_image_url" not in body


@pytest.mark.parametrize("model", ["fal-kling-3", "fal-seedance-2", "fal-veo-3.1"])
async def test_silence_sends_generate_audio_false(provider, fake, model):
    await provider.submit(request(model, audio=False))

    assert submitted(fake)[1]["generate_audio"] is False


async def test_requests_without_the_new_fields_are_unchanged(provider, fake):
    await provider.submit(
        request("fal-kling-3", image=FIRST, image_mime_type="image/png", negative_prompt="blur")
    )

    # The whole body, so a new key would show: sound asked for, no end frame.
    assert submitted(fake) == (
        "/fal-ai/kling-video/v3/standard/image-to-video",
        {
            "prompt": "a kite over dunes",
            "duration": "5",
            "generate_audio": True,
            "negative_prompt": "blur",
            "start_image_url": data_uri(FIRST, "image/png"),
        },
    )


async def test_a_last_frame_without_a_first_is_refused_before_anything_is_sent(provider, fake):
    req = dataclasses.replace(request("fal-kling-3"), last_frame=LAST, last_frame_mime_type="image/jpeg")

    with pytest.raises(GenerationError) as caught:
        await provider.submit(req)

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert fake.requests_to("submit") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("end_image_url", "data:image/jpeg;base64,not base64!"),
        ("end_image_url", "/tmp/last.png"),
        ("generate_audio", "false"),
    ],
)
async def test_the_fake_refuses_malformed_fields_with_a_422(provider, fake, monkeypatch, field, value):
    built = fal_client_module.build_arguments

    def with_bad_field(req: VideoRequest) -> dict:
        return {**built(req), field: value}

    monkeypatch.setattr(fal_client_module, "build_arguments", with_bad_field)

    with pytest.raises(GenerationError) as caught:
        await provider.submit(request("fal-kling-3", image=FIRST, image_mime_type="image/png"))

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert field in caught.value.detail
    assert fake.jobs == {}
