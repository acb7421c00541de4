"""Rules the fake's interaction routes always enforce: the 3 s ack, one ack, the token's life, upload size."""

from __future__ import annotations

import datetime as dt

import aiohttp
import discord
from discord.ext import commands

from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord, snowflake_time
from tests.fakes.discord.pingbot import NONE, Record, running_bot, wait_done


async def test_late_ack_gets_unknown_interaction(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    fake.ack_deadline = 0.05
    handle = await fake.send_slash_command("slow", {"delay": 0.15})
    attempt = await handle.wait_callback()
    await wait_done(fake, rec, "slow")
    assert not attempt.accepted and attempt.status == 404 and attempt.code == 10062
    assert attempt.latency > 0.05 and handle.callback is None
    [err] = rec.errors
    assert isinstance(err, discord.NotFound) and err.code == 10062


async def test_second_ack_and_raw_wire_format(fake: FakeDiscord, bot: commands.Bot) -> None:
    # The bot answers /echo; a second (raw) ack on the same interaction gets 40060.
    handle = await fake.send_slash_command("echo", {"text": "once"})
    await handle.wait_callback()
    url = f"{fake.api_base}/interactions/{handle.id}/{handle.token}/callback?with_response=1"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"type": 5}) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 40060
            assert resp.headers["Content-Type"] == "application/json" and resp.headers["Via"]
        async with http.get(f"{fake.api_base}/users/@me") as resp:  # no Bot token
            assert resp.status == 401
    assert [a.status for a in handle.attempts] == [200, 400]


async def test_expired_token_then_channel_fallback(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    handle = await fake.send_slash_command("ping", created_at=old)
    assert abs((snowflake_time(handle.id) - old).total_seconds()) < 0.01
    await wait_done(fake, rec, "ping")
    assert rec.expired == [True]  # discord.py derives expires_at from the id
    assert handle.callback.accepted  # the ack itself was in time (dispatch clock)
    [err] = rec.errors
    assert isinstance(err, discord.HTTPException) and (err.status, err.code) == (401, 50027)
    fallback = fake.edits(handle.original_id)[-1].payload
    assert fallback["content"] == "Done via channel" and fallback["allowed_mentions"] == NONE
    [patch] = fake.requests_to("PATCH /channels/{channel}/messages/{message}")
    assert patch.authorization == f"Bot {fake.token}" and patch.status == 200
    assert patch.path == f"/channels/{fake.channel_id}/messages/{handle.original_id}"
    assert handle.original.content == "Done via channel"


async def test_upload_above_attachment_size_limit_is_413(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    handle = await fake.send_slash_command("big", {"size": 2048}, attachment_size_limit=1024)
    await wait_done(fake, rec, "big")
    [err] = rec.errors
    assert (err.status, err.code) == (413, 40005)
    assert len(fake.requests_to("PATCH /webhooks/*")) == 1  # no retry
    assert fake.edits(handle.original_id) == [] and handle.original.loading
    assert rec.seen == [] and handle.payload["attachment_size_limit"] == 1024


async def test_deleted_original_is_unknown_message(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("gone")
    await wait_done(fake, rec, "gone")
    assert rec.defers == [handle.original_id]  # GET @original
    assert handle.original is not None and handle.original.deleted
    [err] = rec.errors
    assert isinstance(err, discord.NotFound) and err.code == 10008
    methods = [r.method for r in fake.requests_to("/webhooks/*/messages/@original")]
    assert methods == ["GET", "DELETE", "PATCH"]


async def test_fake_clock_expires_the_token(monkeypatch) -> None:
    clock = FakeClock(start=dt.datetime.now(dt.UTC))
    rec = Record()
    async with FakeDiscord(clock=clock) as fake:
        fake.patch_discord(monkeypatch)
        async with running_bot(fake, rec):
            handle = await fake.send_slash_command("gated")
            callback = await handle.wait_callback()
            assert callback.accepted and callback.latency == 0.0  # the fake's own clock did not move
            clock.advance(15 * 60)
            rec.gate.set()
            await wait_done(fake, rec, "gated")
    [err] = rec.errors
    assert (err.status, err.code) == (401, 50027)
    assert handle.original.loading and fake.edits(handle.original_id) == []
