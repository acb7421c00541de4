"""Tests for the demo provider: real local renders, an injected clock, restart and cancel."""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from core.catalog import load_catalog
from core.errors import ErrorCategory, GenerationError
from core.media.demo_render import render_demo_video
from core.media.frames import last_frame_png
from core.media.probe import probe_video
from core.providers.base import JobRef, JobState, PollResult, VideoRequest, VideoSource
from core.providers.demo import DemoProvider

LATENCY = 10.0
MAX_BYTES = 50 * 1024 * 1024
DEMO = load_catalog().get("demo")
WAIT = 30.0  # upper bound for a real 2 s 360p render; normally well under a second


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SpyRender:
    """Wraps the real renderer: records calls, can hold the render at a gate, signals when done.

    While held it keeps calling on_frame(1, total) so that a cancelled job stops it.
    """

    def __init__(self, *, hold: bool = False, fail: Exception | None = None, garbage: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        self.fail = fail
        self.garbage = garbage
        self.entered = threading.Event()
        self.ended = threading.Event()
        self.outcome: str | None = None
        self.threads: list[str] = []

    def __call__(self, dest: Path, **kwargs: Any) -> None:
        self.calls.append({"dest": dest, **kwargs})
        self.threads.append(threading.current_thread().name)
        on_frame: Callable[[int, int], None] = kwargs["on_frame"]
        self.entered.set()
        try:
            while not self.gate.wait(0.005):
                on_frame(1, 4)
            if self.fail is not None:
                raise self.fail
            if self.garbage:
                dest.write_bytes(b"definitely not an mp4 file" * 10)
            else:
                render_demo_video(dest, **kwargs)
            self.outcome = "finished"
        except BaseException as exc:
            self.outcome = type(exc).__name__
            raise
        finally:
            self.ended.set()

    async def wait_ended(self) -> None:
        assert await asyncio.to_thread(self.ended.wait, WAIT), "render did not end"


def request(prompt: str = "a lighthouse in a storm", **overrides: Any) -> VideoRequest:
    """A 2 s 16:9 360p demo request."""
    args: dict[str, Any] = {"duration": 2, "aspect_ratio": "16:9", "resolution": "360p", "seed": None}
    return VideoRequest(prompt=prompt, model=DEMO, **{**args, **overrides})


def ref(job_id: str) -> JobRef:
    return JobRef(job_id, "demo-renderer")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def spy() -> SpyRender:
    return SpyRender()


@pytest.fixture
async def provider(work_dir: Path, clock: FakeClock, spy: SpyRender) -> AsyncIterator[DemoProvider]:
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=spy)
    yield p
    spy.gate.set()
    await p.aclose()


async def poll_until_not_running(p: DemoProvider, job_id: str) -> PollResult:
    """Poll (yielding to the render thread in between) until the job leaves RUNNING."""
    for _ in range(int(WAIT / 0.01)):
        result = await p.poll(ref(job_id))
        if result.state is not JobState.RUNNING:
            return result
        await asyncio.sleep(0.01)
    raise AssertionError("job stayed RUNNING")


def job_files(work_dir: Path, job_id: str) -> list[str]:
    return sorted(p.name for p in work_dir.glob(f"*{job_id}*"))


def listing(directory: Path) -> list[str]:
    """Names in `directory` ([] when it does not exist)."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def empty(directory: Path) -> None:
    for path in directory.iterdir():
        path.unlink()


# -- submit -----------------------------------------------------------------------------------


async def test_submit_returns_demo_id_and_records_request(provider: DemoProvider, work_dir: Path) -> None:
    job_id = await provider.submit(request("a fox", seed=123))
    assert re.fullmatch(r"demo-[0-9a-f]{32}", job_id)
    record = json.loads((work_dir / f"{job_id}.json").read_text(encoding="utf-8"))
    assert record["prompt"] == "a fox"
    assert (record["duration"], record["width"], record["height"], record["seed"]) == (2, 640, 360, 123)
    assert isinstance(record["created"], float)


async def test_submit_returns_before_the_render_finishes(work_dir: Path, clock: FakeClock) -> None:
    held = SpyRender(hold=True)
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    await p.submit(request())
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    assert not held.ended.is_set()
    held.gate.set()
    await p.aclose()


async def test_submit_passes_size_seed_and_prompt_to_the_renderer(
    provider: DemoProvider, spy: SpyRender, work_dir: Path
) -> None:
    job_id = await provider.submit(request("tall", aspect_ratio="9:16", resolution="360p", seed=9))
    await spy.wait_ended()
    call = spy.calls[0]
    assert call["dest"] == work_dir / f"{job_id}.mp4"
    assert (call["prompt"], call["duration"], call["width"], call["height"]) == ("tall", 2, 360, 640)
    assert call["seed"] == 9


async def test_the_render_runs_on_the_shared_media_pool(provider: DemoProvider, spy: SpyRender) -> None:
    await provider.submit(request())
    await spy.wait_ended()
    [thread] = spy.threads
    assert thread.startswith("media")  # core.media.executor's pool, not the default one of to_thread


async def test_submit_rejects_unrenderable_duration(provider: DemoProvider, work_dir: Path) -> None:
    with pytest.raises(GenerationError) as err:
        await provider.submit(request(duration=0))
    assert err.value.category is ErrorCategory.INVALID_REQUEST
    assert listing(work_dir) == []


async def test_two_submits_get_different_ids(provider: DemoProvider) -> None:
    assert await provider.submit(request()) != await provider.submit(request())


# -- poll -------------------------------------------------------------------------------------


async def test_progress_rises_with_the_clock_and_success_waits_for_latency(
    provider: DemoProvider, spy: SpyRender, clock: FakeClock
) -> None:
    job_id = await provider.submit(request())
    first = await provider.poll(ref(job_id))
    assert first.state is JobState.RUNNING and first.progress == 0.0
    await spy.wait_ended()
    seen = []
    for step in (3.0, 3.0, 3.0, 0.9):
        clock.advance(step)
        result = await provider.poll(ref(job_id))
        assert result.state is JobState.RUNNING
        seen.append(result.progress)
    assert seen == [0.3, 0.6, 0.9, 0.99]
    clock.advance(0.1)
    done = await poll_until_not_running(provider, job_id)
    assert done.state is JobState.SUCCEEDED
    assert done.video is not None and done.video.url is not None
    assert probe_video(done.video.url).duration == 2.0


async def test_success_waits_for_the_render_even_after_latency(work_dir: Path, clock: FakeClock) -> None:
    held = SpyRender(hold=True)
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    job_id = await p.submit(request())
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    clock.advance(LATENCY * 5)
    result = await p.poll(ref(job_id))
    while result.progress == 0.0:  # until the held render has reported frame 1 of 4
        await asyncio.sleep(0.005)
        result = await p.poll(ref(job_id))
    assert result.state is JobState.RUNNING
    assert result.progress == 0.25
    held.gate.set()
    await held.wait_ended()
    assert (await poll_until_not_running(p, job_id)).state is JobState.SUCCEEDED
    await p.aclose()


async def test_zero_latency_succeeds_as_soon_as_rendered(work_dir: Path, clock: FakeClock) -> None:
    p = DemoProvider(work_dir, 0, clock=clock)
    job_id = await p.submit(request())
    assert (await poll_until_not_running(p, job_id)).state is JobState.SUCCEEDED
    await p.aclose()


async def test_render_error_is_reported_as_generation_failed(work_dir: Path, clock: FakeClock) -> None:
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=SpyRender(fail=RuntimeError("encoder exploded")))
    job_id = await p.submit(request())
    result = await poll_until_not_running(p, job_id)
    assert result.state is JobState.FAILED
    assert result.error is not None
    assert result.error.category is ErrorCategory.GENERATION_FAILED
    assert "encoder exploded" in result.error.detail
    assert result.error.retryable is False
    assert job_files(work_dir, job_id) == []
    await p.aclose()


async def test_poll_of_unknown_job_raises_unknown(provider: DemoProvider) -> None:
    with pytest.raises(GenerationError) as err:
        await provider.poll(ref("demo-" + "0" * 32))
    assert err.value.category is ErrorCategory.UNKNOWN
    assert err.value.retryable is False
    assert "no longer knows" in err.value.detail


@pytest.mark.parametrize("job_id", ["../../etc/passwd", "demo-../../x", "", "demo-XYZ", "operations/123"])
async def test_poll_of_foreign_id_raises_unknown_without_touching_files(
    provider: DemoProvider, job_id: str
) -> None:
    with pytest.raises(GenerationError) as err:
        await provider.poll(ref(job_id))
    assert err.value.category is ErrorCategory.UNKNOWN


# -- fetch ------------------------------------------------------------------------------------


async def finished_job(p: DemoProvider, spy: SpyRender, clock: FakeClock) -> tuple[str, VideoSource]:
    job_id = await p.submit(request())
    await spy.wait_ended()
    clock.advance(LATENCY)
    result = await poll_until_not_running(p, job_id)
    assert result.state is JobState.SUCCEEDED and result.video is not None
    return job_id, result.video


async def test_fetch_writes_a_decodable_mp4_and_removes_work_files(
    provider: DemoProvider, spy: SpyRender, clock: FakeClock, work_dir: Path, tmp_path: Path
) -> None:
    job_id, video = await finished_job(provider, spy, clock)
    dest = tmp_path / "out.mp4"
    size = await provider.fetch(ref(job_id), video, dest, MAX_BYTES)
    info = probe_video(dest)
    assert size == dest.stat().st_size == info.size_bytes
    assert (info.duration, info.width, info.height, info.video_codec) == (2.0, 640, 360, "h264")
    assert job_files(work_dir, job_id) == []


async def test_fetch_refuses_video_over_max_bytes(
    provider: DemoProvider, spy: SpyRender, clock: FakeClock, tmp_path: Path
) -> None:
    job_id, video = await finished_job(provider, spy, clock)
    dest = tmp_path / "out.mp4"
    with pytest.raises(GenerationError) as err:
        await provider.fetch(ref(job_id), video, dest, 1000)
    assert err.value.category is ErrorCategory.GENERATION_FAILED
    assert "larger than 1000 bytes" in err.value.detail
    assert not dest.exists()


async def test_fetch_refuses_a_render_that_is_not_mp4(
    work_dir: Path, clock: FakeClock, tmp_path: Path
) -> None:
    garbage = SpyRender(garbage=True)
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=garbage)
    job_id, video = await finished_job(p, garbage, clock)
    dest = tmp_path / "out.mp4"
    with pytest.raises(GenerationError) as err:
        await p.fetch(ref(job_id), video, dest, MAX_BYTES)
    assert err.value.category is ErrorCategory.GENERATION_FAILED
    assert not dest.exists()
    await p.aclose()


async def test_fetch_of_unknown_job_raises_unknown(provider: DemoProvider, tmp_path: Path) -> None:
    job_id = "demo-" + "1" * 32
    with pytest.raises(GenerationError) as err:
        await provider.fetch(ref(job_id), VideoSource(url="/etc/passwd"), tmp_path / "o.mp4", MAX_BYTES)
    assert err.value.category is ErrorCategory.UNKNOWN
    assert not (tmp_path / "o.mp4").exists()


# -- restart ----------------------------------------------------------------------------------


async def test_finished_job_succeeds_after_restart(
    provider: DemoProvider, spy: SpyRender, clock: FakeClock, work_dir: Path, tmp_path: Path
) -> None:
    job_id = await provider.submit(request())
    await spy.wait_ended()
    await provider.aclose()
    later = time.time() + LATENCY  # the restart happens after the job's latency has passed
    restarted = DemoProvider(work_dir, LATENCY, clock=FakeClock(), wall_clock=lambda: later)
    result = await restarted.poll(ref(job_id))
    assert result.state is JobState.SUCCEEDED and result.video is not None
    size = await restarted.fetch(ref(job_id), result.video, tmp_path / "out.mp4", MAX_BYTES)
    assert probe_video(tmp_path / "out.mp4").size_bytes == size
    await restarted.aclose()


async def test_unfinished_job_renders_again_after_restart(
    work_dir: Path, clock: FakeClock, tmp_path: Path
) -> None:
    held = SpyRender(hold=True)
    first = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    job_id = await first.submit(request("resumed prompt", seed=4))
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    await first.aclose()  # the "crash": the render is stopped, its record stays
    assert held.outcome == "_Stopped"
    assert job_files(work_dir, job_id) == [f"{job_id}.json"]

    spy = SpyRender()
    second = DemoProvider(work_dir, LATENCY, clock=clock, render=spy)
    resumed = await second.poll(ref(job_id))
    assert resumed.state is JobState.RUNNING
    await spy.wait_ended()
    assert (spy.calls[0]["prompt"], spy.calls[0]["seed"]) == ("resumed prompt", 4)
    clock.advance(LATENCY)
    done = await poll_until_not_running(second, job_id)
    assert done.state is JobState.SUCCEEDED and done.video is not None
    await second.fetch(ref(job_id), done.video, tmp_path / "out.mp4", MAX_BYTES)
    assert probe_video(tmp_path / "out.mp4").duration == 2.0
    await second.aclose()


async def test_corrupt_video_with_record_renders_again_after_restart(
    provider: DemoProvider, spy: SpyRender, work_dir: Path, clock: FakeClock
) -> None:
    job_id = await provider.submit(request())
    await spy.wait_ended()
    await provider.aclose()
    (work_dir / f"{job_id}.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom truncated")
    again = SpyRender()
    restarted = DemoProvider(work_dir, LATENCY, clock=clock, render=again)
    assert (await restarted.poll(ref(job_id))).state is JobState.RUNNING
    await again.wait_ended()
    assert again.outcome == "finished"
    await restarted.aclose()


async def test_job_without_files_is_unknown_after_restart(
    provider: DemoProvider, spy: SpyRender, work_dir: Path, clock: FakeClock
) -> None:
    job_id = await provider.submit(request())
    await spy.wait_ended()
    await provider.aclose()
    empty(work_dir)
    with pytest.raises(GenerationError) as err:
        await DemoProvider(work_dir, LATENCY, clock=clock).poll(ref(job_id))
    assert err.value.category is ErrorCategory.UNKNOWN


# -- cancel / aclose --------------------------------------------------------------------------


async def test_cancel_stops_the_render_and_deletes_work_files(work_dir: Path, clock: FakeClock) -> None:
    held = SpyRender(hold=True)
    p = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    job_id = await p.submit(request())
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    assert await p.cancel(ref(job_id)) is True
    assert held.ended.is_set() and held.outcome == "_Stopped"
    assert listing(work_dir) == []
    with pytest.raises(GenerationError):
        await p.poll(ref(job_id))
    await p.aclose()


async def test_cancel_of_finished_job_deletes_its_video(
    provider: DemoProvider, spy: SpyRender, work_dir: Path
) -> None:
    job_id = await provider.submit(request())
    await spy.wait_ended()
    assert await provider.cancel(ref(job_id)) is True
    assert job_files(work_dir, job_id) == []


async def test_provider_says_it_is_a_demo() -> None:
    assert DemoProvider.name == "demo"
    assert DemoProvider.supports_cancel is True
    assert "not AI" in DemoProvider.label


async def test_list_models_names_the_demo_renderer(provider: DemoProvider) -> None:
    assert await provider.list_models() == [DEMO.provider_model_id]


async def test_list_models_reports_a_missing_encoder(
    provider: DemoProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.media.demo_render.av.codecs_available", frozenset({"h264"}))
    with pytest.raises(GenerationError) as err:
        await provider.list_models()
    assert err.value.category is ErrorCategory.PROVIDER_UNAVAILABLE
    assert "libx264" in err.value.detail


async def test_finished_job_still_takes_its_latency_after_a_quick_restart(
    provider: DemoProvider, spy: SpyRender, work_dir: Path
) -> None:
    job_id = await provider.submit(request())
    await spy.wait_ended()
    await provider.aclose()
    soon = time.time() + LATENCY / 2
    restarted = DemoProvider(work_dir, LATENCY, clock=FakeClock(), wall_clock=lambda: soon)
    result = await restarted.poll(ref(job_id))
    assert result.state is JobState.RUNNING and 0.4 < result.progress < 0.6
    await restarted.aclose()


async def test_a_first_frame_reaches_the_renderer_and_leaves_with_the_job(
    provider: DemoProvider, spy: SpyRender, work_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    from PIL import Image

    png = tmp_path / "first.png"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(png)
    job_id = await provider.submit(request(image=png.read_bytes(), image_mime_type="image/png"))
    await spy.wait_ended()
    first_frame = spy.calls[0]["first_frame"]
    assert first_frame.read_bytes() == png.read_bytes()  # kept beside the job's record (resumable)
    clock.advance(LATENCY)
    result = await poll_until_not_running(provider, job_id)
    assert result.state is JobState.SUCCEEDED
    await provider.fetch(ref(job_id), result.video, tmp_path / "out.mp4", MAX_BYTES)
    assert not first_frame.exists() and job_files(work_dir, job_id) == []


async def test_a_last_frame_reaches_the_renderer_and_leaves_with_the_job(
    provider: DemoProvider, spy: SpyRender, work_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    png = solid_png(tmp_path / "last.png", (10, 10, 200))
    job_id = await provider.submit(request(last_frame=png.read_bytes(), last_frame_mime_type="image/png"))
    await spy.wait_ended()
    last_frame = spy.calls[0]["last_frame"]
    assert last_frame == work_dir / f"{job_id}.last-frame"  # beside the first frame's file
    assert last_frame.read_bytes() == png.read_bytes()
    assert spy.calls[0]["first_frame"] is None
    clock.advance(LATENCY)
    result = await poll_until_not_running(provider, job_id)
    await provider.fetch(ref(job_id), result.video, tmp_path / "out.mp4", MAX_BYTES)
    assert not last_frame.exists() and job_files(work_dir, job_id) == []


@pytest.mark.parametrize("audio", [True, False])
async def test_the_audio_choice_reaches_the_renderer_and_the_record(
    provider: DemoProvider, spy: SpyRender, work_dir: Path, audio: bool
) -> None:
    job_id = await provider.submit(request(audio=audio))
    await spy.wait_ended()
    assert spy.calls[0]["audio"] is audio
    assert json.loads((work_dir / f"{job_id}.json").read_text(encoding="utf-8"))["audio"] is audio


async def test_a_resumed_job_renders_its_last_frame_and_sound_again(
    work_dir: Path, clock: FakeClock, tmp_path: Path
) -> None:
    held = SpyRender(hold=True)
    first = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    png = solid_png(tmp_path / "last.png", (10, 10, 200)).read_bytes()
    job_id = await first.submit(request(last_frame=png, audio=False))
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    await first.aclose()
    spy = SpyRender()
    second = DemoProvider(work_dir, LATENCY, clock=clock, render=spy)
    assert (await second.poll(ref(job_id))).state is JobState.RUNNING
    await spy.wait_ended()
    assert spy.calls[0]["last_frame"].read_bytes() == png
    assert spy.calls[0]["audio"] is False
    await second.aclose()


async def test_a_record_from_before_audio_existed_resumes_silent(work_dir: Path, clock: FakeClock) -> None:
    held = SpyRender(hold=True)
    first = DemoProvider(work_dir, LATENCY, clock=clock, render=held)
    job_id = await first.submit(request())
    assert await asyncio.to_thread(held.entered.wait, WAIT)
    await first.aclose()
    record = work_dir / f"{job_id}.json"
    old = {k: v for k, v in json.loads(record.read_text()).items() if k not in ("audio", "last_frame")}
    record.write_text(json.dumps(old))
    spy = SpyRender()
    second = DemoProvider(work_dir, LATENCY, clock=clock, render=spy)
    await second.poll(ref(job_id))
    await spy.wait_ended()
    assert (spy.calls[0]["audio"], spy.calls[0]["last_frame"]) == (False, None)
    await second.aclose()


async def rendered(work_dir: Path, tmp_path: Path, req: VideoRequest) -> Path:
    """Submit `req` to a real, zero-latency demo provider and fetch the video."""
    p = DemoProvider(work_dir, 0)
    job_id = await p.submit(req)
    result = await poll_until_not_running(p, job_id)
    assert result.state is JobState.SUCCEEDED and result.video is not None
    dest = tmp_path / f"{job_id}.mp4"
    await p.fetch(ref(job_id), result.video, dest, MAX_BYTES)
    await p.aclose()
    return dest


def centre(png: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").getpixel((image.width // 2, image.height // 3))


async def test_a_demo_video_ends_on_its_last_frame_with_the_tone(work_dir: Path, tmp_path: Path) -> None:
    blue = solid_png(tmp_path / "blue.png", (10, 10, 200)).read_bytes()
    video = await rendered(work_dir, tmp_path, request(last_frame=blue, seed=3))
    assert centre(await last_frame_png(video)) == pytest.approx((10, 10, 200), abs=25)
    assert probe_video(video).has_audio is True  # audio is asked for by default


async def test_a_silent_loop_opens_and_ends_on_the_first_image(work_dir: Path, tmp_path: Path) -> None:
    red = solid_png(tmp_path / "red.png", (220, 20, 20)).read_bytes()
    video = await rendered(work_dir, tmp_path, request(image=red, last_frame=red, audio=False))
    assert centre(await last_frame_png(video)) == pytest.approx((220, 20, 20), abs=25)
    with av.open(str(video)) as container:
        opening = next(container.decode(video=0)).to_image()
    assert opening.getpixel((opening.width // 2, opening.height // 3)) == pytest.approx((220, 20, 20), abs=25)
    assert probe_video(video).has_audio is False


def solid_png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (64, 64), colour).save(path)
    return path
