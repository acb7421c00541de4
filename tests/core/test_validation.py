"""Validation tables per model: every refusal names the field and what is allowed."""

from __future__ import annotations

import pytest

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.validation import GenerationParams, clean_text, resolve_model, validate

CATALOG = load_catalog()


def check(model: str, **kwargs):
    return validate(GenerationParams(**{"prompt": "a cat", **kwargs}), CATALOG.get(model))


@pytest.mark.parametrize(
    ("model", "kwargs", "message"),
    [
        ("demo", {"prompt": "   "}, "prompt: must not be empty"),
        ("demo", {"prompt": "\x00\x07\x1b"}, "prompt: must not be empty"),
        ("demo", {"prompt": "x" * 2001}, "prompt: 2001 characters is too long; at most 2000"),
        (
            "omni-1.2-flash",
            {"duration": 16},
            "duration: 16 s is not offered by omni-1.2-flash; allowed: 3, 4,",
        ),
        ("omni-1.1-flash", {"duration": 12}, "allowed: 3, 4, 5, 6, 7, 8, 9, 10 s"),
        (
            "omni-1.2-flash",
            {"aspect_ratio": "1:1"},
            "aspect_ratio: '1:1' is not offered by omni-1.2-flash; allowed: 16:9, 9:16",
        ),
        ("omni-1.2-flash", {"resolution": "8k"}, "resolution: '8k' is not offered"),
        ("veo-3.1", {"duration": 5}, "allowed: 4, 6, 8 s"),
        (
            "veo-3.1",
            {"duration": 6, "resolution": "1080p"},
            "duration: Veo needs 8 seconds at 1080p and 4k; allowed at 1080p: 8 s",
        ),
        ("veo-3.1-fast", {"duration": 4, "resolution": "4k"}, "allowed at 4k: 8 s"),
        (
            "veo-3.1-lite",
            {"resolution": "4k"},
            "resolution: '4k' is not offered by veo-3.1-lite; allowed: 720p, 1080p",
        ),
        ("fal-kling-3", {"seed": 3}, "seed: fal-kling-3 does not take a seed"),
        ("omni-1.2-flash", {"negative_prompt": "blur"}, "negative_prompt: omni-1.2-flash does not take"),
        ("veo-3.1", {"seed": -1}, "seed: must be between 0 and 4294967295"),
        ("veo-3.1", {"negative_prompt": "n" * 501}, "negative_prompt: at most 500"),
        ("demo", {"image": b"x", "image_mime_type": "image/png"}, "image: demo does not take an image"),
        ("veo-3.1", {"image": b"x", "image_mime_type": "image/gif"}, "image: type image/gif is not allowed"),
    ],
)
def test_invalid_requests_name_the_field_and_the_allowed_values(model, kwargs, message):
    with pytest.raises(GenerationError) as err:
        check(model, **kwargs)
    assert err.value.category is ErrorCategory.INVALID_REQUEST
    assert message in err.value.detail


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [
        ("veo-3.1", {"duration": 8, "resolution": "4k"}),
        ("veo-3.1", {"duration": 4, "resolution": "720p", "negative_prompt": "blur", "seed": 0}),
        ("omni-1.2-flash", {"duration": 15, "aspect_ratio": "9:16", "resolution": "360p", "seed": 2**32 - 1}),
        ("fal-kling-3", {"duration": 15, "aspect_ratio": "1:1"}),
        ("demo", {"duration": 4, "aspect_ratio": "9:16"}),
    ],
)
def test_allowed_combinations_pass(model, kwargs):
    req = check(model, **kwargs)
    assert req.duration == kwargs["duration"]


def test_defaults_come_from_the_model():
    req = check("veo-3.1")
    assert (req.duration, req.aspect_ratio, req.resolution) == (8, "16:9", "720p")


def test_control_characters_are_removed_and_text_trimmed():
    assert clean_text("  a\x00b\x1b[31mc\u200bd\n e \t") == "ab[31mcd\n e"
    assert check("demo", prompt="\x07 hello \x7f").prompt == "hello"


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"demo", "gemini"}, "sora-2", "demo")
    assert err.value.category is ErrorCategory.INVALID_REQUEST
    assert "unknown model 'sora-2'" in err.value.detail


def test_model_of_an_unconfigured_provider_is_unavailable():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"demo"}, "veo-3.1", "demo")
    assert err.value.category is ErrorCategory.MODEL_UNAVAILABLE
    assert "vertex provider, which is not configured" in err.value.detail
