"""The fal argument builders per model family, from the shipped catalog: exactly the JSON each endpoint
documents (providers.md §4.4 and §8; the sources are named in each catalog entry's notes)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest
from core.providers.fal import FalProvider, build_arguments, endpoint_for
from core.validation import GenerationParams, validate
from tests.fakes.fal_queue import FakeFalQueue

CATALOG = load_catalog()
KEY = "test-fal-key"
IMAGE = b"\x89PNG\r\n\x1a\nfirst-frame"
DATA_URI = "data:image/png;base64," + base64.b64encode(IMAGE).decode()


def request(model: str, prompt: str = "a fox in snow", **fields) -> VideoRequest:
    """A request through the real validation, so it only holds what the model allows."""
    return validate(GenerationParams(prompt=prompt, model=model, **fields), CATALOG.get(model))


# -- text to video: the exact body per family ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields", "endpoint", "body"),
    [
        (
            "fal-kling-3",
            {"duration": 10, "aspect_ratio": "9:16", "negative_prompt": "blur"},
            "fal-ai/kling-video/v3/standard/text-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "9:16",
                "duration": "10",
                "generate_audio": True,
                "negative_prompt": "blur",
            },
        ),
        (
            "fal-kling-3-turbo",
            {"duration": 15, "aspect_ratio": "1:1"},
            "fal-ai/kling-video/v3/turbo/pro/text-to-video",
            {"prompt": "a fox in snow", "aspect_ratio": "1:1", "duration": "15"},
        ),
        (
            "fal-seedance-2",
            {"duration": 12, "aspect_ratio": "21:9", "resolution": "480p"},
            "bytedance/seedance-2.0/text-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "21:9",
                "duration": "12",
                "resolution": "480p",
                "generate_audio": True,
            },
        ),
        (
            "fal-seedance-2-fast",
            {"duration": 4, "aspect_ratio": "3:4"},
            "bytedance/seedance-2.0/fast/text-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "3:4",
                "duration": "4",
                "resolution": "720p",
                "generate_audio": True,
            },
        ),
        (
            "fal-wan-2.7",
            {"duration": 2, "aspect_ratio": "4:3", "resolution": "1080p", "negative_prompt": "text"},
            "fal-ai/wan/v2.7/text-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "4:3",
                "duration": 2,
                "resolution": "1080p",
                "negative_prompt": "text",
            },
        ),
        (
            "fal-happyhorse-1",
            {"duration": 15, "aspect_ratio": "3:4", "resolution": "1080p"},
            "alibaba/happy-horse/text-to-video",
            {"prompt": "a fox in snow", "aspect_ratio": "3:4", "duration": 15, "resolution": "1080p"},
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v in CATALOG.models else None,
)
def test_text_to_video_body_is_exactly_the_documented_json(model, fields, endpoint, body):
    req = request(model, **fields)
    assert endpoint_for(req) == endpoint
    assert build_arguments(req) == body


def test_integer_durations_are_numbers_and_string_durations_are_strings():
    assert type(build_arguments(request("fal-wan-2.7", duration=7))["duration"]) is int
    assert type(build_arguments(request("fal-happyhorse-1", duration=7))["duration"]) is int
    assert build_arguments(request("fal-seedance-2", duration=7))["duration"] == "7"
    assert build_arguments(request("fal-kling-3-turbo", duration=7))["duration"] == "7"


def test_defaults_of_the_new_entries_fill_the_body():
    assert build_arguments(request("fal-seedance-2")) == {
        "prompt": "a fox in snow",
        "aspect_ratio": "16:9",
        "duration": "5",
        "resolution": "720p",
        "generate_audio": True,
    }
    assert build_arguments(request("fal-happyhorse-1"))["resolution"] == "720p"


# -- image to video: the endpoint, the first-frame field and the aspect ratio per family ----------------


@pytest.mark.parametrize(
    ("model", "endpoint", "body"),
    [
        (
            "fal-kling-3",
            "fal-ai/kling-video/v3/standard/image-to-video",
            {"prompt": "a fox in snow", "duration": "5", "generate_audio": True, "start_image_url": DATA_URI},
        ),
        (
            "fal-seedance-2",
            "bytedance/seedance-2.0/image-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "16:9",
                "duration": "5",
                "resolution": "720p",
                "generate_audio": True,
                "image_url": DATA_URI,
            },
        ),
        (
            "fal-seedance-2-fast",
            "bytedance/seedance-2.0/fast/image-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "16:9",
                "duration": "5",
                "resolution": "720p",
                "generate_audio": True,
                "image_url": DATA_URI,
            },
        ),
        (
            "fal-wan-2.7",
            "fal-ai/wan/v2.7/image-to-video",
            {"prompt": "a fox in snow", "duration": 5, "resolution": "720p", "image_url": DATA_URI},
        ),
        (
            "fal-veo-3.1",
            "fal-ai/veo3.1/image-to-video",
            {
                "prompt": "a fox in snow",
                "aspect_ratio": "16:9",
                "duration": "8s",
                "resolution": "720p",
                "generate_audio": True,
                "image_url": DATA_URI,
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v in CATALOG.models else None,
)
def test_image_to_video_body_uses_the_models_image_field(model, endpoint, body):
    req = request(model, image=IMAGE, image_mime_type="image/png")
    assert endpoint_for(req) == endpoint
    assert build_arguments(req) == body


def test_models_without_an_image_endpoint_refuse_an_image_before_submit():
    for model in ("fal-kling-3-turbo", "fal-happyhorse-1"):
        with pytest.raises(GenerationError) as err:
            request(model, image=IMAGE, image_mime_type="image/png")
        assert err.value.category is ErrorCategory.INVALID_REQUEST
        assert f"image: {model} does not take an image" in err.value.detail


# -- sound and seeds -------------------------------------------------------------------------------------


def test_audio_off_asks_for_silence_and_always_sends_nothing():
    silent = dataclasses.replace(CATALOG.get("fal-kling-3"), audio="off")
    assert (
        build_arguments(dataclasses.replace(request("fal-kling-3"), model=silent))["generate_audio"] is False
    )
    for model in ("fal-wan-2.7", "fal-happyhorse-1", "fal-kling-3-turbo"):
        assert "generate_audio" not in build_arguments(request(model))


def test_a_seed_is_sent_only_to_models_that_take_one():
    assert build_arguments(request("fal-veo-3.1", seed=7))["seed"] == 7
    forced = dataclasses.replace(request("fal-seedance-2"), seed=7)  # past validation, e.g. an old job
    assert "seed" not in build_arguments(forced)


def test_looser_safety_inputs_are_sent_only_when_the_job_asks_for_them():
    veo = request("fal-veo-3.1")
    assert "safety_tolerance" not in build_arguments(veo)  # fal's default level
    assert build_arguments(dataclasses.replace(veo, permissive=True))["safety_tolerance"] == "6"
    kling = dataclasses.replace(request("fal-kling-3"), permissive=True)  # no looser level in the catalog
    assert "safety_tolerance" not in build_arguments(kling)


# -- through the fake fal queue (it takes any endpoint id) ---------------------------------------------


@pytest.fixture
async def fake():
    async with FakeFalQueue(key=KEY) as server:
        yield server


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("fal-seedance-2", {"aspect_ratio": "21:9", "duration": 8}),
        ("fal-wan-2.7", {"image": IMAGE, "image_mime_type": "image/png"}),
        ("fal-happyhorse-1", {"resolution": "1080p"}),
        ("fal-kling-3", {"image": IMAGE, "image_mime_type": "image/png"}),
        ("fal-kling-3-turbo", {}),
    ],
)
async def test_submit_posts_the_built_body_to_the_models_endpoint(fake, model, fields):
    provider = FalProvider(KEY, fake.base_url, poll_interval=0, request_timeout=2.0)
    try:
        req = request(model, **fields)
        await provider.submit(req)
    finally:
        await provider.aclose()
    [submit] = fake.requests_to("submit")
    assert submit.path == f"/{endpoint_for(req)}"
    assert submit.json == build_arguments(req)


async def test_the_looser_safety_level_is_one_fal_accepts(fake):
    provider = FalProvider(KEY, fake.base_url, poll_interval=0, request_timeout=2.0)
    try:
        await provider.submit(dataclasses.replace(request("fal-veo-3.1"), permissive=True))
    finally:
        await provider.aclose()
    [submit] = fake.requests_to("submit")
    assert submit.json["safety_tolerance"] == "6"
