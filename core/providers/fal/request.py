"""Shaping a fal submit: the endpoint per request and the JSON arguments per model family."""

from __future__ import annotations

import base64
from typing import Any

from core.errors import ErrorCategory, GenerationError
from core.providers.base import VideoRequest


def format_duration(seconds: int, duration_format: str) -> str | int:
    """The duration value in the form the endpoint family wants: "6s", "6" or 6."""
    if duration_format == "seconds_suffix":
        return f"{seconds}s"
    if duration_format == "string":
        return str(seconds)
    if duration_format == "integer":
        return seconds
    raise ValueError(f"unknown duration_format {duration_format!r}")


def endpoint_for(request: VideoRequest) -> str:
    """The fal endpoint id for this request: the image-to-video one when an image is given."""
    model = request.model
    if request.image is None:
        if request.last_frame is not None:
            raise GenerationError(
                ErrorCategory.INVALID_REQUEST, f"a last frame on {model.name} needs a first frame too"
            )
        return model.provider_model_id
    if not model.image_model_id:
        raise GenerationError(
            ErrorCategory.INVALID_REQUEST,
            f"model {model.name} takes no image input on fal (no image_model_id)",
        )
    return model.image_model_id


def build_arguments(request: VideoRequest) -> dict[str, Any]:
    """The JSON arguments of a submit, shaped per model family from the catalog entry.

    Everything that differs between families is a catalog field: the duration format, whether the
    endpoint takes a resolution, whether its image endpoint takes an aspect ratio, the first- and
    last-frame fields and how sound is asked for (providers.md §4.4 and §8)."""
    model = request.model
    with_image = request.image is not None
    args: dict[str, Any] = {"prompt": request.prompt}
    if not with_image or model.image_aspect_ratio:
        args["aspect_ratio"] = request.aspect_ratio
    args["duration"] = format_duration(request.duration, model.duration_format)
    if model.send_resolution:
        args["resolution"] = request.resolution
    if model.audio in ("optional", "off"):
        # optional: sound unless the request asks for silence; off: always silence
        args["generate_audio"] = model.audio == "optional" and request.audio
    if request.negative_prompt and model.negative_prompt:
        args["negative_prompt"] = request.negative_prompt
    if request.seed is not None and model.seed:
        args["seed"] = request.seed
    if request.permissive:  # an NSFW channel whose admins chose the model's looser safety level
        args.update(model.permissive)
    if with_image:
        # fal accepts data URIs wherever it takes a file URL, so no upload step is needed.
        args[model.image_field] = data_uri(request.image, request.image_mime_type)
        if request.last_frame is not None:
            args[model.end_frame_field] = data_uri(request.last_frame, request.last_frame_mime_type)
    return args


def data_uri(image: bytes, mime_type: str | None) -> str:
    """An image as a `data:` URI (the form fal takes for a file URL field)."""
    return f"data:{mime_type or 'image/png'};base64,{base64.b64encode(image).decode('ascii')}"
