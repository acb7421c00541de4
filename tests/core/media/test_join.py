"""Tests for core.media.join: two clips into one mp4, by stream copy or re-encode, sound over all of it."""

from __future__ import annotations

import dataclasses
import itertools
import math
from array import array
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from core.errors import ErrorCategory, GenerationError
from core.media import join
from core.media.demo_render import render_demo_video
from core.media.join import inspect_clip, join_clips, stream_copyable
from core.media.mp4_layout import layout_problem
from core.media.probe import probe_video

FRAME = 1 / 24  # the demo renders at 24 fps


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Demo clips: 2 s with a tone, 4 s silent (both 640x360), 4 s 320x180 with a tone."""
    folder = tmp_path_factory.mktemp("clips")
    specs = {
        "sound2": (2, 640, 360, True),
        "silent4": (4, 640, 360, False),
        "small4": (4, 320, 180, True),
        "silent2": (2, 640, 360, False),
    }
    paths = {}
    for name, (duration, width, height, audio) in specs.items():
        paths[name] = folder / f"{name}.mp4"
        render_demo_video(
            paths[name], prompt=name, duration=duration, width=width, height=height, seed=7, audio=audio
        )
    return paths


def video_times(path: Path) -> list[Fraction]:
    """Presentation times of every decoded frame, in seconds."""
    with av.open(str(path)) as container:
        return [frame.pts * frame.time_base for frame in container.decode(video=0)]


def frame_at(path: Path, index: int) -> Image.Image:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_image()
    raise AssertionError(f"{path} has no frame {index}")


def same_picture(a: Image.Image, b: Image.Image) -> bool:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3 < 6


def loudness(path: Path, start: float, end: float) -> float:
    """RMS of the first channel between `start` and `end` seconds (0 for a silent span)."""
    total, count = 0.0, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            t0 = float(frame.pts * frame.time_base)
            samples = array("f", bytes(frame.planes[0])[: frame.samples * 4])
            for k, value in enumerate(samples):
                if start <= t0 + k / frame.sample_rate < end:
                    total += value * value
                    count += 1
    assert count, f"no audio between {start} and {end} s"
    return math.sqrt(total / count)


def audio_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


def check_seamless(path: Path, frames: int) -> None:
    """`frames` frames one frame apart from 0 on: timestamps rise evenly, no gap, no overlap."""
    times = video_times(path)
    assert len(times) == frames
    assert times[0] == 0
    assert {b - a for a, b in itertools.pairwise(times)} == {Fraction(1, 24)}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def check_browser_playable(path: Path) -> None:
    assert layout_problem(path) is None  # faststart mp4: moov before mdat
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert all(stream.codec_context.name == "aac" for stream in container.streams.audio)


# -- stream copy ------------------------------------------------------------------------------


async def test_same_size_clips_are_joined_by_stream_copy(clips: dict[str, Path], tmp_path: Path) -> None:
    first, second = inspect_clip(clips["sound2"]), inspect_clip(clips["silent4"])
    assert stream_copyable(first, second, drop_first_frame=False)
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["sound2"], clips["silent4"], dest, drop_first_frame=False)
    assert duration == pytest.approx(6.0, abs=FRAME) == probe_video(dest).duration
    check_seamless(dest, 48 + 96)
    check_browser_playable(dest)
    assert same_picture(frame_at(dest, 47), frame_at(clips["sound2"], 47))
    assert same_picture(frame_at(dest, 48), frame_at(clips["silent4"], 0))
    with av.open(str(dest)) as joined, av.open(str(clips["silent4"])) as source:  # copied, not re-encoded
        assert (
            joined.streams.video[0].codec_context.extradata == source.streams.video[0].codec_context.extradata
        )


async def test_stream_copy_drops_the_duplicate_at_the_end_of_the_first(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["sound2"], clips["silent4"], dest, drop_first_frame=True)
    assert duration == pytest.approx(6.0 - FRAME, abs=FRAME / 2)
    check_seamless(dest, 48 + 96 - 1)
    assert same_picture(frame_at(dest, 46), frame_at(clips["sound2"], 46))
    assert same_picture(frame_at(dest, 47), frame_at(clips["silent4"], 0))  # the same picture as 47 was


# -- re-encode --------------------------------------------------------------------------------


async def test_clips_of_different_sizes_are_re_encoded_at_the_first_ones_size(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    assert not stream_copyable(inspect_clip(clips["sound2"]), inspect_clip(clips["small4"]), False)
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["sound2"], clips["small4"], dest, drop_first_frame=False)
    info = probe_video(dest)
    assert (info.width, info.height) == (640, 360)
    assert duration == pytest.approx(6.0, abs=FRAME) == info.duration
    check_seamless(dest, 48 + 96)
    check_browser_playable(dest)
    assert same_picture(frame_at(dest, 48), frame_at(clips["small4"], 0).resize((640, 360)))


async def test_re_encode_drops_the_first_frame_of_the_second(clips: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["small4"], clips["sound2"], dest, drop_first_frame=True)
    assert probe_video(dest).width == 320
    assert duration == pytest.approx(6.0 - FRAME, abs=FRAME / 2)
    check_seamless(dest, 96 + 48 - 1)
    assert same_picture(frame_at(dest, 95), frame_at(clips["small4"], 95))
    assert same_picture(frame_at(dest, 96), frame_at(clips["sound2"], 1).resize((320, 180)))


def test_a_drop_re_encodes_when_the_first_clips_last_packet_is_needed(clips: dict[str, Path]) -> None:
    first, second = inspect_clip(clips["sound2"]), inspect_clip(clips["silent4"])
    reordered = dataclasses.replace(first, last_is_final=False)  # e.g. ends on a B-frame before its P
    assert stream_copyable(reordered, second, drop_first_frame=False)
    assert not stream_copyable(reordered, second, drop_first_frame=True)
    assert not stream_copyable(first, dataclasses.replace(second, extradata=b"other SPS"), False)
    assert not stream_copyable(first, dataclasses.replace(second, codec="hevc"), False)


# -- sound ------------------------------------------------------------------------------------


@pytest.mark.parametrize("drop", [False, True])
async def test_a_sounding_clip_then_a_silent_one_keep_sound_then_silence(
    clips: dict[str, Path], tmp_path: Path, drop: bool
) -> None:
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["sound2"], clips["silent4"], dest, drop_first_frame=drop)
    assert audio_duration(dest) == pytest.approx(duration, abs=FRAME)
    assert loudness(dest, 0.1, 1.9) > 0.1  # the tone (amplitude 0.2: RMS 0.14)
    assert loudness(dest, 2.1, duration) < 0.005


async def test_a_silent_clip_extended_by_a_sounding_one_sounds_after_the_seam(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["silent4"], clips["small4"], dest, drop_first_frame=True)
    assert audio_duration(dest) == pytest.approx(duration, abs=FRAME)
    assert loudness(dest, 0, 3.9) < 0.005
    assert loudness(dest, 4.1, duration - 0.1) > 0.1


async def test_two_silent_clips_make_a_video_without_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "joined.mp4"
    await join_clips(clips["silent2"], clips["silent4"], dest, drop_first_frame=False)
    assert probe_video(dest).has_audio is False


# -- files ------------------------------------------------------------------------------------


async def test_the_destination_is_replaced_and_no_temp_file_remains(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    dest = tmp_path / "joined.mp4"
    dest.write_bytes(b"old")
    await join_clips(clips["sound2"], clips["silent2"], dest, drop_first_frame=False)
    assert probe_video(dest).duration == pytest.approx(4.0, abs=FRAME)
    assert names(tmp_path) == ["joined.mp4"]


@pytest.mark.parametrize("which", ["first", "second"])
async def test_an_unreadable_input_fails_and_writes_nothing(
    clips: dict[str, Path], tmp_path: Path, which: str
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    pair = (bad, clips["sound2"]) if which == "first" else (clips["sound2"], bad)
    dest = tmp_path / "joined.mp4"
    with pytest.raises(GenerationError) as err:
        await join_clips(*pair, dest, drop_first_frame=False)
    assert err.value.category is ErrorCategory.GENERATION_FAILED
    assert "bad.mp4" in err.value.detail
    assert names(tmp_path) == ["bad.mp4"]


async def test_a_stream_copy_the_muxer_refuses_falls_back_to_a_re_encode(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(*args: object) -> None:
        raise av.ArgumentError(22, "Invalid argument")  # what a dts that goes back raises

    monkeypatch.setattr(join, "_copy_video", refused)
    dest = tmp_path / "joined.mp4"
    duration = await join_clips(clips["sound2"], clips["silent4"], dest, drop_first_frame=True)
    assert duration == pytest.approx(6.0 - FRAME, abs=FRAME / 2)
    check_seamless(dest, 48 + 96 - 1)
    assert "re-encoding" in caplog.text
    assert same_picture(frame_at(dest, 47), frame_at(clips["sound2"], 47))  # the re-encode's drop
