"""Downloading a finished ComfyUI video from `/view`: streamed, capped, checked to be an mp4."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from core.errors import ErrorCategory, GenerationError
from core.providers._common import CappedSink, check_mp4, discard, too_large, transport_error, write_video
from core.providers.base import VideoSource

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024


async def fetch(
    session: aiohttp.ClientSession,
    job_id: str,
    video: VideoSource,
    dest: Path,
    max_bytes: int,
    headers: Mapping[str, str],
    time_limit: aiohttp.ClientTimeout,
) -> int:
    """Write the video to `dest` and return its size; no partial file is left on any failure."""
    if video.data is not None:
        return await write_video(video.data, dest, max_bytes, f"the video of ComfyUI job {job_id}")
    if not video.url:
        raise GenerationError(ErrorCategory.GENERATION_FAILED, f"ComfyUI job {job_id} gave no video URL")
    try:
        size = await _download(session, job_id, video.url, dest, max_bytes, headers, time_limit)
    except BaseException as exc:
        await asyncio.to_thread(discard, dest)
        if isinstance(exc, GenerationError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, TimeoutError | aiohttp.ClientError):
            raise transport_error(f"download of ComfyUI job {job_id}", exc) from exc
        if isinstance(exc, OSError):
            raise GenerationError(ErrorCategory.UNKNOWN, f"could not write {dest}: {exc}") from exc
        raise
    log.info("fetched ComfyUI video %s: %d bytes", job_id, size)
    return size


async def _download(
    session: aiohttp.ClientSession,
    job_id: str,
    url: str,
    dest: Path,
    max_bytes: int,
    headers: Mapping[str, str],
    time_limit: aiohttp.ClientTimeout,
) -> int:
    async with session.get(url, headers=dict(headers), timeout=time_limit, allow_redirects=False) as resp:
        if resp.status in (401, 403):
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"ComfyUI refused the download of {job_id} (HTTP {resp.status}): check COMFYUI_HEADERS",
            )
        if resp.status != 200:
            raise GenerationError(
                ErrorCategory.PROVIDER_UNAVAILABLE,
                f"download of ComfyUI job {job_id} failed with HTTP {resp.status}",
                retryable=resp.status == 404 or resp.status >= 500,
            )
        declared = resp.content_length
        if declared is not None and declared > max_bytes:
            raise too_large(max_bytes)
        async with CappedSink(dest, max_bytes) as sink:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                await sink.write(chunk)
    if declared is not None and sink.size != declared:
        raise GenerationError(
            ErrorCategory.PROVIDER_UNAVAILABLE,
            f"download of {job_id} was truncated: got {sink.size} of {declared} bytes",
            retryable=True,
        )
    check_mp4(sink.head, "the downloaded file")
    return sink.size
