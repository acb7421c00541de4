"""The fake's gateway, driven by the real discord.py: login, IDENTIFY/READY, RESUME with replay, opcodes."""

from __future__ import annotations

import discord
import pytest
from discord.ext import commands

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.pingbot import Record


async def test_login_identify_ready_guild_create(fake: FakeDiscord, bot: commands.Bot) -> None:
    assert bot.user is not None and bot.user.id == fake.application_id
    assert bot.application_id == fake.application_id
    assert [r.template for r in fake.requests[:2]] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    assert all(r.authorization == f"Bot {fake.token}" for r in fake.requests)
    assert fake.identify_count == 1 and fake.resume_count == 0
    identify = next(f for f in fake.gateway_received if f["op"] == 2)["d"]
    assert identify["token"] == fake.token and identify["intents"] == discord.Intents.default().value
    dispatches = [f for f in fake.gateway_sent if f["op"] == 0]
    assert [f["t"] for f in dispatches] == ["READY", "GUILD_CREATE"]
    assert [f["s"] for f in dispatches] == [1, 2]
    assert fake.gateway_sent[0]["op"] == 10
    assert any(f["op"] == 11 for f in fake.gateway_sent)  # heartbeat ACK
    guild = bot.get_guild(fake.guild_id)
    assert guild is not None and guild.get_channel(fake.channel_id) is not None
    assert guild.filesize_limit == 10 * 1024 * 1024
    assert fake.unexpected == []


async def test_bad_token_fails_login(fake: FakeDiscord) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("wrong-token")
    finally:
        await bot.close()
    assert fake.requests[0].status == 401


async def test_gateway_drop_resumes_and_replays(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    session = fake.session_id
    last_seq = fake.gateway_sent[-1].get("s") or max(f.get("s") or 0 for f in fake.gateway_sent)
    await fake.drop_gateway(4000)
    handle = await fake.send_slash_command("echo", {"text": "while away"})  # buffered, replayed on RESUME
    await fake.wait_resumed()
    callback = await handle.wait_callback()
    assert callback.accepted and callback.type == 4
    resume = next(f for f in fake.gateway_received if f["op"] == 6)["d"]
    assert resume["session_id"] == session and resume["token"] == fake.token
    assert resume["seq"] >= last_seq
    assert fake.identify_count == 1 and fake.connection_count == 2
    after = [f for f in fake.gateway_sent if f["op"] == 0 and f["s"] > resume["seq"]]
    assert [f["t"] for f in after] == ["INTERACTION_CREATE", "RESUMED"]
    # and the bot keeps working on the resumed session
    second = await fake.send_slash_command("echo", {"text": "back"})
    assert (await second.wait_callback()).accepted
    seqs = [f["s"] for f in fake.gateway_sent if f["op"] == 0]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_reconnect_opcode_resumes(fake: FakeDiscord, bot: commands.Bot) -> None:
    await fake.send_gateway_op(7)
    await fake.wait_resumed()
    assert fake.identify_count == 1
