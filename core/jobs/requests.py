"""A stored job back as a request: what to send the provider, or what Regenerate asks for again.

The job row keeps the validated options in `config` and an input image as a file under
OUTPUT_DIR/inputs; both readers here load that file off the event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from core.catalog import ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.media.retention import INPUTS_FOLDER
from core.providers.base import VideoRequest
from core.validation import GenerationParams
from models import Generation

IMAGE_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def config_of(request: VideoRequest, *, loop: bool = False) -> dict[str, Any]:
    """The options a job row keeps (the images are stored separately; a loop's last frame is its first)."""
    return {
        "duration": request.duration,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
        "negative_prompt": request.negative_prompt,
        "seed": request.seed,
        "image_mime_type": request.image_mime_type,
        "audio": request.audio,
        "loop": loop,
        "last_frame_mime_type": None if loop else request.last_frame_mime_type,
    }


async def store_image(output_dir: Path, image: bytes, mime_type: str | None) -> Path:
    """Write an input image under OUTPUT_DIR/inputs (off the event loop); its path."""
    folder = output_dir / INPUTS_FOLDER
    path = folder / f"{uuid.uuid4().hex}{IMAGE_EXTENSIONS.get(mime_type or '', '.bin')}"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)

    await asyncio.to_thread(write)
    return path


async def _read_image(config: dict[str, Any], key: str = "image_path") -> bytes | None:
    if not config.get(key):
        return None
    return await asyncio.to_thread(Path(config[key]).read_bytes)


async def _last_frame(config: dict[str, Any], image: bytes | None) -> tuple[bytes | None, str | None]:
    """The closing frame a job was asked with: its own file, or the first frame again for a loop."""
    if config.get("loop"):
        return image, config.get("image_mime_type")
    data = await _read_image(config, "last_frame_path")
    return data, config.get("last_frame_mime_type") if data is not None else None


async def load_request(gen: Generation, spec: ModelSpec) -> VideoRequest:
    """The provider request of a stored job."""
    cfg = gen.config
    try:
        image = await _read_image(cfg)
        last_frame, last_mime = await _last_frame(cfg, image)
    except OSError as exc:
        raise GenerationError(ErrorCategory.UNKNOWN, f"the input image is gone: {exc}") from None
    try:
        extend_video = await _read_image(cfg, "extend_video_path")
    except OSError as exc:
        raise GenerationError(
            ErrorCategory.INVALID_REQUEST, f"the clip to extend is gone (kept {exc.filename})"
        ) from None
    return VideoRequest(
        prompt=gen.prompt,
        model=spec,
        duration=cfg["duration"],
        aspect_ratio=cfg["aspect_ratio"],
        resolution=cfg["resolution"],
        negative_prompt=cfg.get("negative_prompt"),
        seed=cfg.get("seed"),
        image=image,
        image_mime_type=cfg.get("image_mime_type") if image is not None else None,
        last_frame=last_frame,
        last_frame_mime_type=last_mime,
        audio=cfg.get("audio", True),
        extend_video=extend_video,
        permissive=bool(cfg.get("permissive_safety")),
    )


async def params_again(
    prompt: str, model: str, config: dict[str, Any], *, seed: int | None
) -> GenerationParams:
    """The parameters of an earlier job, for Regenerate (`seed` replaces the old one when given)."""
    try:
        image = await _read_image(config)
        last_frame, last_mime = (None, None) if config.get("loop") else await _last_frame(config, image)
    except OSError as exc:
        raise GenerationError(
            ErrorCategory.INVALID_REQUEST, f"image: the original image is gone ({exc})"
        ) from None
    return GenerationParams(
        prompt=prompt,
        model=model,
        duration=config.get("duration"),
        aspect_ratio=config.get("aspect_ratio"),
        resolution=config.get("resolution"),
        negative_prompt=config.get("negative_prompt"),
        seed=seed if seed is not None else config.get("seed"),
        image=image,
        image_mime_type=config.get("image_mime_type") if image is not None else None,
        last_frame=last_frame,
        last_frame_mime_type=last_mime,
        loop=bool(config.get("loop")),
        audio=config.get("audio"),
    )
