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


def config_of(request: VideoRequest) -> dict[str, Any]:
    """The options a job row keeps (the image is stored separately)."""
    return {
        "duration": request.duration,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
        "negative_prompt": request.negative_prompt,
        "seed": request.seed,
        "image_mime_type": request.image_mime_type,
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


async def _read_image(config: dict[str, Any]) -> bytes | None:
    if not config.get("image_path"):
        return None
    return await asyncio.to_thread(Path(config["image_path"]).read_bytes)


async def load_request(gen: Generation, spec: ModelSpec) -> VideoRequest:
    """The provider request of a stored job."""
    cfg = gen.config
    try:
        image = await _read_image(cfg)
    except OSError as exc:
        raise GenerationError(ErrorCategory.UNKNOWN, f"the input image is gone: {exc}") from None
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
    )


async def params_again(
    prompt: str, model: str, config: dict[str, Any], *, seed: int | None
) -> GenerationParams:
    """The parameters of an earlier job, for Regenerate (`seed` replaces the old one when given)."""
    try:
        image = await _read_image(config)
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
    )
