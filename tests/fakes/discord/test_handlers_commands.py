"""The fake's command routes, driven by the real discord.py: tree.sync() stores commands and keeps their ids."""

from __future__ import annotations

import discord
from discord.ext import commands

from tests.fakes.discord import FakeDiscord


async def test_tree_sync_stores_commands(fake: FakeDiscord, bot: commands.Bot) -> None:
    synced = await bot.tree.sync()
    names = {c.name for c in synced}
    assert {"ping", "echo", "admin"} <= names
    assert {c["name"] for c in fake.commands} == names
    assert all(c["application_id"] == str(fake.application_id) for c in fake.commands)
    ids = {c["name"]: c["id"] for c in fake.commands}
    again = await bot.tree.sync()  # re-sync keeps ids
    assert {c.name: str(c.id) for c in again} == ids
    guild_cmds = await bot.tree.sync(guild=discord.Object(fake.guild_id))
    assert guild_cmds == [] and fake.guild_commands[fake.guild_id] == []
    # a dispatched command carries the synced id
    handle = await fake.send_slash_command("echo", {"text": "x"})
    assert handle.payload["data"]["id"] == ids["echo"]
    assert fake.unexpected == []
