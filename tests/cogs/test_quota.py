"""/quota end to end: the real discord.py bot against the fake Discord, with a real database."""

from __future__ import annotations

import datetime as dt
import re

import pytest_asyncio

from models import DailyUsage, Generation, GenerationStatus
from tests.cogs.conftest import ADMIN_ID, embeds_text, open_harness, seed_job
from tests.fakes.discord import FLAG_EPHEMERAL


async def quota(h, user: str = "alice") -> dict[str, str]:
    """Run /quota; assert the reply is an ephemeral type-4 message; return its fields by name."""
    handle = await h.fake.send_slash_command("quota", user=h.fake.user(user))
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, handle.attempts
    assert handle.original.ephemeral
    (embed,) = cb.data["embeds"]
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def user_id(h, name: str) -> int:
    return int(h.fake.user(name)["id"])


async def test_quota_shows_videos_and_seconds_used_today_against_the_limits(discord_env):
    h = discord_env
    fields = await quota(h)
    assert fields["Videos today"] == "0 videos of 5"
    assert fields["Video-seconds today"] == "0 s of 60"

    await h.finished(await h.video("a red fox in snow", duration=2, resolution="360p"))
    fields = await quota(h)
    assert re.fullmatch(r"1 videos? of 5", fields["Videos today"]), fields
    assert fields["Video-seconds today"] == "2 s of 60"
    assert "In progress" not in fields and "Blocked" not in fields


async def test_quota_shows_a_users_own_limits_set_by_an_admin(discord_env):
    h = discord_env
    await h.services.admin.set_quota(ADMIN_ID, user_id(h, "alice"), 0, 100)
    fields = await quota(h)
    assert fields["Videos today"] == "0 videos (no limit)"
    assert fields["Video-seconds today"] == "0 s of 100"


async def test_quota_reset_is_next_utc_midnight_as_a_relative_timestamp(discord_env):
    h = discord_env
    before = dt.datetime.now(dt.UTC)
    fields = await quota(h)
    after = dt.datetime.now(dt.UTC)
    midnights = {
        int(dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC).timestamp())
        for t in (before, after)
    }
    assert fields["Resets"] in {f"<t:{ts}:R>" for ts in midnights}


@pytest_asyncio.fixture
async def two_at_a_time(db, tmp_path, monkeypatch):
    """Demo jobs take 30 s; a user may run two at once, so a third waits."""
    async with open_harness(tmp_path, monkeypatch, demo_latency=30, user_max_running=2) as harness:
        yield harness


async def test_quota_lists_the_users_queued_and_running_jobs(two_at_a_time):
    h = two_at_a_time
    await seed_job(user_id(h, "alice"), prompt="finished earlier")
    await seed_job(user_id(h, "bob"), prompt="bob is running", status="processing")
    handles = [await h.video(f"clip number {i}", duration=2, resolution="360p") for i in (1, 2, 3)]
    for handle in handles[:2]:
        await handle.wait_original(lambda m: "Generating video" in embeds_text(m.embeds))
    await handles[2].wait_original(lambda m: "position 1 of 1" in embeds_text(m.embeds))
    jobs = await Generation.filter(user_id=user_id(h, "alice"), prompt__startswith="clip").order_by("id")
    assert [j.status for j in jobs] == [GenerationStatus.PROCESSING] * 2 + [GenerationStatus.QUEUED]

    fields = await quota(h)
    lines = fields["In progress"].split("\n")
    assert lines == [
        f"🎬 #{jobs[0].id} processing · demo · clip number 1",
        f"🎬 #{jobs[1].id} processing · demo · clip number 2",
        f"⏳ #{jobs[2].id} queued · demo · clip number 3",
    ]
    assert fields["Videos today"] == "3 videos of 5" and fields["Video-seconds today"] == "6 s of 60"


async def test_quota_shows_that_the_user_is_blocked_and_why(discord_env):
    h = discord_env
    await h.services.admin.block(ADMIN_ID, user_id(h, "alice"), "spamming **loudly**")
    fields = await quota(h)
    assert fields["Blocked"] == r"You are blocked from making videos: spamming \*\*loudly\*\*"


async def test_past_user_max_queued_video_is_refused_ephemerally_and_costs_nothing(db, tmp_path, monkeypatch):
    async with open_harness(
        tmp_path, monkeypatch, demo_latency=30, max_concurrent_jobs=1, user_max_queued=2
    ) as h:
        first = await h.video("clip 1", duration=2, resolution="360p")
        await first.wait_original(lambda m: "Generating video" in embeds_text(m.embeds))
        handles = [await h.video(f"clip {i}", duration=2, resolution="360p") for i in (2, 3)]
        await handles[1].wait_original(lambda m: "position 2 of 2" in embeds_text(m.embeds))
        usage_before = await DailyUsage.get(user_id=user_id(h, "alice"))
        refused = await h.fake.send_slash_command(
            "video", {"prompt": "one too many", "duration": 2}, user=h.fake.user("alice")
        )
        cb = await refused.wait_callback()
        assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, refused.attempts
        assert "you already have 2 videos waiting to start (at most 2)" in embeds_text(cb.data["embeds"])
        assert await Generation.filter(prompt="one too many").count() == 0
        usage = await DailyUsage.get(user_id=user_id(h, "alice"))
        assert (usage.videos, usage.seconds) == (usage_before.videos, usage_before.seconds) == (3, 6)
        bob = await h.video("bob is not affected", user="bob", duration=2, resolution="360p")
        await bob.wait_original(lambda m: "position 1 of 3" in embeds_text(m.embeds))  # bob's turn first
