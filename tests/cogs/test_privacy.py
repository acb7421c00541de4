"""/forget through the real discord.py: after the confirmation, none of the user's prompts, images or videos
is left in the database or the output folder, their messages say so, and their quota usage is unchanged."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from core.platform.clock import utc_day
from models import DailyUsage, Generation, Preset
from tests.cogs.conftest import ADMIN_ID
from tests.cogs.test_creative import VIDEO, click, png, submit
from tests.fakes.discord import FLAG_EPHEMERAL


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


async def confirm(h, handle, user: str):
    """Press the confirmation's button; the report, once it arrived."""
    cb = await handle.wait_callback()
    assert cb.type == 4 and cb.data["flags"] & FLAG_EPHEMERAL and "can't be undone" in str(cb.data)
    message = handle.original
    click_handle = await h.fake.send_component_click(
        message.id, message.custom_ids()[0], user=h.fake.user(user)
    )
    assert (await click_handle.wait_callback()).type == 5  # "thinking…", privately: the report replaces it
    return await click_handle.wait_original(lambda m: "Forgotten" in str(m.embeds), 30)


async def test_forget_leaves_no_prompt_image_or_video_of_the_user_and_keeps_the_counts(discord_env):
    h = discord_env
    image = h.fake.add_cdn_file("cat.png", png((200, 30, 30)), "image/png")
    mine = await h.finished(await h.video("alice's secret heron", **VIDEO, image=image))
    extended = await h.finished(
        await submit(h, await click(h, mine.id, "extend"), {"prompt": "secret flight"})
    )
    theirs = await h.finished(await h.video("bob's fox", user="bob", **VIDEO))
    await Preset.create(
        user_id=int(h.fake.user("alice")["id"]), name="mine", key="mine", suffix="secret suffix"
    )
    alice = int(h.fake.user("alice")["id"])
    today = utc_day(dt.datetime.now(dt.UTC))
    usage_before = await DailyUsage.get(user_id=alice, day=today)
    bob_job = await Generation.get(prompt="bob's fox")
    rows = await Generation.filter(user_id=alice)
    alice_files = {Path(p) for g in rows for p in _paths(g)}
    assert alice_files and await asyncio.to_thread(lambda: all(p.exists() for p in alice_files))

    handle = await h.fake.send_slash_command("forget", {}, user=h.fake.user("alice"))
    report = await confirm(h, handle, "alice")
    assert "Removed the content of 2 jobs" in str(report.embeds) and report.ephemeral
    rows = await Generation.filter(user_id=alice)
    assert all(g.prompt == "" and g.config == {} and g.video_path is None and g.forgotten_at for g in rows)
    assert "secret" not in str(await Generation.filter(user_id=alice).values())
    assert await Preset.filter(user_id=alice).count() == 0
    left = await asyncio.to_thread(files_under, h.services.settings.output_dir)
    assert not {p for p in left if any(p.name.startswith(f.stem) for f in alice_files)}, left
    assert any(p.name.startswith(Path(bob_job.video_path).stem) for p in left), "bob's video stays"
    usage_after = await DailyUsage.get(user_id=alice, day=today)
    assert (usage_after.videos, usage_after.seconds) == (usage_before.videos, usage_before.seconds) == (2, 4)
    for msg in (mine, extended):
        assert msg.content == "🗑️ Removed at the user's request." and not msg.attachments and not msg.embeds
    assert theirs.attachments, "bob's message is untouched"


async def test_only_the_user_or_an_admin_can_confirm(discord_env):
    h = discord_env
    await h.finished(await h.video("alice's heron", **VIDEO))
    handle = await h.fake.send_slash_command("forget", {}, user=h.fake.user("alice"))
    await handle.wait_callback()
    message = handle.original
    bob = await h.fake.send_component_click(message.id, message.custom_ids()[0], user=h.fake.user("bob"))
    assert "Only that user or an admin" in str((await bob.wait_callback()).data)
    assert (await Generation.get(prompt="alice's heron")).forgotten_at is None

    alice = h.fake.user("alice")
    asked = await h.fake.send_slash_command(
        "videoadmin forget", {"user": alice}, user=h.fake.user("admin", id=ADMIN_ID)
    )
    await confirm(h, asked, "admin")
    assert (await Generation.get(user_id=int(alice["id"]))).forgotten_at is not None


def _paths(gen: Generation) -> list[str]:
    return [p for p in (gen.video_path, gen.config.get("image_path")) if p]
