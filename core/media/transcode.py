"""Make a finished video uploadable under a cap (e.g. Discord's 10 MiB): as it is, remuxed or re-encoded.

- It fits and is a faststart mp4 (or its streams can't be copied into one): the source, untouched.
- It fits but the container is the problem (QuickTime, fragmented, index at the end) and the streams are
  H.264 (+ AAC): a stream copy into a faststart mp4 — no re-encode, a fraction of a second.
- It doesn't fit: one H.264 re-encode planned by `core.media.fit_plan` to land under the cap the first
  time (bitrate from the byte budget with x264's VBV bound, preset chosen for the clip's length), then
  retries at a lower bitrate if it came out too big anyway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import av

from core.errors import ErrorCategory, GenerationError
from core.media.encode import Cancelled, copyable, encode, remux, source_facts
from core.media.executor import run_media
from core.media.files import human_size
from core.media.fit_plan import RETRY_FACTOR, audio_plan, machine_cores, plan_fit, smallest_file
from core.media.mp4_layout import layout_problem
from core.media.probe import VideoInfo, probe_video

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    """The file to upload and how it was made."""

    path: Path
    size_bytes: int
    reencoded: bool
    width: int
    height: int
    video_kbps: int  # target video bitrate of the re-encode; 0 when the source was returned or remuxed
    remuxed: bool = False  # the streams were copied, untouched, into a new faststart mp4
    attempts: int = 0  # re-encodes run (1 when the first landed under the cap)
    preset: str = ""  # the x264 tier of the re-encode (core.media.fit_plan.TIERS)


async def fit_to_size(
    src: Path,
    dest: Path,
    max_bytes: int,
    *,
    audio_kbps: int = 96,
    min_video_kbps: int = 150,
    max_attempts: int = 3,
) -> FitResult:
    """`src` if it is at most `max_bytes` and a faststart mp4; else a remux or an H.264/AAC re-encode at
    `dest` that is; GenerationError if impossible."""
    stop = threading.Event()
    try:
        return await run_media(
            _fit,
            Path(src),
            Path(dest),
            max_bytes,
            audio_kbps,
            min_video_kbps,
            max_attempts,
            stop,
            whole_machine=True,  # threaded decode and encode: one fit at a time is done soonest
        )
    except asyncio.CancelledError:
        stop.set()  # the thread cannot be killed; make it give up and delete its temp file
        raise


def _temp_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")


def _fit(
    src: Path,
    dest: Path,
    max_bytes: int,
    audio_kbps: int,
    min_video_kbps: int,
    max_attempts: int,
    stop: threading.Event,
) -> FitResult:
    """The blocking body of fit_to_size."""
    info = probe_video(src)
    if info.size_bytes <= max_bytes:
        return _as_is_or_remuxed(src, dest, info, max_bytes, stop)
    if info.duration <= 0:
        raise GenerationError(
            ErrorCategory.GENERATION_FAILED, f"{src.name} has no duration; cannot shrink it"
        )
    source = source_facts(src, info)
    cores = machine_cores()
    plan = plan_fit(source, max_bytes, audio_kbps, cores)
    smallest = 0
    tmp = _temp_path(dest)
    try:
        for attempt in range(1, max_attempts + 1):
            if plan.video_kbps < min_video_kbps:
                break
            started = time.monotonic()
            try:
                encode(src, tmp, plan, stop)
            except av.FFmpegError as exc:
                raise GenerationError(
                    ErrorCategory.GENERATION_FAILED, f"re-encoding {src.name} failed: {exc}"
                ) from exc
            size = tmp.stat().st_size
            log.info(
                "fit %s: attempt %d at %dx%d, %d kbps, x264 %s, audio %s -> %s (cap %s) in %.1f s",
                src.name,
                attempt,
                plan.width,
                plan.height,
                plan.video_kbps,
                plan.tier.name,
                "copied" if plan.copy_audio else f"{plan.audio_kbps} kbps" if plan.audio_kbps else "none",
                human_size(size),
                human_size(max_bytes),
                time.monotonic() - started,
            )
            if size <= max_bytes:
                os.replace(tmp, dest)
                return FitResult(
                    dest, size, True, plan.width, plan.height, plan.video_kbps, False, attempt, plan.tier.name
                )
            smallest = size
            lower = int(plan.video_kbps * max_bytes / size * RETRY_FACTOR)
            plan = plan_fit(source, max_bytes, audio_kbps, cores, video_kbps=lower)
    except Cancelled:
        log.info("fit %s: cancelled", src.name)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    if smallest:
        tried = f"the smallest attempt was {human_size(smallest)}"
    else:
        floor = smallest_file(min_video_kbps, source, audio_plan(source, audio_kbps)[2])
        tried = f"at {min_video_kbps} kbps video it would need at least {human_size(floor)}"
    raise GenerationError(
        ErrorCategory.GENERATION_FAILED,
        f"cannot shrink {src.name} ({human_size(info.size_bytes)}, {info.duration:.1f} s) "
        f"under the {human_size(max_bytes)} upload cap: {tried}",
    )


def _as_is_or_remuxed(
    src: Path, dest: Path, info: VideoInfo, max_bytes: int, stop: threading.Event
) -> FitResult:
    """A file that fits: itself, or a stream copy into a faststart mp4 when only the container is wrong."""
    as_is = FitResult(src, info.size_bytes, False, info.width, info.height, 0)
    why = layout_problem(src)
    if why is None or not copyable(info, source_facts(src, info)):
        return as_is
    tmp = _temp_path(dest)
    started = time.monotonic()
    try:
        remux(src, tmp, stop)
        size = tmp.stat().st_size
        if size > max_bytes:
            log.info("fit %s: the remux of %s came out over the cap; sending it as it is", src.name, why)
            return as_is
        os.replace(tmp, dest)
    except av.FFmpegError as exc:  # the file plays as it is, if less well: never fail a delivery here
        log.warning("fit %s: remuxing %s failed (%s); sending it as it is", src.name, why, exc)
        return as_is
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "fit %s: %s, remuxed to a faststart mp4 (%s) in %.2f s",
        src.name,
        why,
        human_size(size),
        time.monotonic() - started,
    )
    return FitResult(dest, size, False, info.width, info.height, 0, remuxed=True)
