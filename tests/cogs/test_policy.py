"""Where /video works: once an admin allows a channel, /video elsewhere is refused privately (naming where
it works) and changes nothing; threads follow their channel; DMs follow ALLOW_DMS."""

from __future__ import annotations

from models import DailyUsage, Generation
from tests.cogs.conftest import ADMIN_ID, embeds_text, open_harness
from tests.cogs.test_creative import VIDEO
from tests.fakes.discord import FLAG_EPHEMERAL


async def admin(h, name: str, options: dict) -> str:
    handle = await h.fake.send_slash_command(
        f"videoadmin {name}", options, user=h.fake.user("admin", id=ADMIN_ID)
    )
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
    return embeds_text(cb.data["embeds"])


async def video_in(h, channel_id: int, prompt: str = "a fox", **kwargs):
    handle = await h.fake.send_slash_command(
        "video", {"prompt": prompt, **VIDEO}, user=h.fake.user("alice"), channel_id=channel_id, **kwargs
    )
    await handle.wait_callback()
    return handle


async def test_after_allowing_one_channel_video_works_only_there(discord_env):
    h = discord_env
    lab = h.fake.add_text_channel("video-lab")
    assert "only in <#" in await admin(h, "channel allow", {"channel": lab})

    refused = await video_in(h, h.fake.channel_id)  # #general
    cb = refused.callback
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL
    assert f"<#{lab['id']}>" in embeds_text(cb.data["embeds"]) and "can't be made here" in embeds_text(
        cb.data["embeds"]
    )
    assert await Generation.all().count() == 0 and await DailyUsage.filter(videos__gt=0).count() == 0

    done = await h.finished(await video_in(h, int(lab["id"])))
    assert done.channel_id == int(lab["id"])

    assert "every channel" in await admin(h, "channel disallow", {"channel": lab})
    assert (await video_in(h, h.fake.channel_id)).callback.type == 5  # everywhere again


async def test_a_thread_counts_as_its_channel(discord_env):
    h = discord_env
    lab = h.fake.add_text_channel("video-lab")
    await admin(h, "channel allow", {"channel": lab})
    thread = h.fake.add_text_channel("a thread", thread_of=lab)
    handle = await video_in(h, int(thread["id"]))
    assert handle.callback.type == 5, handle.callback


async def test_dms_follow_allow_dms(db, tmp_path, monkeypatch):
    async with open_harness(tmp_path, monkeypatch, allow_dms="false") as h:
        handle = await h.fake.send_slash_command(
            "video", {"prompt": "a fox", **VIDEO}, user=h.fake.user("alice"), dm=True
        )
        cb = await handle.wait_callback()
        assert cb.type == 4 and "only in servers" in embeds_text(cb.data["embeds"])
        assert await Generation.all().count() == 0
