"""A stored job back as a request: what to send the provider, or what Regenerate asks for again.

The job row keeps the validated options in `config` and an input image as a file in storage
(`inputs/<uuid>.png`: its key under `image_key`, and the admitting host's copy under `image_path`); the
readers here fetch it through storage (another host's worker gets it from object storage) and load it off
the event loop. Jobs from before storage keys have only the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

from core.catalog import ModelSpec
from core.errors import ErrorCategory, GenerationError
from core.media.retention import INPUTS_FOLDER
from core.providers.base import VideoRequest
from core.storage import Storage, local_copy
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


# A config's local path of a stored file -> the config key of its storage key.
STORED_KEYS = {
    "image_path": "image_key",
    "last_frame_path": "last_frame_key",
    "extend_video_path": "extend_video_key",
    "join_after": "join_after_key",
}


async def store_image(storage: Storage, image: bytes, mime_type: str | None) -> tuple[str, Path]:
    """Keep an input image in storage as `inputs/<uuid>.<ext>` (written off the event loop); its key and
    this host's copy."""
    key = f"{INPUTS_FOLDER}/{uuid.uuid4().hex}{IMAGE_EXTENSIONS.get(mime_type or '', '.bin')}"
    path = storage.local_path(key)
    temp = path.with_name(f".{path.name}.part")

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(image)
        temp.replace(path)

    await asyncio.to_thread(write)
    try:
        await storage.put(key, path)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return key, path


async def drop_images(storage: Storage, config: dict[str, Any]) -> None:
    """Remove the input images stored for a job that was never recorded (this host's copies too)."""
    for path_key in ("image_path", "last_frame_path"):
        if config.get(path_key):
            await asyncio.to_thread(Path(config[path_key]).unlink, missing_ok=True)
        if config.get(STORED_KEYS[path_key]):
            with contextlib.suppress(OSError):  # else retention removes it
                await storage.delete(config[STORED_KEYS[path_key]])


async def _read_image(
    config: dict[str, Any], key: str = "image_path", storage: Storage | None = None
) -> bytes | None:
    path = await local_copy(storage, config.get(STORED_KEYS[key]), config.get(key))
    if path is None:
        return None
    return await asyncio.to_thread(path.read_bytes)


async def _last_frame(
    config: dict[str, Any], image: bytes | None, storage: Storage | None
) -> tuple[bytes | None, str | None]:
    """The closing frame a job was asked with: its own file, or the first frame again for a loop."""
    if config.get("loop"):
        return image, config.get("image_mime_type")
    data = await _read_image(config, "last_frame_path", storage)
    return data, config.get("last_frame_mime_type") if data is not None else None


async def load_request(gen: Generation, spec: ModelSpec, storage: Storage | None = None) -> VideoRequest:
    """The provider request of a stored job (its files fetched through `storage`)."""
    cfg = gen.config
    try:
        image = await _read_image(cfg, "image_path", storage)
        last_frame, last_mime = await _last_frame(cfg, image, storage)
    except OSError as exc:
        raise GenerationError(ErrorCategory.UNKNOWN, f"the input image is gone: {exc}") from None
    try:
        extend_video = await _read_image(cfg, "extend_video_path", storage)
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
    prompt: str, model: str, config: dict[str, Any], *, seed: int | None, storage: Storage | None = None
) -> GenerationParams:
    """The parameters of an earlier job, for Regenerate (`seed` replaces the old one when given)."""
    try:
        image = await _read_image(config, "image_path", storage)
        last_frame, last_mime = (
            (None, None) if config.get("loop") else await _last_frame(config, image, storage)
        )
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
