"""/presets and /video preset: end to end, the real discord.py bot against the fake Discord, the demo model."""

from __future__ import annotations

import datetime as dt

import pytest

from core.providers.base import VideoRequest
from models import DailyUsage, Generation, Preset
from tests.cogs.conftest import embeds_text, open_harness
from tests.fakes.clock import ManualClock
from tests.fakes.discord import FLAG_EPHEMERAL

PORTRAIT = {"name": "portrait", "model": "demo", "duration": 2, "aspect_ratio": "9:16", "resolution": "360p"}


async def command(h, name: str, options: dict | None = None, user: str = "alice") -> dict:
    """Run a slash command; its immediate answer, which must be ephemeral: (title, text)."""
    handle = await h.fake.send_slash_command(name, options or {}, user=h.fake.user(user))
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, cb
    return cb.data["embeds"][0]["title"], embeds_text(cb.data["embeds"])


@pytest.fixture
def submitted(discord_env, monkeypatch) -> list[VideoRequest]:
    """Every request the demo provider is given."""
    demo = discord_env.services.providers["demo"]
    seen: list[VideoRequest] = []
    real = demo.submit

    async def recording(request: VideoRequest) -> str:
        seen.append(request)
        return await real(request)

    monkeypatch.setattr(demo, "submit", recording)
    return seen


async def test_save_list_then_video_with_the_preset_reaches_the_provider(discord_env, submitted):
    h = discord_env
    title, text = await command(h, "presets save", {**PORTRAIT, "suffix": "golden hour"})
    assert title == "Preset saved" and "demo · 2 s · 9:16 · 360p · suffix: golden hour" in text
    title, text = await command(h, "presets list")
    assert title == "Your presets" and "portrait" in text and "1 of 25" in text

    handle = await h.video("a heron", preset="Portrait")
    assert handle.callback.type == 5  # public, like any /video
    msg = await h.finished(handle)
    assert msg.embeds[0]["title"] == "✅ Video ready"
    [request] = submitted
    assert request.prompt == "a heron, golden hour"
    assert (request.model.name, request.duration, request.aspect_ratio, request.resolution) == (
        "demo",
        2,
        "9:16",
        "360p",
    )


async def test_the_default_preset_applies_when_video_names_none_and_options_win(discord_env, submitted):
    h = discord_env
    await command(h, "presets save", PORTRAIT)
    title, _ = await command(h, "presets default", {"name": "portrait"})
    assert title == "Default preset set"
    await h.finished(await h.video("a default fox"))
    await h.finished(await h.video("an explicit fox", aspect_ratio="1:1", duration=4))
    first, second = submitted
    assert (first.prompt, first.aspect_ratio, first.duration, first.resolution) == (
        "a default fox",
        "9:16",
        2,
        "360p",
    )
    assert (second.aspect_ratio, second.duration, second.resolution) == ("1:1", 4, "360p")

    title, _ = await command(h, "presets default")
    assert title == "Default preset cleared"
    await h.finished(await h.video("a plain fox"))
    assert (submitted[2].aspect_ratio, submitted[2].duration, submitted[2].resolution) == ("16:9", 4, "720p")


async def test_a_bad_preset_is_refused_naming_the_field_and_saves_nothing(discord_env):
    h = discord_env
    title, text = await command(h, "presets save", {"name": "no spaces", "duration": 4})
    assert title == "Can't save that preset" and "name: a preset name is 1-32 characters" in text
    title, text = await command(h, "presets save", {"name": "odd", "model": "demo", "duration": 3})
    assert "duration: 3 s is not offered by demo; allowed: 2, 4, 6, 8, 10 s" in text
    assert await Preset.all().count() == 0


async def test_an_unknown_preset_on_video_is_refused_ephemerally(discord_env):
    handle = await discord_env.video("a fox", preset="ghost")
    cb = handle.callback
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
    assert "preset: you have no preset called 'ghost'" in embeds_text(cb.data["embeds"])
    assert await Generation.all().count() == 0


async def test_a_preset_whose_model_retired_is_refused_ephemerally_and_charges_nothing(
    db, tmp_path, monkeypatch
):
    clock = ManualClock(dt.datetime(2026, 12, 2, 23, 59, tzinfo=dt.UTC))  # omni-1.1-flash retires 2026-12-03
    async with open_harness(tmp_path, monkeypatch, clock=clock, gemini_api_key="test-key") as h:
        title, _ = await command(h, "presets save", {"name": "old", "model": "omni-1.1-flash"})
        assert title == "Preset saved"
        await clock.advance(120)
        handle = await h.video("a fox", preset="old")
        cb = handle.callback
        assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
        text = embeds_text(cb.data["embeds"])
        assert "preset 'old': model: 'omni-1.1-flash' was retired on 2026-12-03" in text
        assert "omni-1.2-flash" in text
        assert await Generation.all().count() == 0
        assert not await DailyUsage.filter(videos__gt=0).exists()


async def test_autocomplete_lists_only_the_users_own_presets(discord_env):
    h = discord_env
    for name in ("night", "noir", "day"):
        await command(h, "presets save", {"name": name, "duration": 4})
    await command(h, "presets save", {"name": "bobs-night", "duration": 4}, user="bob")

    async def choices(name: str, options: dict, focused: str, user: str = "alice") -> list[str]:
        handle = await h.fake.send_autocomplete(name, options, focused=focused, user=h.fake.user(user))
        cb = await handle.wait_callback()
        assert cb.type == 8
        return [c["value"] for c in cb.data["choices"]]

    assert await choices("video", {"prompt": "x", "preset": "n"}, "preset") == ["night", "noir"]
    assert await choices("video", {"prompt": "x", "preset": ""}, "preset", user="bob") == ["bobs-night"]
    assert await choices("presets delete", {"name": "D"}, "name") == ["day"]
    assert await choices("presets default", {"name": ""}, "name") == ["day", "night", "noir"]


async def test_delete_removes_the_preset_and_says_when_it_was_the_default(discord_env):
    h = discord_env
    await command(h, "presets save", PORTRAIT)
    await command(h, "presets default", {"name": "portrait"})
    title, text = await command(h, "presets delete", {"name": "PORTRAIT"})
    assert title == "Preset deleted" and "It was your default" in text
    title, text = await command(h, "presets delete", {"name": "portrait"})
    assert title == "Can't delete that" and "name: you have no preset called 'portrait'" in text
    _, text = await command(h, "presets list")
    assert "None yet" in text
