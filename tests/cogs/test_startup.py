"""Start-up: commands sync only when the tree changed, DEV_GUILD_ID syncs one server, sharding."""

from __future__ import annotations

import asyncio

from discord.ext import commands

from bot import VideoBot, create_bot
from cogs.admin import AdminCog
from core.services import build_services
from tests.cogs.conftest import make_settings, start_bot, stop_bot
from tests.fakes.discord import FakeDiscord


async def test_commands_are_pushed_once_and_not_again_when_unchanged(db, tmp_path, monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        for _ in range(2):
            services = build_services(make_settings(tmp_path, fake))
            bot, task = await start_bot(fake, services)
            await stop_bot(bot, task)
            await services.aclose()
        assert len(fake.command_puts) == 1
        names = {(c["name"], c.get("type", 1)) for c in fake.commands}
        slash = {(name, 1) for name in ("video", "history", "quota", "videoadmin", "presets", "forget")}
        assert names == slash | {("Animate", 3)}  # and the message command


async def test_dev_guild_gets_the_commands_instantly(db, tmp_path, monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        services = build_services(make_settings(tmp_path, fake, dev_guild_id=fake.guild_id))
        bot, task = await start_bot(fake, services)
        await stop_bot(bot, task)
        await services.aclose()
        assert {c["name"] for c in fake.guild_commands[fake.guild_id]} >= {"video", "videoadmin"}
        assert fake.commands == []


async def test_admin_group_defaults_to_manage_server(tmp_path):
    async with FakeDiscord() as fake:
        services = build_services(make_settings(tmp_path, fake))
        bot = create_bot(services)
        await bot.add_cog(AdminCog(bot, services, bot.jobs))
        group = bot.tree.get_command("videoadmin")
        assert group.default_permissions.manage_guild
        await services.aclose()


async def test_shard_count_makes_an_auto_sharded_bot(tmp_path):
    async with FakeDiscord() as fake:
        services = build_services(make_settings(tmp_path, fake, shard_count=2))
        bot = create_bot(services)
        assert isinstance(bot, commands.AutoShardedBot) and bot.shard_count == 2
        await services.aclose()


async def test_a_stop_right_after_connecting_leaves_no_ready_event_behind(db, tmp_path, monkeypatch):
    """discord.py announces `ready` only after waiting guild_ready_timeout for GUILD_CREATEs; a SIGTERM
    within that wait (say, just after a gateway reconnect) must not leave that task to fire into a
    closed client (it raised AttributeError, "Task exception was never retrieved", in the log)."""
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        services = build_services(make_settings(tmp_path, fake))
        bot = VideoBot(services, guild_ready_timeout=0.3)
        task = asyncio.create_task(bot.start(fake.token))
        try:
            # discord.py's delayed `ready`, waiting out guild_ready_timeout after READY
            waiting = await fake.wait_for(lambda: bot._connection._ready_task, 5, "READY to be handled")
        finally:
            await stop_bot(bot, task)
            await services.aclose()
        await asyncio.wait({waiting}, timeout=2)
        assert waiting.done() and (waiting.cancelled() or waiting.exception() is None), waiting
