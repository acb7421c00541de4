"""The retention task removes old videos on a schedule and survives a failing sweep."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.media import retention
from core.media.retention import retention_loop, sweep_outputs

DAY = 86400


def make_video(folder, name: str, age_days: float, now: float):
    path = folder / name
    path.write_bytes(b"\0\0\0\x18ftypmp42")
    os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    return path


async def test_sweep_removes_only_videos_past_retention(tmp_path):
    now = 1_800_000_000.0
    old = make_video(tmp_path, "old.mp4", 31, now)
    fresh = make_video(tmp_path, "fresh.mp4", 29, now)
    assert await sweep_outputs(tmp_path, 30, now=lambda: now) == 1
    assert not old.exists() and fresh.exists()


async def test_loop_sweeps_every_interval_until_cancelled(tmp_path):
    now = [1_800_000_000.0]
    sleeps = []
    make_video(tmp_path, "a.mp4", 10, now[0])

    async def fake_sleep(seconds):
        sleeps.append(seconds)
        now[0] += 25 * DAY  # a.mp4 passes 30 days after the first sleep
        if len(sleeps) == 2:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await retention_loop(tmp_path, 30, interval=3600, sleep=fake_sleep, now=lambda: now[0])
    assert sleeps == [3600, 3600]
    assert not (tmp_path / "a.mp4").exists()


async def test_a_failing_sweep_is_logged_and_the_loop_goes_on(tmp_path, monkeypatch, caplog):
    calls = []

    def broken(*args):
        calls.append(args)
        raise OSError("disk on fire")

    monkeypatch.setattr(retention, "remove_old_outputs", broken)

    async def stop_after_two(seconds):
        if len(calls) == 2:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await retention_loop(tmp_path, 30, sleep=stop_after_two)
    assert len(calls) == 2 and "retention sweep" in caplog.text


async def test_zero_days_keeps_everything(tmp_path):
    await retention_loop(tmp_path, 0)  # returns at once instead of looping


async def test_partial_downloads_and_input_images_are_swept_too(tmp_path):
    now = 1_800_000_000.0
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    old_part = make_video(tmp_path, "20261101_x_3.mp4.ab12.part", 31, now)  # a crash mid-download
    old_image = make_video(inputs, "0f3c.png", 31, now)
    fresh_image = make_video(inputs, "9a1b.jpg", 1, now)
    kept = make_video(tmp_path, "notes.txt", 400, now)  # not ours to delete
    assert await sweep_outputs(tmp_path, 30, now=lambda: now) == 2
    assert not old_part.exists() and not old_image.exists()
    assert fresh_image.exists() and kept.exists()
