"""One tiny, valid mp4 for the fake video APIs, generated once per process with PyAV."""

from __future__ import annotations

import functools
import io

import av


@functools.cache
def sample_mp4(seconds: float = 1.0, size: int = 64, fps: int = 8) -> bytes:
    """A real H.264 mp4 (default 1 s, 64x64, 8 fps); cached, so it is encoded once."""
    frames = max(1, round(seconds * fps))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame(size, size, "yuv420p")
            shade = 16 + (i * 200) // frames
            for plane, value in zip(frame.planes, (shade, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buf.getvalue()
