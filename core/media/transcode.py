"""Shrink a finished video so it fits under an upload cap (e.g. Discord's 10 MiB)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from core.errors import ErrorCategory, GenerationError
from core.media.executor import run_media
from core.media.files import human_size
from core.media.probe import probe_video

log = logging.getLogger(__name__)

SAFETY_MARGIN = 0.92  # share of the byte budget given to the streams; the rest covers mp4 overhead
MIN_BITS_PER_PIXEL = 0.05  # below this per frame, a smaller frame looks better than a blurrier one
SHORT_SIDES = (1080, 720, 540, 360)  # downscale steps for the short side
RETRY_FACTOR = 0.85  # extra headroom when an attempt came out too big
DEFAULT_FPS = Fraction(24)


@dataclass(frozen=True)
class FitResult:
    """The file to upload and how it was made."""

    path: Path
    size_bytes: int
    reencoded: bool
    width: int
    height: int
    video_kbps: int  # target video bitrate of the re-encode; 0 when the source was returned as is


class _Cancelled(Exception):
    """The awaiting task was cancelled; the worker thread stops at the next frame."""


async def fit_to_size(
    src: Path,
    dest: Path,
    max_bytes: int,
    *,
    audio_kbps: int = 96,
    min_video_kbps: int = 150,
    max_attempts: int = 3,
) -> FitResult:
    """`src` if it is at most `max_bytes`, else an H.264/AAC re-encode at `dest` that is; GenerationError if impossible."""
    stop = threading.Event()
    try:
        return await run_media(
            _fit, Path(src), Path(dest), max_bytes, audio_kbps, min_video_kbps, max_attempts, stop
        )
    except asyncio.CancelledError:
        stop.set()  # the thread cannot be killed; make it give up and delete its temp file
        raise


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
        return FitResult(src, info.size_bytes, False, info.width, info.height, 0)
    if info.duration <= 0:
        raise GenerationError(
            ErrorCategory.GENERATION_FAILED, f"{src.name} has no duration; cannot shrink it"
        )
    fps = _frame_rate(src)
    audio_kbps = audio_kbps if info.has_audio else 0
    video_kbps = int(max_bytes * 8 * SAFETY_MARGIN / info.duration / 1000) - audio_kbps
    smallest = 0
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        for attempt in range(1, max_attempts + 1):
            if video_kbps < min_video_kbps:
                break
            width, height = _frame_size(info.width, info.height, video_kbps, fps)
            started = time.monotonic()
            try:
                _encode(src, tmp, width, height, video_kbps, audio_kbps, stop)
            except av.FFmpegError as exc:
                raise GenerationError(
                    ErrorCategory.GENERATION_FAILED, f"re-encoding {src.name} failed: {exc}"
                ) from exc
            size = tmp.stat().st_size
            elapsed = time.monotonic() - started
            log.info(
                "fit %s: attempt %d at %dx%d, %d kbps -> %s (cap %s) in %.1f s",
                src.name,
                attempt,
                width,
                height,
                video_kbps,
                human_size(size),
                human_size(max_bytes),
                elapsed,
            )
            if size <= max_bytes:
                os.replace(tmp, dest)
                return FitResult(dest, size, True, width, height, video_kbps)
            smallest = size
            video_kbps = int(video_kbps * max_bytes / size * RETRY_FACTOR)
    finally:
        tmp.unlink(missing_ok=True)
    if smallest:
        tried = f"the smallest attempt was {human_size(smallest)}"
    else:
        floor = (min_video_kbps + audio_kbps) * 1000 * info.duration / 8 / SAFETY_MARGIN
        tried = f"at {min_video_kbps} kbps video it would need at least {human_size(int(floor))}"
    raise GenerationError(
        ErrorCategory.GENERATION_FAILED,
        f"cannot shrink {src.name} ({human_size(info.size_bytes)}, {info.duration:.1f} s) "
        f"under the {human_size(max_bytes)} upload cap: {tried}",
    )


def _frame_rate(path: Path) -> Fraction:
    """The video stream's average frame rate, 24 when the file does not say."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return Fraction(stream.average_rate or stream.guessed_rate or DEFAULT_FPS)


def _frame_size(width: int, height: int, video_kbps: int, fps: Fraction) -> tuple[int, int]:
    """The largest even frame size, never upscaled, with enough bits per pixel (else the smallest step)."""
    short = min(width, height)
    candidates = [short, *(side for side in SHORT_SIDES if side < short)]
    for side in candidates:
        scale = side / short
        w, h = max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
        if video_kbps * 1000 / (w * h * float(fps)) >= MIN_BITS_PER_PIXEL:
            break
    return w, h


def _encode(
    src: Path, dest: Path, width: int, height: int, video_kbps: int, audio_kbps: int, stop: threading.Event
) -> None:
    """Re-encode `src` to an H.264 (+ AAC when audio_kbps) faststart mp4 at `dest`, keeping timestamps."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dest), mode="w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        vin = inp.streams.video[0]
        vout = out.add_stream("libx264", rate=vin.average_rate or DEFAULT_FPS)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.bit_rate = video_kbps * 1000
        vout.options = {"preset": "veryfast", "maxrate": f"{video_kbps}k", "bufsize": f"{video_kbps}k"}
        streams = {vin: vout}
        if audio_kbps and inp.streams.audio:
            ain = inp.streams.audio[0]
            aout = out.add_stream("aac", rate=ain.rate or 48000)
            aout.layout = "stereo" if ain.channels >= 2 else "mono"
            aout.bit_rate = audio_kbps * 1000
            streams[ain] = aout
        for packet in inp.demux(list(streams)):
            if stop.is_set():
                raise _Cancelled
            target = streams[packet.stream]
            for frame in packet.decode():
                if target is vout:
                    frame = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
                    frame.pict_type = PictureType.NONE  # let x264 place keyframes, not the source's GOP
                out.mux(target.encode(frame))
        for target in streams.values():
            out.mux(target.encode(None))
