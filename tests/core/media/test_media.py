"""Tests for core.media: the demo renderer, probing, output names and retention."""

from __future__ import annotations

import itertools
import os
import re
from array import array
from datetime import datetime
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from core.errors import ErrorCategory, GenerationError
from core.media import demo_render
from core.media.demo_render import DemoStyle, render_demo_video
from core.media.files import output_filename, safe_output_path
from core.media.probe import looks_like_mp4, probe_video
from core.media.retention import remove_old_outputs

PROMPT = "A serene mountain landscape at sunrise, mist over the valleys"
DAY = 86400.0
NAME_RE = re.compile(r"\d{8}_\d{6}_[A-Za-z0-9_]{1,24}_\d+\.mp4")


def decoded_frame(path: Path, index: int = 0) -> Image.Image:
    """Frame `index` of the video at `path` as an RGB image."""
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_image()
    raise AssertionError(f"{path} has no frame {index}")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def changed_pixels(a: Image.Image, b: Image.Image, threshold: int = 40) -> int:
    """How many pixels differ by more than `threshold` in grey level."""
    diff = ImageChops.difference(a, b).convert("L")
    return sum(diff.histogram()[threshold + 1 :])


def render(path: Path, prompt: str = PROMPT, **kwargs: object) -> Path:
    """Render a small demo clip (1 s 360p unless overridden) and return its path."""
    args: dict[str, object] = {"duration": 1, "width": 640, "height": 360, **kwargs}
    render_demo_video(path, prompt=prompt, **args)  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 2 s 16:9 360p demo video shared by the read-only tests."""
    return render(tmp_path_factory.mktemp("clip") / "clip.mp4", duration=2)


# -- render_demo_video ------------------------------------------------------------------------


def test_demo_video_is_h264_yuv420p_without_audio_and_exact_duration(clip: Path) -> None:
    info = probe_video(clip)
    assert info.duration == 2.0
    assert (info.width, info.height) == (640, 360)
    assert info.video_codec == "h264"
    assert info.has_audio is False
    assert info.size_bytes == clip.stat().st_size
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.frames == 48


@pytest.mark.parametrize(
    ("width", "height"),
    [(1280, 720), (720, 1280), (640, 360), (360, 640), (360, 360)],
    ids=["720p-16:9", "720p-9:16", "360p-16:9", "360p-9:16", "360p-1:1"],
)
def test_demo_video_has_requested_frame_size(tmp_path: Path, width: int, height: int) -> None:
    info = probe_video(render(tmp_path / "v.mp4", width=width, height=height))
    assert (info.width, info.height, info.duration) == (width, height, 1.0)


def test_duration_is_frames_over_fps_for_other_rates(tmp_path: Path) -> None:
    path = render(tmp_path / "v.mp4", duration=3, fps=10)
    assert probe_video(path).duration == 3.0
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 30


def test_moov_atom_comes_before_media_data_for_streaming(clip: Path) -> None:
    data = clip.read_bytes()
    assert data[4:8] == b"ftyp"
    assert 0 < data.index(b"moov") < data.index(b"mdat")


def test_different_prompts_give_visibly_different_frames(tmp_path: Path) -> None:
    a = decoded_frame(render(tmp_path / "a.mp4", prompt="a red fox in the snow"))
    b = decoded_frame(render(tmp_path / "b.mp4", prompt="a city skyline at night"))
    assert mean_difference(a, b) > 15


def test_prompt_text_is_drawn_on_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = demo_render.demo_style("same colours", 1)
    monkeypatch.setattr(demo_render, "demo_style", lambda prompt, seed: fixed)
    a = decoded_frame(render(tmp_path / "a.mp4", prompt="short"))
    b = decoded_frame(
        render(tmp_path / "b.mp4", prompt="a much longer prompt that fills a whole line of text")
    )
    assert changed_pixels(a, b) > 500


def test_demo_label_is_drawn_on_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "DEMO" in demo_render.DEMO_LABEL and "not AI" in demo_render.DEMO_LABEL
    labelled = decoded_frame(render(tmp_path / "a.mp4"), index=23)
    monkeypatch.setattr(demo_render, "DEMO_LABEL", "x")
    unlabelled = decoded_frame(render(tmp_path / "b.mp4"), index=23)
    top_left = (0, 0, 320, 60)
    assert changed_pixels(labelled.crop(top_left), unlabelled.crop(top_left)) > 300


def test_same_prompt_and_seed_render_identical_files(tmp_path: Path) -> None:
    a = render(tmp_path / "a.mp4", seed=5)
    b = render(tmp_path / "b.mp4", seed=5)
    assert a.read_bytes() == b.read_bytes()


def test_seed_changes_the_colours(tmp_path: Path) -> None:
    a = decoded_frame(render(tmp_path / "a.mp4", seed=1))
    b = decoded_frame(render(tmp_path / "b.mp4", seed=2))
    assert mean_difference(a, b) > 15


def test_frames_move_over_time(clip: Path) -> None:
    assert changed_pixels(decoded_frame(clip, 0), decoded_frame(clip, 24)) > 2000


def test_demo_style_is_deterministic_and_prompt_dependent() -> None:
    assert demo_render.demo_style("a", None) == demo_render.demo_style("a", None)
    assert demo_render.demo_style("a", None) != demo_render.demo_style("b", None)
    assert isinstance(demo_render.demo_style("", 0), DemoStyle)


def test_on_frame_reports_every_frame(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    render(tmp_path / "v.mp4", on_frame=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 24) for i in range(1, 25)]


def test_on_frame_exception_aborts_and_leaves_no_files(tmp_path: Path) -> None:
    def stop(done: int, total: int) -> None:
        if done == 5:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        render(tmp_path / "v.mp4", on_frame=stop)
    assert list(tmp_path.iterdir()) == []


def test_render_leaves_only_the_destination_file(tmp_path: Path) -> None:
    render(tmp_path / "v.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_render_replaces_an_existing_destination(tmp_path: Path) -> None:
    dest = tmp_path / "v.mp4"
    dest.write_bytes(b"old")
    render(dest)
    assert probe_video(dest).duration == 1.0


@pytest.mark.parametrize(
    "prompt",
    ["", "🚀🚀", "\x00\x01\x1b[31m", "שלום עולם مرحبا", "x" * 5000, "word " * 2000, "\u202etxt.exe"],
    ids=["empty", "emoji", "control", "rtl", "5000-x", "10000-words", "rlo"],
)
def test_hostile_prompts_still_render(tmp_path: Path, prompt: str) -> None:
    assert probe_video(render(tmp_path / "v.mp4", prompt=prompt, width=360, height=360)).duration == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"duration": 0}, {"duration": 61}, {"width": 641}, {"height": 0}, {"fps": 0}],
    ids=["zero-duration", "too-long", "odd-width", "zero-height", "zero-fps"],
)
def test_render_rejects_impossible_arguments(tmp_path: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        render(tmp_path / "v.mp4", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_wrap_text_truncates_with_ellipsis() -> None:
    font = demo_render._font(20, bold=False)
    lines = demo_render.wrap_text("word " * 200, font, 300, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)


def test_wrap_text_breaks_overlong_words() -> None:
    font = demo_render._font(20, bold=False)
    lines = demo_render.wrap_text("y" * 300, font, 200, 50)
    assert len(lines) > 1
    assert "".join(lines) == "y" * 300


# -- probe_video / looks_like_mp4 -------------------------------------------------------------


def _video_with_audio(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=10)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "mono"
        for i in range(10):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 64), (i * 20, 0, 0)))
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for i in range(10):
            samples = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            for plane in samples.planes:
                plane.update(bytes(plane.buffer_size))
            samples.sample_rate = 44100
            samples.pts = i * 1024
            container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
    return path


def test_probe_reports_audio_track(tmp_path: Path) -> None:
    info = probe_video(_video_with_audio(tmp_path / "a.mp4"))
    assert info.has_audio is True
    assert (info.width, info.height, info.duration) == (64, 64, 1.0)


@pytest.mark.parametrize(
    "content", [b"", b"not a video at all" * 10, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40]
)
def test_probe_rejects_non_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(GenerationError) as err:
        probe_video(path)
    assert err.value.category is ErrorCategory.GENERATION_FAILED


def test_probe_of_missing_file_raises_generation_error(tmp_path: Path) -> None:
    with pytest.raises(GenerationError):
        probe_video(tmp_path / "missing.mp4")


def test_looks_like_mp4_accepts_rendered_video(clip: Path) -> None:
    assert looks_like_mp4(clip.read_bytes()[:16])


@pytest.mark.parametrize(
    "head", [b"", b"\x00\x00\x00", b"\x00\x00\x00\x18moov", b"<html><body>", b"ftyp\x00\x00\x00\x00"]
)
def test_looks_like_mp4_rejects_other_data(head: bytes) -> None:
    assert not looks_like_mp4(head)


# -- output_filename / safe_output_path -------------------------------------------------------

WHEN = datetime(2025, 1, 5, 14, 30, 25)


def test_output_filename_matches_seed_format() -> None:
    name = output_filename("A serene mountain landscape at dawn", WHEN, 42)
    assert name == "20250105_143025_A_serene_mountain_landsc_42.mp4"


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("../../etc/passwd", "etcpasswd"),
        ("a/b\\c", "abc"),
        ("", "video"),
        ("🚀🚀", "video"),
        ("CON", "CON"),
        ("x" * 5000, "x" * 24),
        ("a\x00b\x00c", "abc"),
        ("שלום עולם", "video"),
        ("مرحبا\u202eevil", "evil"),
        ("Crème brûlée", "Creme_brulee"),
        ("  many   spaces\t\nhere  ", "many_spaces_here"),
        ("___--__", "video"),
        ("..", "video"),
        ("ｆｕｌｌ ｗｉｄｔｈ", "full_width"),
        ("twenty four chars exactly_x", "twenty_four_chars_exactl"),
        ("abcdefghijklmnopqrstuvw xyz", "abcdefghijklmnopqrstuvw"),
    ],
)
def test_output_filename_slug_is_safe(prompt: str, slug: str, tmp_path: Path) -> None:
    name = output_filename(prompt, WHEN, 7)
    assert name == f"20250105_143025_{slug}_7.mp4"
    assert NAME_RE.fullmatch(name)
    assert ".." not in name and "/" not in name and "\\" not in name
    assert safe_output_path(tmp_path, name) == tmp_path.resolve() / name


def test_output_filename_differs_per_job() -> None:
    assert output_filename("same", WHEN, 1) != output_filename("same", WHEN, 2)


@pytest.mark.parametrize(
    "filename",
    ["../x.mp4", "/etc/passwd", "a/../../x.mp4", "..", ".", "", "sub/x.mp4", "a\x00b.mp4", "..\\x.mp4"],
)
def test_safe_output_path_refuses_escapes(tmp_path: Path, filename: str) -> None:
    with pytest.raises(ValueError):
        safe_output_path(tmp_path / "out", filename)


def test_safe_output_path_refuses_symlink_out_of_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "link.mp4").symlink_to(tmp_path / "elsewhere.mp4")
    with pytest.raises(ValueError):
        safe_output_path(out, "link.mp4")


def test_safe_output_path_resolves_relative_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert safe_output_path(Path("out"), "v.mp4") == tmp_path.resolve() / "out" / "v.mp4"


# -- remove_old_outputs -----------------------------------------------------------------------

NOW = 1_750_000_000.0


def _aged(path: Path, days: float, content: bytes = b"x") -> Path:
    if not path.exists():
        path.write_bytes(content)
    os.utime(path, (NOW - days * DAY, NOW - days * DAY))
    return path


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """An output dir with old and new videos, an old non-video and an old subdirectory."""
    _aged(tmp_path / "old.mp4", 10)
    _aged(tmp_path / "OLD2.MP4", 8)
    _aged(tmp_path / "new.mp4", 1)
    _aged(tmp_path / "old.txt", 10)
    sub = tmp_path / "dir.mp4"
    sub.mkdir()
    _aged(sub / "inner.mp4", 10)
    _aged(sub, 10)
    return tmp_path


def test_remove_old_outputs_deletes_only_old_mp4_files(outputs: Path) -> None:
    removed = remove_old_outputs(outputs, 7, NOW)
    assert sorted(p.name for p in removed) == ["OLD2.MP4", "old.mp4"]
    left = sorted(p.name for p in outputs.iterdir())
    assert left == ["dir.mp4", "new.mp4", "old.txt"]
    assert (outputs / "dir.mp4" / "inner.mp4").exists()


def test_remove_old_outputs_with_zero_days_keeps_everything(outputs: Path) -> None:
    assert remove_old_outputs(outputs, 0, NOW) == []
    assert (outputs / "old.mp4").exists()


def test_remove_old_outputs_keeps_files_newer_than_cutoff(outputs: Path) -> None:
    assert remove_old_outputs(outputs, 30, NOW) == []


def test_remove_old_outputs_ignores_symlinks(tmp_path: Path) -> None:
    target = _aged(tmp_path / "target.bin", 10)
    link = tmp_path / "link.mp4"
    link.symlink_to(target)
    assert remove_old_outputs(tmp_path, 1, NOW) == []
    assert target.exists()


def test_remove_old_outputs_of_missing_dir_is_empty(tmp_path: Path) -> None:
    assert remove_old_outputs(tmp_path / "nope", 1, NOW) == []


def test_check_renderer_passes_here() -> None:
    demo_render.check_renderer()


def solid_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (200, 200)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def test_a_first_frame_opens_the_clip_fitted_and_still_labelled(tmp_path: Path, monkeypatch) -> None:
    red = solid_png(tmp_path / "red.png", (230, 20, 20), size=(400, 200))  # 2:1, wider than 16:9
    path = tmp_path / "a.mp4"
    render_demo_video(path, prompt="x", duration=2, width=320, height=180, first_frame=red)
    opening, later = decoded_frame(path, 0), decoded_frame(path, 36)  # 0 s and 1.5 s at 24 fps
    assert opening.getpixel((160, 70))[0] > 180 and opening.getpixel((160, 70))[1] < 80  # red, centred
    assert opening.getpixel((160, 2)) == pytest.approx((0, 0, 0), abs=30)  # letterboxed: a 2:1 image
    assert later.getpixel((160, 70))[0] < 180 or later.getpixel((160, 70))[1] > 80  # the pattern again
    monkeypatch.setattr(demo_render, "DEMO_LABEL", "x")
    unlabelled_path = tmp_path / "b.mp4"
    render_demo_video(unlabelled_path, prompt="x", duration=2, width=320, height=180, first_frame=red)
    top_left = (0, 0, 320, 40)
    unlabelled = decoded_frame(unlabelled_path, 0)
    assert changed_pixels(opening.crop(top_left), unlabelled.crop(top_left)) > 200  # the label is on it


def test_a_last_frame_closes_the_clip_fitted_and_still_labelled(tmp_path: Path) -> None:
    blue = solid_png(tmp_path / "blue.png", (20, 40, 230))
    path = tmp_path / "a.mp4"
    render_demo_video(path, prompt="x", duration=2, width=320, height=180, last_frame=blue)
    assert probe_video(path).duration == 2.0
    before, closing, final = decoded_frame(path, 23), decoded_frame(path, 24), decoded_frame(path, 47)
    assert before.getpixel((160, 70)) != pytest.approx((20, 40, 230), abs=40)  # the pattern until 1 s
    for frame in (closing, final):  # the last second: the image
        assert frame.getpixel((160, 70)) == pytest.approx((20, 40, 230), abs=25)
        assert frame.getpixel((30, 70)) == pytest.approx((0, 0, 0), abs=30)  # pillarboxed: a square image
    plain_blue = Image.new("RGB", (320, 180), (20, 40, 230))
    assert changed_pixels(final.crop((0, 0, 320, 40)), plain_blue.crop((0, 0, 320, 40))) > 200  # label


def test_a_loop_opens_and_closes_on_the_same_image(tmp_path: Path) -> None:
    red = solid_png(tmp_path / "red.png", (230, 20, 20), size=(320, 180))
    path = tmp_path / "loop.mp4"
    render_demo_video(path, prompt="x", duration=2, width=320, height=180, first_frame=red, last_frame=red)
    for index in (0, 15, 32, 47):  # a 2 s clip with both: a third each (16 frames)
        assert decoded_frame(path, index).getpixel((160, 70)) == pytest.approx((230, 20, 20), abs=25)
    assert decoded_frame(path, 24).getpixel((160, 70)) != pytest.approx((230, 20, 20), abs=40)


def tone_samples(path: Path) -> tuple[int, list[float]]:
    """Sample rate and the first channel's decoded samples."""
    samples: list[float] = []
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].rate
        for frame in container.decode(audio=0):
            samples.extend(array("f", bytes(frame.planes[0])[: frame.samples * 4]))
    return rate, samples


def test_audio_is_an_aac_tone_at_the_seeds_pitch(tmp_path: Path) -> None:
    path = render(tmp_path / "a.mp4", duration=2, seed=11, audio=True)
    info = probe_video(path)
    assert info.has_audio and info.duration == 2.0
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert (audio.codec_context.name, audio.rate) == ("aac", demo_render.AUDIO_RATE)
        assert float(audio.duration * audio.time_base) == pytest.approx(2.0, abs=0.03)
    rate, samples = tone_samples(path)
    middle = samples[rate // 2 : rate // 2 + rate]  # one second, away from the fades
    rising = sum(1 for a, b in itertools.pairwise(middle) if a < 0 <= b)
    assert rising == pytest.approx(rate / demo_render.tone_period(11), abs=2)  # cycles per second: Hz
    assert max(middle) == pytest.approx(demo_render.TONE_AMPLITUDE, abs=0.03)


def test_the_tone_is_deterministic_and_its_pitch_follows_the_seed(tmp_path: Path) -> None:
    a = render(tmp_path / "a.mp4", seed=5, audio=True)
    b = render(tmp_path / "b.mp4", seed=5, audio=True)
    assert a.read_bytes() == b.read_bytes()
    assert demo_render.tone_period(5) == demo_render.tone_period(5)
    assert len({demo_render.tone_period(seed) for seed in range(20)}) > 10


def test_without_audio_there_is_no_audio_stream(tmp_path: Path) -> None:
    assert probe_video(render(tmp_path / "a.mp4", seed=5, audio=False)).has_audio is False
