"""/video's model and aspect-ratio choices: a retired model leaves the model list on its retire day (by the
bot's injected clock) and is refused ephemerally at no cost; the aspect ratios offered are the chosen
model's, the newer shapes (4:3, 3:4, 21:9) included, and a demo video comes out in them."""

from __future__ import annotations

import datetime as dt
import io

import av

from core.catalog import load_catalog
from models import DailyUsage, Generation
from tests.cogs.conftest import embeds_text, open_harness
from tests.fakes.clock import ManualClock
from tests.fakes.discord import FLAG_EPHEMERAL

LAST_MINUTE = dt.datetime(2026, 12, 2, 23, 59, tzinfo=dt.UTC)  # omni-1.1-flash retires 2026-12-03 (UTC)


async def choices(h, options: dict, focused: str) -> list[dict]:
    handle = await h.fake.send_autocomplete(
        "video", {"prompt": "a fox", **options}, focused=focused, user=h.fake.user("alice")
    )
    callback = await handle.wait_callback()
    assert callback.type == 8
    return callback.data["choices"]


async def test_a_retired_model_leaves_the_model_list_on_its_retire_day(db, tmp_path, monkeypatch):
    clock = ManualClock(LAST_MINUTE)
    async with open_harness(tmp_path, monkeypatch, clock=clock, gemini_api_key="test-key") as h:
        before = [c["value"] for c in await choices(h, {"model": "omni"}, "model")]
        assert before == ["omni-1.2-flash", "omni-1.1-flash"]
        await clock.advance(60)
        after = [c["value"] for c in await choices(h, {"model": "omni"}, "model")]
        assert after == ["omni-1.2-flash"]


async def test_a_retired_model_is_refused_ephemerally_and_costs_nothing(db, tmp_path, monkeypatch):
    clock = ManualClock(LAST_MINUTE + dt.timedelta(minutes=1))
    async with open_harness(tmp_path, monkeypatch, clock=clock, gemini_api_key="test-key") as h:
        handle = await h.video("a fox", model="omni-1.1-flash")
        cb = handle.callback
        assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
        text = embeds_text(cb.data["embeds"])
        assert "no longer available" in text and "omni-1.2-flash" in text  # names the replacement
        assert await Generation.all().count() == 0
        assert not await DailyUsage.filter(videos__gt=0).exists()


async def test_aspect_ratio_choices_are_the_chosen_models_with_names(discord_env):
    seedance = await choices(discord_env, {"model": "fal-seedance-2", "aspect_ratio": ""}, "aspect_ratio")
    assert [(c["name"], c["value"]) for c in seedance] == [
        ("16:9 · landscape", "16:9"),
        ("9:16 · portrait", "9:16"),
        ("1:1 · square", "1:1"),
        ("4:3 · classic landscape", "4:3"),
        ("3:4 · classic portrait", "3:4"),
        ("21:9 · ultrawide", "21:9"),
    ]
    horse = await choices(discord_env, {"model": "fal-happyhorse-1", "aspect_ratio": ""}, "aspect_ratio")
    assert [c["value"] for c in horse] == ["16:9", "9:16", "1:1", "4:3", "3:4"]
    omni = await choices(discord_env, {"model": "omni-1.2-flash", "aspect_ratio": ""}, "aspect_ratio")
    assert [c["value"] for c in omni] == ["16:9", "9:16"]
    typed = await choices(discord_env, {"model": "demo", "aspect_ratio": "ultra"}, "aspect_ratio")
    assert [c["value"] for c in typed] == ["21:9"]


async def test_an_aspect_ratio_the_model_lacks_is_refused_naming_the_allowed_ones(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, gemini_api_key="test-key") as h:
        handle = await h.video("a fox", model="omni-1.2-flash", aspect_ratio="21:9")
        assert handle.callback.data["flags"] & FLAG_EPHEMERAL
        text = embeds_text(handle.callback.data["embeds"])
        assert "aspect_ratio: '21:9' is not offered by omni-1.2-flash; allowed: 16:9, 9:16" in text
        assert await Generation.all().count() == 0


async def test_a_demo_video_in_21_9_has_that_shape(discord_env):
    handle = await discord_env.video(
        "a wide fox", model="demo", duration=2, resolution="360p", aspect_ratio="21:9"
    )
    msg = await discord_env.finished(handle)
    with av.open(io.BytesIO(msg.attachments[0].data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (840, 360)


async def test_duration_choices_are_the_chosen_models_lengths_with_their_cost(discord_env):
    h = discord_env
    demo = [c["value"] for c in await choices(h, {"model": "demo", "duration": ""}, "duration")]
    assert demo == list(load_catalog().get("demo").durations)
    veo = await choices(h, {"model": "veo-3.1", "resolution": "1080p", "duration": "8"}, "duration")
    spec = load_catalog().get("veo-3.1")
    assert [c["value"] for c in veo] == [8]
    assert veo[0]["name"] == f"8 s · est. ${spec.estimate_cost(8, '1080p'):.2f}"
