"""/video as a user lives it, end to end: the real discord.py bot against the fake Discord, the demo model.

One deferred reply that becomes a live progress bar and then the video, in the same message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import re

import av
import pytest_asyncio

from core.jobs.positions import PositionRefresh
from core.jobs.queue import JobQueue, QueuePolicy
from models import Generation
from tests.cogs.conftest import Harness, embeds_text, open_harness
from tests.fakes.clock import ManualClock
from tests.fakes.discord import FakeMessage, Write

BAR = re.compile(r"\[([█░]{20})\] (\d{1,3})%")


def status_line(payload: dict) -> str:
    """The embed's Status field of a message write ("" when there is none)."""
    for embed in payload.get("embeds") or []:
        for field in embed.get("fields") or []:
            if field.get("name") == "Status":
                return field.get("value", "")
    return ""


def title(payload: dict) -> str:
    embeds = payload.get("embeds") or []
    return embeds[0].get("title", "") if embeds else ""


def progress_edits(msg: FakeMessage) -> list[Write]:
    """The edits that show a progress bar."""
    return [w for w in msg.edits if BAR.search(status_line(w.payload))]


def percents(edits: list[Write]) -> list[int]:
    return [int(BAR.search(status_line(w.payload)).group(2)) for w in edits]


async def test_video_is_deferred_within_the_deadline(discord_env):
    handle = await discord_env.video("a red fox in snow", duration=2, resolution="360p")
    assert handle.callback.type == 5  # deferred "thinking", public
    assert handle.callback.latency < 3
    assert not handle.original.ephemeral


async def test_progress_and_the_video_arrive_in_one_message(discord_env):
    h = discord_env
    handle = await h.video("a red fox in snow", duration=2, resolution="360p")
    msg = await h.finished(handle)

    assert list(h.fake.messages) == [handle.original_id], "no other message was posted"
    assert not h.fake.requests_to("POST /channels/*/messages"), "nothing went to the channel"
    assert not h.fake.requests_to("POST /webhooks/*"), "no follow-up messages"
    patched = {r.path.rsplit("/", 1)[1] for r in h.fake.requests_to("PATCH /webhooks/*/messages/*")}
    assert patched <= {"@original", str(handle.original_id)}
    assert progress_edits(msg), "progress was shown in the message"
    uploads = [w for w in msg.edits if w.files]
    assert len(uploads) == 1 and uploads[0] is msg.edits[-1], "the video is the last edit of the same message"


@dataclasses.dataclass
class Clocked:
    """A harness whose services and Discord layer run on a ManualClock, with the moments (by that clock)
    at which the display decided to send each edit."""

    h: Harness
    clock: ManualClock
    sends: dict[int, list[float]]

    async def finished(self, handle, limit: float = 30.0) -> FakeMessage:
        """Move time on until the job's final edit (with Regenerate/Delete) arrived."""

        def done() -> bool:
            msg = handle.original
            return msg is not None and any(c.startswith("video:delete:") for c in msg.custom_ids())

        await self.clock.run_until(done, step=0.1, limit=limit)
        return handle.original


@pytest_asyncio.fixture
async def clocked(db, tmp_path, monkeypatch):
    """Demo jobs take 2 s — of virtual time: long enough for several stages at EDIT_INTERVAL, yet the test
    waits only for the rendering and the requests."""
    clock = ManualClock(start=dt.datetime.now(dt.UTC))
    async with open_harness(tmp_path, monkeypatch, clock=clock, demo_latency=2) as h:
        sends: dict[int, list[float]] = {}
        h.bot.jobs.edit_observers.append(
            lambda message: sends.setdefault(message, []).append(clock.monotonic())
        )
        yield Clocked(h, clock, sends)


async def test_progress_edits_show_a_bar_and_never_go_backwards(clocked):
    handle = await clocked.h.video("a red fox in snow", duration=2, resolution="360p")
    msg = await clocked.finished(handle)

    edits = progress_edits(msg)
    assert len(edits) >= 3
    for write in edits:
        bar, percent = BAR.search(status_line(write.payload)).groups()
        assert bar == "█" * round(20 * int(percent) / 100) + "░" * (20 - round(20 * int(percent) / 100))
    shown = percents(edits)
    assert shown == sorted(shown), f"progress went backwards: {shown}"


async def test_edits_keep_the_edit_interval_the_final_one_too_and_never_repeat(clocked):
    handle = await clocked.h.video("a red fox in snow", duration=2, resolution="360p")
    msg = await clocked.finished(handle)

    sent = clocked.sends[msg.id]
    assert len(sent) >= 4, "several progress edits and the final one"
    spacing = clocked.h.bot.jobs.edit_spacing
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= spacing - 1e-9, f"edits closer than {spacing} s apart: {gaps}"
    assert len(msg.edits) == len(sent), "every edit the display sent arrived, and nothing else"
    writes = [w.payload for w in msg.edits]
    repeats = [i for i in range(1, len(writes)) if writes[i] == writes[i - 1]]
    assert not repeats, f"edits {repeats} repeat the previous payload"
    assert msg.edits[-1].files, "the last edit carries the video"


async def test_final_embed_shows_length_time_cost_and_quota_left(discord_env):
    h = discord_env
    handle = await h.video("a red fox in snow", duration=2, resolution="360p")
    msg = await h.finished(handle)

    embed = msg.embeds[0]
    assert embed["title"] == "✅ Video ready"
    status = status_line({"embeds": msg.embeds})
    assert "Length 2.0 s" in status
    assert re.search(r"took \d+:\d\d", status)
    assert "est. $0.00" in status  # the demo model is free
    assert "4 videos and 58 s left today" in status  # 5 videos / 60 s a day, one 2 s video used


async def test_attached_mp4_plays_with_the_requested_length_and_size(discord_env):
    h = discord_env
    handle = await h.video("a red fox in snow", duration=2, resolution="360p", aspect_ratio="1:1")
    msg = await h.finished(handle)

    [video] = msg.attachments
    assert video.filename.endswith(".mp4") and video.content_type == "video/mp4"
    with av.open(io.BytesIO(video.data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (360, 360)
        assert abs(container.duration / 1e6 - 2.0) < 0.1
        frames = sum(1 for _ in container.decode(stream))
    assert frames >= 2 * 20, f"only {frames} frames decoded"


async def test_an_image_given_to_the_demo_model_opens_its_video(discord_env):
    from PIL import Image

    h = discord_env
    png = io.BytesIO()
    Image.new("RGB", (300, 300), (20, 40, 230)).save(png, format="PNG")
    image = h.fake.add_cdn_file("first.png", png.getvalue(), "image/png")
    msg = await h.finished(
        await h.video(
            "a blue square comes alive", duration=2, resolution="360p", aspect_ratio="1:1", image=image
        )
    )
    [video] = msg.attachments
    with av.open(io.BytesIO(video.data)) as container:
        first = next(container.decode(video=0)).to_image()
    r, g, b = first.getpixel((180, 120))
    assert b > 170 and r < 90, (r, g, b)  # the member's blue image, not the test pattern


async def test_second_job_shows_its_queue_position_before_it_runs(db, tmp_path, monkeypatch):
    clock = ManualClock(start=dt.datetime.now(dt.UTC))
    async with open_harness(tmp_path, monkeypatch, clock=clock, max_concurrent_jobs=1, demo_latency=2) as h:
        clocked = Clocked(h, clock, {})
        first = await h.video("first in line", user="alice", duration=2, resolution="360p")
        second = await h.video("second in line", user="bob", duration=2, resolution="360p")
        first_msg = await clocked.finished(first)
        second_msg = await clocked.finished(second)

        lines = [status_line(w.payload) for w in second_msg.edits]
        queued = [i for i, line in enumerate(lines) if "Queued · position 1 of 1" in line]
        running = [i for i, w in enumerate(second_msg.edits) if title(w.payload) == "🎬 Generating video"]
        assert queued, f"the second job never showed its place in line: {lines}"
        assert running and queued[0] < running[0]
        jobs = {g.prompt: g for g in await Generation.all()}
        assert first_msg.embeds[0]["title"] == second_msg.embeds[0]["title"] == "✅ Video ready"
        assert jobs["second in line"].submit_started_at >= jobs["first in line"].completed_at, (
            "the second job ran while the first still held the only slot"
        )


async def one_job_in_line(h, prompt: str, clock: ManualClock | None = None):
    """/video on a bot without workers: the job waits, showing its place. (handle, job id)"""
    handle = await h.video(prompt, duration=2, resolution="360p")
    if clock is not None:  # the edit pace runs on this clock: move it on until the place is shown
        await clock.run_until(
            lambda: (
                handle.original is not None
                and "Queued · position 1 of 1" in embeds_text(handle.original.embeds)
            ),
            step=1.0,
        )
    await handle.wait_original(lambda m: "Queued · position 1 of 1" in embeds_text(m.embeds))
    [job] = await Generation.all().values_list("id", flat=True)
    return handle, job


async def test_a_process_without_workers_shows_the_place_then_forgets_a_job_another_process_runs(
    db, tmp_path, monkeypatch
):
    clock = ManualClock(start=dt.datetime.now(dt.UTC))
    async with open_harness(tmp_path, monkeypatch, workers=0, clock=clock) as h:
        _, job = await one_job_in_line(h, "run elsewhere", clock)
        display = h.bot.jobs
        assert job in display.tracked

        async def abandon(job_id, error):
            return None

        claim = await JobQueue(QueuePolicy(), "another-process", on_abandoned=abandon).claim()
        assert claim.job_id == job
        await display.show_positions()
        assert job in display.tracked, "kept a while: a worker here might have just claimed it"
        await clock.advance(31)
        await display.show_positions()
        assert job not in display.tracked


async def test_a_place_in_line_read_just_before_the_job_started_does_not_overwrite_its_progress(
    db, tmp_path, monkeypatch
):
    async with open_harness(tmp_path, monkeypatch, workers=0) as h:
        handle, job = await one_job_in_line(h, "starts right now")
        display = h.bot.jobs
        tracked = display.tracked[job]
        tracked.running_here = True  # as if a worker here had just claimed it...
        tracked.progress(10, "Request sent")
        display.refresh = PositionRefresh()  # ...while the display still saw it in line
        await display.show_positions()
        msg = await handle.wait_original(lambda m: "Request sent" in embeds_text(m.embeds))
        assert "Queued" not in embeds_text(msg.embeds)
