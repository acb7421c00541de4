"""Single frames out of a video: the last one, e.g. to continue a clip from where it ended."""

from __future__ import annotations

import io
from pathlib import Path

import av

from core.errors import ErrorCategory, GenerationError
from core.media.executor import run_media


async def last_frame_png(path: Path) -> bytes:
    """The last frame (in presentation order) of the video at `path` as PNG bytes, decoded from the last
    keyframe on; GenerationError (GENERATION_FAILED) when the file is unreadable or has no video frame."""
    return await run_media(_last_frame_png, Path(path))


def _last_frame_png(path: Path) -> bytes:
    """The blocking body of last_frame_png."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise _unreadable(path, "it has no video stream")
            stream = container.streams.video[0]
            frame = None
            if stream.duration:  # seek to the keyframe before the end, then decode the rest
                end = (stream.start_time or 0) + stream.duration - 1
                container.seek(end, stream=stream, backward=True, any_frame=False)
                frame = _latest(container, stream)
            if frame is None:  # no index (or the seek found nothing): decode it all
                container.seek(0, stream=stream, backward=True)
                frame = _latest(container, stream)
            if frame is None:
                raise _unreadable(path, "it has no decodable video frame")
            png = io.BytesIO()
            frame.to_image().save(png, format="PNG")
            return png.getvalue()
    except (av.FFmpegError, OSError) as exc:
        raise _unreadable(path, str(exc)) from exc


def _latest(container: av.container.InputContainer, stream: av.VideoStream) -> av.VideoFrame | None:
    """The frame with the highest timestamp decoded from the current position to the end."""
    latest = None
    for frame in container.decode(stream):
        if latest is None or frame.pts is None or latest.pts is None or frame.pts >= latest.pts:
            latest = frame
    return latest


def _unreadable(path: Path, why: str) -> GenerationError:
    return GenerationError(ErrorCategory.GENERATION_FAILED, f"no last frame from {path.name}: {why}")
