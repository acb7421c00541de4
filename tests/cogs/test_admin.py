"""/videoadmin end to end: the real discord.py bot against the fake Discord, with a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.platform.clock import utc_day
from models import DailySpend, DailyUsage, Generation, GenerationStatus
from tests.cogs.conftest import ADMIN_ID, MANAGE_GUILD, embeds_text, member_permissions, seed_job
from tests.fakes.discord import FLAG_EPHEMERAL, FakeInteraction


def today() -> dt.date:
    return utc_day(dt.datetime.now(dt.UTC))


def user_id(h, name: str) -> int:
    return int(h.fake.user(name)["id"])


async def admin(
    h,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    as_user: str = "root",
    dm: bool = False,
    permissions: int | None = None,
) -> FakeInteraction:
    """Run `/videoadmin <command>` (as the ADMIN_USER_IDS user "root" unless told otherwise)."""
    h.fake.user("root", id=ADMIN_ID)
    handle = await h.fake.send_slash_command(
        f"videoadmin {command}", options, user=h.fake.user(as_user), dm=dm, permissions=permissions
    )
    await handle.wait_callback()
    return handle


def reply(handle: FakeInteraction) -> tuple[str, str]:
    """(title, description) of an ephemeral type-4 answer."""
    cb = handle.callback
    assert cb is not None and cb.type == 4, handle.attempts
    assert cb.data["flags"] & FLAG_EPHEMERAL
    embed = cb.data["embeds"][0]
    return embed["title"], embed.get("description", "")


async def video_callback(h, prompt: str = "a red fox", user: str = "alice", **options) -> tuple[int, str]:
    """/video as `user`: (callback type, text of a refusal or "")."""
    handle = await h.video(prompt, user=user, **{"duration": 2, "resolution": "360p", **options})
    cb = handle.callback
    if cb.type == 4:
        assert cb.data["flags"] & FLAG_EPHEMERAL
        return 4, embeds_text(cb.data["embeds"])
    return cb.type, ""


# ---- every subcommand works for an admin ------------------------------------------------------------


async def test_quota_set_limits_that_users_next_video(discord_env):
    h = discord_env
    alice = h.fake.user("alice")
    title, text = reply(await admin(h, "quota set", {"user": alice, "daily_seconds": 2}))
    assert title == "Quota set" and text == f"<@{alice['id']}>: 5 videos and 2 s a day."

    kind, refusal = await video_callback(h, duration=4)
    assert kind == 4
    assert "daily limit of 2 seconds" in refusal
    assert await Generation.filter(user_id=int(alice["id"])).count() == 0


async def test_quota_reset_gives_back_todays_usage(discord_env):
    h = discord_env
    await h.finished(await h.video("a red fox", duration=2, resolution="360p"))
    alice = user_id(h, "alice")
    assert await DailyUsage.get(user_id=alice, day=today()).values("videos", "seconds") == {
        "videos": 1,
        "seconds": 2,
    }
    title, _ = reply(await admin(h, "quota reset", {"user": h.fake.user("alice")}))
    assert title == "Quota reset"
    usage = await DailyUsage.get(user_id=alice, day=today())
    assert (usage.videos, usage.seconds) == (0, 0)


async def test_quota_show_reports_a_users_usage_limits_and_block(discord_env):
    h = discord_env
    await h.finished(await h.video("a red fox", duration=2, resolution="360p"))
    await h.services.admin.block(ADMIN_ID, user_id(h, "alice"), "too many foxes")
    title, text = reply(await admin(h, "quota show", {"user": h.fake.user("alice")}))
    assert title == "Quota"
    assert "2 s used today" in text and "4 videos and 58 s left today" in text
    assert "Blocked: too many foxes" in text


async def test_block_makes_video_refuse_with_the_reason(discord_env):
    h = discord_env
    title, _ = reply(await admin(h, "block", {"user": h.fake.user("alice"), "reason": "too many foxes"}))
    assert title == "Blocked"
    kind, refusal = await video_callback(h)
    assert kind == 4 and "too many foxes" in refusal
    assert await Generation.all().count() == 0


async def test_unblock_lets_the_user_make_videos_again(discord_env):
    h = discord_env
    await admin(h, "block", {"user": h.fake.user("alice")})
    title, text = reply(await admin(h, "unblock", {"user": h.fake.user("alice")}))
    assert title == "Unblocked" and "can make videos again" in text
    kind, _ = await video_callback(h)
    assert kind == 5


async def test_queue_lists_a_running_job_with_id_user_and_model(slow_discord_env):
    h = slow_discord_env
    handle = await h.video("a slow fox", duration=2, resolution="360p")
    await handle.wait_original(lambda m: "Generating video" in embeds_text(m.embeds))
    gen = await Generation.get(user_id=user_id(h, "alice"))
    title, text = reply(await admin(h, "queue"))
    assert title == "Queue (1)"
    assert text.startswith(f"🎬 #{gen.id} · processing · <@{user_id(h, 'alice')}> · demo · ")


async def test_queue_says_when_nothing_waits_or_runs(discord_env):
    title, text = reply(await admin(discord_env, "queue"))
    assert (title, text) == ("Queue (0)", "Nothing waiting or running.")


async def test_cancel_job_cancels_a_running_job(slow_discord_env):
    h = slow_discord_env
    handle = await h.video("a slow fox", duration=2, resolution="360p")
    await handle.wait_original(lambda m: "Generating video" in embeds_text(m.embeds))
    gen = await Generation.get(user_id=user_id(h, "alice"))

    title, text = reply(await admin(h, "cancel", {"job": gen.id}))
    assert (title, text) == ("Cancel", f"Job #{gen.id} cancelled.")
    await gen.refresh_from_db()
    assert gen.status is GenerationStatus.CANCELLED
    msg = await handle.wait_original(lambda m: m.embeds and m.embeds[0]["title"] == "🚫 Video cancelled")
    assert not msg.attachments


async def test_cancel_of_a_finished_job_says_it_is_not_running(discord_env):
    h = discord_env
    gen = await seed_job(user_id(h, "alice"))
    _, text = reply(await admin(h, "cancel", {"job": gen.id}))
    assert text == f"Job #{gen.id} is not running."
    await gen.refresh_from_db()
    assert gen.status is GenerationStatus.COMPLETED


async def test_pause_makes_video_refuse(discord_env):
    h = discord_env
    title, _ = reply(await admin(h, "pause"))
    assert title == "Paused"
    kind, refusal = await video_callback(h)
    assert kind == 4 and "paused" in refusal
    assert await Generation.all().count() == 0


async def test_resume_lets_video_run_again(discord_env):
    h = discord_env
    await admin(h, "pause")
    title, _ = reply(await admin(h, "resume"))
    assert title == "Resumed"
    kind, _ = await video_callback(h)
    assert kind == 5


async def test_stats_shows_todays_counts_and_spend(discord_env):
    h = discord_env
    await h.finished(await h.video("a red fox", duration=2, resolution="360p"))
    await DailySpend.create(day=today(), micro_usd=1_250_000)
    title, text = reply(await admin(h, "stats"))
    assert title == f"Stats for {today().isoformat()} (UTC)"
    lines = text.split("\n")
    assert lines[0] == "By status: completed 1"
    assert lines[1] == "By model: demo 1"
    assert lines[2] == "Success rate: 100%"
    assert lines[3].startswith("Median time: demo 0:0")
    assert lines[4] == "Estimated spend: $1.25 of $10.00 cap"


async def test_sync_pushes_the_commands_to_discord(discord_env):
    h = discord_env
    puts = len(h.fake.command_puts)
    handle = await admin(h, "sync")
    assert handle.callback.type == 5 and handle.callback.data["flags"] & FLAG_EPHEMERAL
    msg = await handle.wait_original(lambda m: not m.loading)
    assert msg.ephemeral and msg.embeds[0]["title"] == "Synced"
    assert len(h.fake.command_puts) == puts + 1
    names = {c["name"] for c in h.fake.command_puts[-1][1]}
    assert {"video", "history", "quota", "videoadmin"} <= names
    assert msg.embeds[0]["description"] == f"{len(names)} commands pushed to Discord."


async def test_a_member_with_manage_server_is_an_admin(discord_env):
    h = discord_env
    handle = await admin(h, "pause", as_user="mod", permissions=member_permissions(MANAGE_GUILD))
    assert reply(handle)[0] == "Paused"
    assert await h.services.admin.is_paused()


async def test_an_admin_user_id_is_an_admin_in_a_dm(discord_env):
    h = discord_env
    handle = await admin(h, "pause", dm=True)
    assert reply(handle)[0] == "Paused"
    assert await h.services.admin.is_paused()


async def test_videoadmin_is_offered_only_to_manage_server_members_by_default(discord_env):
    # a hint for Discord's client (server owners can change it); the runtime check below is what counts
    (command,) = [c for c in discord_env.fake.commands if c["name"] == "videoadmin"]
    assert int(command["default_member_permissions"]) == MANAGE_GUILD


# Non-admins: tests/cogs/test_command_tree.py sends every /videoadmin subcommand the tree walk finds.


async def test_an_admin_s_quota_change_takes_effect_at_once(discord_env):
    h = discord_env
    alice = user_id(h, "alice")
    await h.services.admin.set_quota(ADMIN_ID, alice, 1, None)
    first, _ = await video_callback(h)
    kind, refusal = await video_callback(h)
    assert (first, kind) == (5, 4) and "1 of 1 videos" in refusal  # refused, and remembered for a while
    title, _ = reply(await admin(h, "quota set", {"user": h.fake.user("alice"), "daily_videos": 3}))
    assert title == "Quota set"
    again, _ = await video_callback(h)
    assert again == 5, "not refused from memory after the admin raised the limit"
