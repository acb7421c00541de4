"""Validation tables per model: every refusal names the field and what is allowed."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from core.catalog import DEFAULT_CATALOG_PATH, load_catalog, parse_catalog
from core.errors import ErrorCategory, GenerationError
from core.validation import GenerationParams, clean_text, resolve_model, validate

CATALOG = load_catalog()
BEFORE = dt.date(2026, 12, 2)  # the day before omni-1.1-flash retires
RETIRE_DAY = dt.date(2026, 12, 3)


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
        (
            "fal-happyhorse-1",
            {"image": b"x", "image_mime_type": "image/png"},
            "image: fal-happyhorse-1 does not take an image",
        ),
        ("veo-3.1", {"image": b"x", "image_mime_type": "image/gif"}, "image: type image/gif is not allowed"),
        (
            "fal-happyhorse-1",
            {"aspect_ratio": "21:9"},
            "aspect_ratio: '21:9' is not offered by fal-happyhorse-1; allowed: 16:9, 9:16, 1:1, 4:3, 3:4",
        ),
        (
            "fal-kling-3",
            {"aspect_ratio": "4:3"},
            "aspect_ratio: '4:3' is not offered by fal-kling-3; allowed: 16:9, 9:16, 1:1",
        ),
        ("fal-seedance-2", {"duration": 3}, "duration: 3 s is not offered by fal-seedance-2; allowed: 4, 5,"),
        ("fal-seedance-2", {"resolution": "1080p"}, "resolution: '1080p' is not offered by fal-seedance-2"),
        ("fal-wan-2.7", {"duration": 1}, "allowed: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 s"),
        (
            "fal-happyhorse-1",
            {"image": b"x", "image_mime_type": "image/png"},
            "image: fal-happyhorse-1 does not",
        ),
        (
            "fal-kling-3-turbo",
            {"negative_prompt": "blur"},
            "negative_prompt: fal-kling-3-turbo does not take",
        ),
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
        ("demo", {"duration": 2, "aspect_ratio": "21:9", "resolution": "360p"}),
        ("fal-seedance-2", {"duration": 15, "aspect_ratio": "21:9", "resolution": "480p"}),
        ("fal-seedance-2-fast", {"duration": 4, "aspect_ratio": "3:4"}),
        (
            "fal-wan-2.7",
            {"duration": 2, "aspect_ratio": "4:3", "resolution": "1080p", "negative_prompt": "x"},
        ),
        ("fal-happyhorse-1", {"duration": 15, "aspect_ratio": "3:4", "resolution": "1080p"}),
        ("fal-kling-3", {"duration": 3, "image": b"x", "image_mime_type": "image/jpeg"}),
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
        resolve_model(CATALOG, {"demo", "gemini"}, "sora-2", "demo", today=RETIRE_DAY)
    assert err.value.category is ErrorCategory.INVALID_REQUEST
    assert err.value.detail == "model: unknown model 'sora-2'. Available models: demo, omni-1.2-flash"


def test_model_of_an_unconfigured_provider_is_unavailable():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"demo"}, "veo-3.1", "demo", today=BEFORE)
    assert err.value.category is ErrorCategory.MODEL_UNAVAILABLE
    assert "vertex provider, which is not configured" in err.value.detail


# -- the lifecycle: a retired model is refused, naming its replacement ------------------------------


def test_a_retired_model_is_unavailable_from_its_retire_day_naming_the_replacement():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"gemini"}, "omni-1.1-flash", "omni-1.2-flash", today=RETIRE_DAY)
    assert err.value.category is ErrorCategory.MODEL_UNAVAILABLE
    assert (
        err.value.detail == "model: 'omni-1.1-flash' was retired on 2026-12-03; use 'omni-1.2-flash' instead"
    )


def test_the_day_before_its_retirement_a_model_works_as_before():
    assert resolve_model(CATALOG, {"gemini"}, "omni-1.1-flash", "demo", today=BEFORE).name == "omni-1.1-flash"


def test_a_retired_default_model_is_refused_too():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"gemini", "demo"}, None, "omni-1.1-flash", today=RETIRE_DAY)
    assert err.value.category is ErrorCategory.MODEL_UNAVAILABLE
    assert "use 'omni-1.2-flash' instead" in err.value.detail


def test_a_retired_model_is_refused_as_retired_even_when_its_provider_is_not_configured():
    with pytest.raises(GenerationError) as err:
        resolve_model(CATALOG, {"demo"}, "omni-1.1-flash", "demo", today=RETIRE_DAY)
    assert "was retired on 2026-12-03" in err.value.detail


def test_a_retirement_without_replacement_says_to_pick_another_model():
    catalog = parse_catalog(
        {"models": {**raw_models(), "veo-3.1": {**raw_models()["veo-3.1"], "retires": BEFORE}}}
    )
    with pytest.raises(GenerationError) as err:
        resolve_model(catalog, {"vertex"}, "veo-3.1", "veo-3.1", today=BEFORE)
    assert err.value.detail == "model: 'veo-3.1' was retired on 2026-12-02; pick another model"


def test_unknown_model_lists_only_models_offered_today():
    with pytest.raises(GenerationError) as before:
        resolve_model(CATALOG, {"gemini"}, "omni-9", "omni-1.2-flash", today=BEFORE)
    assert before.value.detail.endswith("Available models: omni-1.2-flash, omni-1.1-flash")
    with pytest.raises(GenerationError) as after:
        resolve_model(CATALOG, {"gemini"}, "omni-9", "omni-1.2-flash", today=RETIRE_DAY)
    assert after.value.detail.endswith("Available models: omni-1.2-flash")


def raw_models() -> dict:
    return tomllib.loads(DEFAULT_CATALOG_PATH.read_text())["models"]


IMG = {"image": b"first", "image_mime_type": "image/png"}


@pytest.mark.parametrize(
    ("model", "kwargs", "message"),
    [
        (
            "omni-1.2-flash",
            {**IMG, "last_frame": b"l", "last_frame_mime_type": "image/png"},
            "last_frame: omni",
        ),
        (
            "demo",
            {"last_frame": b"l", "last_frame_mime_type": "image/png"},
            "last_frame: needs a first frame",
        ),
        ("demo", {"loop": True}, "loop: needs a first frame too"),
        ("omni-1.2-flash", {**IMG, "loop": True}, "loop: omni-1.2-flash does not take a last frame"),
        (
            "demo",
            {**IMG, "loop": True, "last_frame": b"l", "last_frame_mime_type": "image/png"},
            "leave last_frame",
        ),
        (
            "demo",
            {**IMG, "last_frame": b"l", "last_frame_mime_type": "image/gif"},
            "last_frame: type image/gif",
        ),
        ("omni-1.2-flash", {"audio": False}, "audio: omni-1.2-flash always makes sound"),
        ("fal-happyhorse-1", {"audio": False}, "always makes sound"),
    ],
)
def test_first_and_last_frame_loop_and_audio_are_refused_where_the_model_cannot(model, kwargs, message):
    with pytest.raises(GenerationError, match=message):
        check(model, **kwargs)


def test_a_loop_ends_on_its_first_frame_and_audio_follows_the_model_unless_chosen():
    looped = check("demo", **IMG, loop=True)
    assert looped.last_frame == b"first" and looped.last_frame_mime_type == "image/png"
    framed = check("veo-3.1", **IMG, last_frame=b"last", last_frame_mime_type="image/jpeg")
    assert framed.last_frame == b"last" and framed.audio
    assert not check("veo-3.1", audio=False).audio
    assert check("omni-1.2-flash", audio=True).audio and check("omni-1.2-flash").audio
