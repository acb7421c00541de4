"""Turn raw user input into a VideoRequest for one catalog model, or say exactly what is wrong."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from core.catalog import Catalog, ModelSpec
from core.errors import ErrorCategory, GenerationError, invalid
from core.providers.base import VideoRequest

MAX_PROMPT_CHARS = 2000
MAX_NEGATIVE_PROMPT_CHARS = 500
MAX_SEED = 2**32 - 1


def random_seed() -> int:
    """A seed for a model that takes one when the request named none (recorded, so it can be reused)."""
    return random.randrange(MAX_SEED + 1)


IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_VARIANTS = 4


@dataclass(frozen=True)
class GenerationParams:
    """What a user asked for, before validation. None means "the model's default"."""

    prompt: str
    model: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    image: bytes | None = None
    image_mime_type: str | None = None
    last_frame: bytes | None = None
    last_frame_mime_type: str | None = None
    loop: bool = False  # the first frame is also the last
    audio: bool | None = None  # None: the model's way (sound unless its audio is "off" or "none")
    variants: int = 1  # that many jobs (each charged, each its own seed) sharing one message


def clean_text(text: str) -> str:
    """Remove control characters (keeping newlines and tabs as spaces) and trim."""
    kept = []
    for ch in text:
        if ch in "\n\t\r":
            kept.append(" " if ch != "\n" else "\n")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    return "".join(kept).strip()


def resolve_model(
    catalog: Catalog, available: set[str], name: str | None, default: str, *, today: dt.date
) -> ModelSpec:
    """The catalog model for `name` (default when None), which must be offered on `today` (a UTC day)
    and have its provider configured."""
    name = (name or default).strip()
    spec = catalog.get(name)
    if spec is None:
        offered = [m.name for m in catalog.offered(today) if m.provider in available]
        raise invalid(f"model: unknown model '{name}'. Available models: {', '.join(offered) or 'none'}")
    if spec.retired(today):
        raise GenerationError(ErrorCategory.MODEL_UNAVAILABLE, retirement_notice(catalog, spec, today))
    if spec.provider not in available:
        raise GenerationError(
            ErrorCategory.MODEL_UNAVAILABLE,
            f"model: '{name}' needs the {spec.provider} provider, which is not configured on this bot",
        )
    return spec


def retirement_notice(catalog: Catalog, spec: ModelSpec, today: dt.date) -> str:
    """Why a retired model is refused, naming what to use instead."""
    text = f"model: '{spec.name}' was retired on {spec.retires:%Y-%m-%d}"
    successor = catalog.successor(spec.name, today)
    if successor is None:
        return f"{text}; pick another model"
    return f"{text}; use '{successor.name}' instead"


def validate(params: GenerationParams, spec: ModelSpec) -> VideoRequest:
    """Check every field against the model's limits; the error names the field and the allowed values."""
    prompt = clean_text(params.prompt or "")
    if not prompt:
        raise invalid("prompt: must not be empty")
    limit = min(spec.max_prompt_chars, MAX_PROMPT_CHARS)
    if len(prompt) > limit:
        raise invalid(f"prompt: {len(prompt)} characters is too long; at most {limit} are allowed")

    duration = spec.default_duration if params.duration is None else params.duration
    if duration not in spec.durations:
        raise invalid(
            f"duration: {duration} s is not offered by {spec.name}; allowed: {_list(spec.durations)} s"
        )
    aspect = spec.default_aspect_ratio if params.aspect_ratio is None else params.aspect_ratio.strip()
    if aspect not in spec.aspect_ratios:
        raise invalid(
            f"aspect_ratio: '{aspect}' is not offered by {spec.name}; allowed: {_list(spec.aspect_ratios)}"
        )
    resolution = spec.default_resolution if params.resolution is None else params.resolution.strip().lower()
    if resolution not in spec.resolutions:
        raise invalid(
            f"resolution: '{resolution}' is not offered by {spec.name}; allowed: {_list(spec.resolutions)}"
        )
    for rule in spec.rules:
        if resolution in rule.resolutions and duration not in rule.durations:
            raise invalid(f"duration: {rule.message}; allowed at {resolution}: {_list(rule.durations)} s")

    negative = clean_text(params.negative_prompt) if params.negative_prompt else None
    if negative:
        if not spec.negative_prompt:
            raise invalid(f"negative_prompt: {spec.name} does not take a negative prompt")
        if len(negative) > MAX_NEGATIVE_PROMPT_CHARS:
            raise invalid(f"negative_prompt: at most {MAX_NEGATIVE_PROMPT_CHARS} characters are allowed")
    seed = params.seed
    if seed is not None:
        if not spec.seed:
            raise invalid(f"seed: {spec.name} does not take a seed")
        if not 0 <= seed <= MAX_SEED:
            raise invalid(f"seed: must be between 0 and {MAX_SEED}")
    if params.image is not None:
        if not spec.image_input:
            raise invalid(f"image: {spec.name} does not take an image")
        _check_image("image", params.image, params.image_mime_type)
    elif spec.image_required:
        raise invalid(
            f"image: {spec.name} makes a video from a first frame; attach one with the image option"
        )
    last_frame, last_mime = _end_frame(params, spec)
    if not 1 <= params.variants <= MAX_VARIANTS:
        raise invalid(f"variants: between 1 and {MAX_VARIANTS}")

    return VideoRequest(
        prompt=prompt,
        model=spec,
        duration=duration,
        aspect_ratio=aspect,
        resolution=resolution,
        negative_prompt=negative or None,
        seed=seed,
        image=params.image,
        image_mime_type=params.image_mime_type if params.image is not None else None,
        last_frame=last_frame,
        last_frame_mime_type=last_mime,
        audio=_audio(params.audio, spec),
    )


def _check_image(field: str, data: bytes, mime_type: str | None) -> None:
    if mime_type not in IMAGE_TYPES:
        raise invalid(f"{field}: type {mime_type or 'unknown'} is not allowed; use PNG, JPEG or WebP")
    if len(data) > MAX_IMAGE_BYTES:
        raise invalid(f"{field}: {len(data)} bytes is more than {MAX_IMAGE_BYTES} allowed")


def _end_frame(params: GenerationParams, spec: ModelSpec) -> tuple[bytes | None, str | None]:
    """The closing frame: the given last frame, or the first frame again for a loop."""
    if params.last_frame is None and not params.loop:
        return None, None
    field = "loop" if params.loop else "last_frame"
    if not spec.end_frame:
        raise invalid(f"{field}: {spec.name} does not take a last frame")
    if params.image is None:
        raise invalid(f"{field}: needs a first frame too (the image option)")
    if params.loop:
        if params.last_frame is not None:
            raise invalid("loop: a loop ends on its first frame; leave last_frame out")
        return params.image, params.image_mime_type
    _check_image("last_frame", params.last_frame, params.last_frame_mime_type)
    return params.last_frame, params.last_frame_mime_type


def _audio(asked: bool | None, spec: ModelSpec) -> bool:
    """Whether the request asks for sound: the model's way unless the user chose and the model lets them."""
    makes_sound = spec.audio in ("always", "optional")
    if asked is None or asked == makes_sound:
        return makes_sound
    if spec.audio == "optional":
        return asked
    if spec.audio == "always":
        raise invalid(f"audio: {spec.name} always makes sound; pick a model whose audio is optional")
    raise invalid(f"audio: {spec.name} makes no sound; pick a model that does")


def _list(values: tuple) -> str:
    return ", ".join(str(v) for v in values)
