"""Omni native extension through the real google-genai SDK against the Interactions fake: the video block,
the extend task, and the fake's 400 for media the API would refuse."""

from __future__ import annotations

import base64

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest
from core.providers.gemini import GeminiProvider
from core.providers.gemini import client as gemini_client
from tests.fakes.gemini_api import DEFAULT_API_KEY, FakeGeminiApi
from tests.fakes.sample_video import sample_mp4

SPEC = load_catalog().get("omni-1.2-flash")
PNG = b"\x89PNG\r\n\x1a\nfake-image"


@pytest.fixture
async def fake():
    async with FakeGeminiApi() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeGeminiApi):
    p = GeminiProvider(DEFAULT_API_KEY, fake.base_url, poll_interval=0, request_timeout=5.0)
    yield p
    await p.aclose()


def video_request(prompt: str = "the cat keeps surfing", **kwargs) -> VideoRequest:
    fields = {"model": SPEC, "duration": 6, "aspect_ratio": "16:9", "resolution": "720p"}
    fields.update(kwargs)
    return VideoRequest(prompt=prompt, **fields)


async def test_extension_sends_the_clip_as_a_video_block_before_the_text_and_the_extend_task(provider, fake):
    clip = sample_mp4()

    job_id = await provider.submit(video_request(extend_video=clip, seed=7))

    [create] = fake.creates
    [turn] = create.json["input"]
    assert turn == {
        "type": "user_input",
        "content": [
            {"type": "video", "data": base64.b64encode(clip).decode(), "mime_type": "video/mp4"},
            {"type": "text", "text": "the cat keeps surfing"},
        ],
    }
    assert create.json["generation_config"] == {"seed": 7, "video_config": {"task": "extend"}}
    assert fake.jobs[job_id].task == "extend"
    assert fake.jobs[job_id].input_video == clip


async def test_extension_without_a_seed_sends_only_the_task(provider, fake):
    await provider.submit(video_request(extend_video=sample_mp4()))

    [create] = fake.creates
    assert create.json["generation_config"] == {"video_config": {"task": "extend"}}


async def test_requests_without_a_video_are_unchanged(provider, fake):
    await provider.submit(video_request(seed=7))
    await provider.submit(video_request(image=PNG, image_mime_type="image/png"))

    text, image = (c.json for c in fake.creates)
    response_format = {
        "type": "video",
        "aspect_ratio": "16:9",
        "duration": "6s",
        "resolution": "720p",
        "delivery": "uri",
    }
    # The whole bodies, so a new key would show; no task: the model infers the task, as before.
    assert text == {
        "model": "gemini-omni-1.2-flash",
        "input": "the cat keeps surfing",
        "background": True,
        "response_format": response_format,
        "generation_config": {"seed": 7},
    }
    assert image == {
        "model": "gemini-omni-1.2-flash",
        "input": [
            {
                "type": "user_input",
                "content": [
                    {"type": "image", "data": base64.b64encode(PNG).decode(), "mime_type": "image/png"},
                    {"type": "text", "text": "the cat keeps surfing"},
                ],
            }
        ],
        "background": True,
        "response_format": response_format,
    }


async def test_an_extension_of_an_image_request_puts_the_video_first(provider, fake):
    clip = sample_mp4()

    await provider.submit(video_request(extend_video=clip, image=PNG, image_mime_type="image/png"))

    [create] = fake.creates
    [turn] = create.json["input"]
    assert [block["type"] for block in turn["content"]] == ["video", "image", "text"]


@pytest.mark.parametrize(
    ("block", "task", "complaint"),
    [
        ({"type": "video", "mime_type": "video/mp4"}, "extend", "exactly one of data or uri"),
        ({"type": "video", "data": "not base64!", "mime_type": "video/mp4"}, "extend", "base64"),
        ({"type": "video", "data": "", "mime_type": "video/mp4"}, "extend", "base64"),
        ({"type": "video", "data": "AAAA", "mime_type": "video/x-matroska"}, "extend", "mime_type"),
        ({"type": "video", "data": "AAAA"}, "extend", "mime_type"),
        (None, "extend", "needs exactly one video"),
        ({"type": "video", "data": "AAAA", "mime_type": "video/mp4"}, "extend_forever", "unknown task"),
        ({"type": "video", "data": "AAAA", "mime_type": "video/mp4"}, "text_to_video", "takes no video"),
    ],
)
async def test_the_fake_refuses_malformed_video_input_with_a_400_invalid_request(
    provider, fake, monkeypatch, block, task, complaint
):
    # Past our own builder (which cannot make these): the SDK sends whatever `input` it is given.
    def malformed(request: VideoRequest) -> dict:
        content = [block] if block else []
        return {
            "model": request.model.provider_model_id,
            "input": [*content, {"type": "text", "text": request.prompt}],
            "background": True,
            "generation_config": {"video_config": {"task": task}},
        }

    monkeypatch.setattr(gemini_client, "create_arguments", malformed)

    with pytest.raises(GenerationError) as caught:
        await provider.submit(video_request())

    assert caught.value.category is ErrorCategory.INVALID_REQUEST
    assert complaint in caught.value.detail
    assert len(fake.creates) == 1
    assert fake.jobs == {}
