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
        return model.provider_model_id
    if not model.image_model_id:
        raise GenerationError(
            ErrorCategory.INVALID_REQUEST,
            f"model {model.name} takes no image input on fal (no image_model_id)",
        )
    return model.image_model_id


def build_arguments(request: VideoRequest) -> dict[str, Any]:
    """The JSON arguments of a submit, shaped per model family from the catalog entry."""
    model = request.model
    args: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "duration": format_duration(request.duration, model.duration_format),
    }
    if model.send_resolution:
        args["resolution"] = request.resolution
    if model.audio == "optional":
        args["generate_audio"] = True
    if request.negative_prompt and model.negative_prompt:
        args["negative_prompt"] = request.negative_prompt
    if request.seed is not None and model.seed:
        args["seed"] = request.seed
    if request.image is not None:
        # fal accepts data URIs wherever it takes a file URL, so no upload step is needed.
        mime = request.image_mime_type or "image/png"
        args["image_url"] = f"data:{mime};base64,{base64.b64encode(request.image).decode('ascii')}"
    return args
