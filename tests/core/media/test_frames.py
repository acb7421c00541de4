"""Tests for core.media.frames: the last frame of a video, decoded from its last keyframe."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image

from core.errors import ErrorCategory, GenerationError
from core.media import frames
from core.media.demo_render import render_demo_video
from core.media.frames import last_frame_png

FRAMES = 60
GOP = 12


def grey_ramp(path: Path, *, b_frames: int = 2) -> Path:
    """A 64x64 clip of FRAMES frames where frame i is grey level 4*i; a keyframe every GOP frames."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(GOP), "keyint_min": str(GOP), "bf": str(b_frames), "crf": "10"}
        for i in range(FRAMES):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 64), (4 * i,) * 3))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def centre(png: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.convert("RGB").getpixel((image.width // 2, image.height // 2))


@pytest.mark.parametrize("b_frames", [0, 2])
async def test_the_last_frame_is_the_final_frame_shown(tmp_path: Path, b_frames: int) -> None:
    png = await last_frame_png(grey_ramp(tmp_path / "ramp.mp4", b_frames=b_frames))
    assert centre(png) == pytest.approx((4 * (FRAMES - 1),) * 3, abs=3)  # not 4 * 48, its keyframe's


async def test_only_the_last_group_of_pictures_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = grey_ramp(tmp_path / "ramp.mp4")
    decoded: list[int] = []
    latest = frames._latest

    class Counting:
        def __init__(self, container: av.container.InputContainer) -> None:
            self.container = container

        def decode(self, *args: object):
            for frame in self.container.decode(*args):
                decoded.append(frame.pts)
                yield frame

    monkeypatch.setattr(frames, "_latest", lambda container, stream: latest(Counting(container), stream))
    await last_frame_png(path)
    assert 0 < len(decoded) <= GOP + 2  # the last GOP (plus what B-frames reach back to), not 60


async def test_a_demo_clip_whose_last_frame_is_solid_blue_gives_blue(tmp_path: Path) -> None:
    blue = tmp_path / "blue.png"
    Image.new("RGB", (64, 64), (20, 40, 230)).save(blue)
    clip = tmp_path / "clip.mp4"
    render_demo_video(clip, prompt="x", duration=2, width=320, height=180, last_frame=blue)
    png = await last_frame_png(clip)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (320, 180)
        assert image.convert("RGB").getpixel((160, 70)) == pytest.approx((20, 40, 230), abs=25)


async def test_an_audio_only_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(GenerationError) as err:
        await last_frame_png(path)
    assert err.value.category is ErrorCategory.GENERATION_FAILED
    assert "no video stream" in err.value.detail and "sound.m4a" in err.value.detail


@pytest.mark.parametrize("content", [b"", b"not a video" * 10, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40])
async def test_unreadable_data_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(GenerationError) as err:
        await last_frame_png(path)
    assert err.value.category is ErrorCategory.GENERATION_FAILED
    assert "bad.mp4" in err.value.detail


async def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GenerationError) as err:
        await last_frame_png(tmp_path / "missing.mp4")
    assert err.value.category is ErrorCategory.GENERATION_FAILED
