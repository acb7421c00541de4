"""What a video file is: probing with PyAV, and the mp4 signature check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from core.errors import ErrorCategory, GenerationError

MP4_SIGNATURE = b"ftyp"


@dataclass(frozen=True)
class VideoInfo:
    """What a video file contains, as read by PyAV."""

    duration: float  # seconds
    width: int
    height: int
    video_codec: str
    has_audio: bool
    size_bytes: int


def probe_video(path: str | Path) -> VideoInfo:
    """Read duration, frame size, codec and audio presence; GenerationError if it is not a video."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with av.open(str(path)) as container:
            video = next((s for s in container.streams if s.type == "video"), None)
            if video is None:
                raise GenerationError(ErrorCategory.GENERATION_FAILED, f"{path.name} has no video stream")
            has_audio = any(s.type == "audio" for s in container.streams)
            if video.duration is not None and video.time_base is not None:
                duration = float(video.duration * video.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            ctx = video.codec_context
            return VideoInfo(duration, ctx.width, ctx.height, ctx.name, has_audio, size)
    except (av.FFmpegError, OSError) as exc:
        raise GenerationError(
            ErrorCategory.GENERATION_FAILED, f"{path.name} is not a readable video: {exc}"
        ) from exc


def looks_like_mp4(head: bytes) -> bool:
    """True when the first bytes carry the ISO-BMFF signature (b'ftyp' at offset 4)."""
    return len(head) >= 8 and head[4:8] == MP4_SIGNATURE
