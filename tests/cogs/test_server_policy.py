"""/videoadmin server, channel set|reset and role through the real bot against the fake Discord: each
server decides what, who and how much; refusals are private and change nothing."""

from __future__ import annotations

from cogs.ui.embeds import job_embed
from core.jobs.views import JobView
from models import DailyUsage, Generation, ServerSettings
from tests.cogs.conftest import ADMIN_ID, embeds_text, seed_job
from tests.cogs.test_creative import VIDEO
from tests.fakes.discord import FLAG_EPHEMERAL


async def admin(h, name: str, options: dict | None = None) -> tuple[str, str]:
    """Run a /videoadmin command as the admin: (title, text) of its private answer."""
    handle = await h.fake.send_slash_command(
        f"videoadmin {name}", options or {}, user=h.fake.user("admin", id=ADMIN_ID)
    )
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, cb
    return cb.data["embeds"][0]["title"], embeds_text(cb.data["embeds"])


async def video(h, user: str, channel_id: int | None = None, roles=None, **options):
    handle = await h.fake.send_slash_command(
        "video",
        {"prompt": "a fox", **VIDEO, **options},
        user=h.fake.user(user),
        channel_id=channel_id,
        roles=roles,
    )
    await handle.wait_callback()
    return handle


def refusal(handle) -> str:
    """The private refusal's text (fails if the command was not refused privately)."""
    cb = handle.callback
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL, cb
    return embeds_text(cb.data["embeds"])


async def nothing_recorded_for(user_id: int) -> bool:
    return (
        await Generation.filter(user_id=user_id).count() == 0
        and await DailyUsage.filter(user_id=user_id, videos__gt=0).count() == 0
    )


async def test_a_server_cap_of_two_videos_refuses_the_third_for_another_member(discord_env):
    h = discord_env
    title, text = await admin(h, "server set", {"daily_videos": 2})
    assert title == "Server policy updated" and "0 of 2 used today" in text
    for user in ("alice", "bob"):
        await h.finished(await video(h, user))
    text = refusal(await video(h, "carol"))
    assert "This server has made as many videos as its admins allow today" in text
    assert "2 of the 2 videos" in text
    assert await nothing_recorded_for(int(h.fake.user("carol")["id"]))
    _, shown = await admin(h, "server show")
    assert "2 of 2 used today" in shown


async def test_a_bad_value_is_refused_naming_the_field_and_nothing_changes(discord_env):
    h = discord_env
    title, text = await admin(h, "server set", {"default_model": "nope", "spoilers": True})
    assert title == "Not changed" and "default_model: unknown model 'nope'" in text
    assert await ServerSettings.all().count() == 0  # spoilers wasn't set either
    title, text = await admin(h, "server set", {"allowed_models": "veo-3.1, nope"})
    assert "allowed_models: unknown model 'nope'" in text
    title, _ = await admin(h, "server set")
    assert title == "Nothing to change"


async def test_models_the_server_does_not_allow_are_hidden_and_refused(discord_env):
    h = discord_env
    await admin(h, "server set", {"allowed_models": "demo"})
    handle = await h.fake.send_autocomplete(
        "video", {"prompt": "a fox", "model": ""}, focused="model", user=h.fake.user("alice")
    )
    offered = [c["value"] for c in (await handle.wait_callback()).data["choices"]]
    assert offered == ["demo"]
    text = refusal(await video(h, "alice", model="omni-1.2-flash"))
    assert "model: 'omni-1.2-flash' is not allowed on this server; allowed: demo" in text
    assert await nothing_recorded_for(int(h.fake.user("alice")["id"]))


async def test_results_are_posted_as_spoilers_when_the_server_asks(discord_env):
    h = discord_env
    await admin(h, "server set", {"spoilers": True})
    done = await h.finished(await video(h, "alice"))
    job = await Generation.get(user_id=int(h.fake.user("alice")["id"]))
    assert [a.filename for a in done.attachments] == [f"SPOILER_video_{job.id}.mp4"]


async def test_a_channels_limits_win_and_reset_brings_the_servers_back(discord_env):
    h = discord_env
    general = h.fake.channel_id
    await admin(h, "server set", {"max_duration": 4})
    title, text = await admin(h, "channel set", {"channel": h.fake.guild.channels[0], "max_duration": 2})
    assert title == "#general updated" and "at most 2 s" in text
    text = refusal(await video(h, "alice", duration=4))
    assert "duration: at most 2 s in this channel" in text
    lab = h.fake.add_text_channel("video-lab")
    assert (
        await video(h, "alice", channel_id=int(lab["id"]), duration=4)
    ).callback.type == 5  # the server's 4 s
    title, _ = await admin(h, "channel reset", {"channel": h.fake.guild.channels[0]})
    assert title == "#general reset"
    assert (await video(h, "alice", channel_id=general, duration=4)).callback.type == 5


async def test_looser_safety_needs_a_channel_discord_marks_nsfw(discord_env):
    h = discord_env
    title, text = await admin(h, "channel set", {"channel": h.fake.guild.channels[0], "nsfw_safety": True})
    assert title == "Not changed" and "nsfw_safety: only a channel marked age-restricted" in text
    adults = h.fake.add_text_channel("adults", nsfw=True)
    title, text = await admin(h, "channel set", {"channel": adults, "nsfw_safety": True})
    assert title == "#adults updated" and "looser safety" in text


async def test_only_members_with_an_allowed_role_may_make_videos(discord_env):
    h = discord_env
    creators = await h.fake.add_role("Creators")
    title, text = await admin(h, "role allow", {"role": creators})
    assert title == "Role allowed" and f"<@&{creators['id']}>" in text
    text = refusal(await video(h, "alice"))
    assert "Only members with certain roles can make videos" in text and f"<@&{creators['id']}>" in text
    assert await nothing_recorded_for(int(h.fake.user("alice")["id"]))
    await h.finished(await video(h, "alice", roles=[int(creators["id"])]))
    title, _ = await admin(h, "role disallow", {"role": creators})
    assert (await video(h, "alice")).callback.type == 5  # everyone again


async def test_a_role_quota_tier_lifts_the_default_for_its_members(discord_env):
    h = discord_env  # the harness's default quota is in make_settings
    creators = await h.fake.add_role("Creators")
    title, text = await admin(h, "role quota", {"role": creators, "daily_videos": 50})
    assert title == "Quota tier set" and "50 videos a day" in text
    handle = await h.fake.send_slash_command(
        "quota", {}, user=h.fake.user("alice"), roles=[int(creators["id"])]
    )
    cb = await handle.wait_callback()
    assert "of 50" in embeds_text(cb.data["embeds"])


async def test_threads_can_be_closed_to_video(discord_env):
    h = discord_env
    await admin(h, "server set", {"threads": False})
    thread = h.fake.add_text_channel("a thread", thread_of=h.fake.guild.channels[0])
    text = refusal(await video(h, "alice", channel_id=int(thread["id"])))
    assert "not made in threads" in text


async def test_a_safety_blocked_prompt_is_hidden_where_the_server_asks(db):
    shown = await seed_job(
        1,
        prompt="something spicy",
        status="failed",
        error_type="safety_blocked",
    )
    hidden = await seed_job(1, prompt="something spicy", status="failed", error_type="safety_blocked")
    hidden.config = {**hidden.config, "hide_blocked_prompt": True}
    await hidden.save()
    assert "something spicy" in str(job_embed(JobView.of(shown), shown.status, "").to_dict())
    text = str(job_embed(JobView.of(hidden), hidden.status, "").to_dict())
    assert "something spicy" not in text and "safety filter refused it" in text
