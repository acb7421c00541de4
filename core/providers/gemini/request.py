"""Shaping an Interactions create call for Omni: the keyword arguments of `interactions.create`.

Shapes (providers.md §2.1; google-genai 3.6.1 `_gaos/types/interactions/`): the prompt alone is a plain
string `input`; with media, `input` is a list of content blocks, media first and the text last (the SDK
wraps them as one `user_input` step). A first frame is an `image` block (imagecontent.py); the clip to
extend is a `video` block (videocontent.py) and `generation_config.video_config.task` is `"extend"`
(videoconfig.py). Without a video no task is sent: the model infers text or image to video, as before.
"""

from __future__ import annotations

import base64
from typing import Any

from core.providers.base import VideoRequest

EXTEND_TASK = "extend"
EXTEND_MIME_TYPE = "video/mp4"  # the Extend button always sends the parent's mp4


def create_arguments(request: VideoRequest) -> dict[str, Any]:
    """The keyword arguments of one background `interactions.create` for this request."""
    kwargs: dict[str, Any] = {
        "model": request.model.provider_model_id,
        "input": build_input(request),
        "background": True,
        "response_format": {
            "type": "video",
            "aspect_ratio": request.aspect_ratio,
            "duration": f"{request.duration}s",
            "resolution": request.resolution,
            "delivery": "uri",
        },
    }
    config = generation_config(request)
    if config:
        kwargs["generation_config"] = config
    return kwargs


def generation_config(request: VideoRequest) -> dict[str, Any]:
    """`generation_config`: the seed, and the extend task for a native extension (empty: leave it out)."""
    config: dict[str, Any] = {}
    if request.seed is not None:
        config["seed"] = request.seed
    if request.extend_video is not None:
        config["video_config"] = {"task": EXTEND_TASK}
    return config


def build_input(request: VideoRequest) -> str | list[dict[str, Any]]:
    """The prompt, or content blocks (the video to extend, the first frame, then the text) with media."""
    text = request.prompt
    if request.negative_prompt:
        # Omni has no negative-prompt parameter, so the wish goes into the prompt itself.
        text = f"{text}\n\nAvoid: {request.negative_prompt}"
    blocks: list[dict[str, Any]] = []
    if request.extend_video is not None:
        blocks.append({"type": "video", "data": _b64(request.extend_video), "mime_type": EXTEND_MIME_TYPE})
    if request.image is not None:
        blocks.append(
            {
                "type": "image",
                "data": _b64(request.image),
                "mime_type": request.image_mime_type or "image/png",
            }
        )
    if not blocks:
        return text
    return [*blocks, {"type": "text", "text": text}]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
