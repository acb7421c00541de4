"""Injected faults: 429s with and without Via, exhausted buckets, Discord errors, 5xx, slow answers."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from tests.fakes.discord import ERRORS, FakeDiscord, Fault
from tests.fakes.discord.pingbot import NONE, VIDEO, Record, wait_done


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_discord_error_is_a_fault_factory(name: str) -> None:
    error = ERRORS[name]
    body = {"message": error.message, "code": error.code}
    assert getattr(Fault, name)() == Fault(f"{error.status}/{error.code}", error.status, body, via=error.via)


def test_max_edits_of_an_old_message_is_sent_without_via() -> None:
    fault = Fault.max_edits_old_message()
    assert (fault.status, fault.body["code"], fault.via) == (429, 30046, False)


async def test_429_with_via_is_retried(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    rule = fake.inject("PATCH /webhooks/*/messages/@original", Fault.rate_limited(0.1, retry_after_header=1))
    handle = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    assert rec.errors == [] and rule.hits == 1
    patches = fake.requests_to("PATCH /webhooks/*/messages/@original")
    assert [r.status for r in patches] == [429, 200, 200]
    assert patches[0].fault == "429"
    assert 0.1 <= patches[1].at - patches[0].at < 0.9  # body retry_after, not the Retry-After header
    assert patches[0].payload == patches[1].payload
    edits = fake.edits(handle.original_id)
    assert len(edits) == 2 and edits[1].files[0].data == VIDEO


async def test_429_without_via_fails_that_call(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    fake.inject("PATCH /webhooks/*/messages/@original", Fault.rate_limited(0.05, via=False))
    await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    [err] = rec.errors
    assert err.status == 429
    assert len(fake.requests_to("PATCH /webhooks/*")) == 1
    assert fake.requests_to("PATCH /channels/*")[0].status == 200


async def test_exhausted_bucket_delays_the_next_edit(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    fake.inject("PATCH /webhooks/*/messages/@original", Fault.exhausted(0.3))
    handle = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    first, second = fake.edits(handle.original_id)
    assert second.at - first.at >= 0.28
    assert rec.errors == []


@pytest.mark.parametrize(
    ("fault", "exc", "code"),
    [
        (Fault.invalid_webhook_token(), discord.HTTPException, 50027),
        (Fault.unknown_message(), discord.NotFound, 10008),
        (Fault.missing_access(), discord.Forbidden, 50001),
        (Fault.too_large(), discord.HTTPException, 40005),
    ],
)
async def test_injected_errors_on_the_upload_edit(
    fake: FakeDiscord, bot: commands.Bot, rec: Record, fault: Fault, exc: type, code: int
) -> None:
    rule = fake.inject("PATCH /webhooks/*/messages/@original", fault, skip=1)  # the 2nd PATCH (upload) fails
    handle = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    [err] = rec.errors
    assert type(err) is exc and err.code == code
    assert rule.hits == 1 and rule.seen == 2
    assert len(fake.edits(handle.original_id)) == 2  # progress edit + channel fallback
    assert handle.original.content == "Done via channel"


async def test_5xx_on_a_bot_route_not_retried_by_discord_py(fake: FakeDiscord, bot: commands.Bot) -> None:
    channel = bot.get_partial_messageable(fake.channel_id)
    message = await channel.send("hello @everyone")
    stored = fake.messages[message.id]
    assert stored.kind == "channel" and stored.content == "hello @everyone"
    fake.inject("PATCH /channels/*", Fault.server_error(503))
    with pytest.raises(discord.DiscordServerError):
        await asyncio.wait_for(message.edit(content="edited"), 2)
    await message.edit(content="edited")  # the fault was counted once
    assert stored.content == "edited"
    assert [w.payload["allowed_mentions"] for w in stored.history] == [NONE, NONE]
    await message.delete()
    assert stored.deleted


async def test_global_429_on_a_bot_route_is_retried(fake: FakeDiscord, bot: commands.Bot) -> None:
    fake.inject("POST /channels/*/messages", Fault.rate_limited(0.05, global_=True), times=2)
    message = await bot.get_partial_messageable(fake.channel_id).send("after two 429s")
    assert [r.status for r in fake.requests_to("POST /channels/*/messages")] == [429, 429, 200]
    assert fake.messages[message.id].content == "after two 429s"


async def test_slow_response_and_forbidden_channel(fake: FakeDiscord, bot: commands.Bot) -> None:
    channel = bot.get_partial_messageable(fake.channel_id)
    fake.inject("POST /channels/{channel}/messages", Fault.slow(0.2))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await channel.send("slow")
    assert loop.time() - start >= 0.2
    fake.forbidden_channels.add(fake.channel_id)
    with pytest.raises(discord.Forbidden) as err:
        await channel.send("no")
    assert err.value.code == 50001


async def test_unknown_routes_are_recorded(fake: FakeDiscord, bot: commands.Bot) -> None:
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(123)
    [unexpected] = fake.unexpected
    assert (unexpected.method, unexpected.path, unexpected.status) == ("GET", "/guilds/123", 404)
