"""The interaction test API against the real discord.py: slash commands, clicks, modals, autocomplete, DMs."""

from __future__ import annotations

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.fakes.discord import FLAG_EPHEMERAL, FakeDiscord
from tests.fakes.discord.pingbot import NONE, VIDEO, Record, wait_done


async def test_defer_edit_and_upload(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("ping")
    callback = await handle.wait_callback()
    assert callback.accepted and callback.type == 5 and callback.data is None
    assert 0 <= callback.latency < fake.ack_deadline
    await wait_done(fake, rec, "ping")
    assert rec.errors == []

    original = handle.original
    assert original is not None and original.kind == "original" and not original.loading
    assert rec.defers[0].message_id == original.id  # response_message_id from the with_response=1 body
    assert rec.defers[0].is_thinking()
    edits = fake.edits(original.id)
    assert len(edits) == 2
    assert edits[0].payload["embeds"][0]["title"] == "Working"
    assert edits[0].files == []
    assert edits[1].payload["attachments"] == [{"id": 0, "filename": "video.mp4"}]
    assert [(f.field, f.filename, f.data) for f in edits[1].files] == [("files[0]", "video.mp4", VIDEO)]
    assert edits[0].at <= edits[1].at
    assert all(e.payload["allowed_mentions"] == NONE for e in edits)
    # the stored message: stable id, the upload, the button, the embed kept (not in the second payload)
    assert original.content == "Done!"
    assert original.embeds[0]["title"] == "Working"
    assert original.custom_ids() == ["ping:again", "ping:later"]
    [att] = original.attachments
    assert att.filename == "video.mp4" and att.data == VIDEO and att.size == len(VIDEO)
    async with aiohttp.ClientSession() as http, http.get(att.url) as resp:
        assert resp.status == 200 and await resp.read() == VIDEO
    patches = fake.requests_to("PATCH /webhooks/*/messages/@original")
    assert [r.status for r in patches] == [200, 200]
    assert all(r.authorization is None for r in patches)  # interaction webhooks carry no auth
    assert patches[1].response["id"] == str(original.id)
    assert patches[1].response["attachments"][0]["url"] == att.url
    assert fake.unexpected == []


async def test_component_click(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    click = await fake.send_component_click(handle.original_id, "ping:again", user=fake.user("bob"))
    callback = await click.wait_callback()
    assert callback.accepted and callback.type == 7
    assert callback.data["content"] == "clicked" and callback.data["components"] == []
    msg = fake.messages[handle.original_id]
    assert msg.content == "clicked" and msg.components == []
    assert click.original_id == handle.original_id
    assert click.payload["message"]["id"] == str(handle.original_id)
    assert len(msg.attachments) == 1  # type 7 without `attachments` keeps the upload
    with pytest.raises(LookupError):
        await fake.send_component_click(handle.original_id, "ping:again")  # the button is gone now


async def test_component_deferred_update_then_edit_original(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    handle = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    click = await fake.send_component_click(handle.original_id, "ping:later")
    callback = await click.wait_callback()
    assert callback.type == 6 and callback.data is None
    msg = await click.wait_original(lambda m: m.content == "later")
    assert msg.id == handle.original_id and len(msg.attachments) == 1
    [patch] = fake.requests_to(f"PATCH /webhooks/*/{click.token}/messages/@original")
    assert patch.status == 200


async def test_dynamic_item_click_on_a_message_from_before_a_restart(
    fake: FakeDiscord, bot: commands.Bot
) -> None:
    button = {"type": 2, "style": 4, "label": "Cancel", "custom_id": "video:cancel:42"}
    old = fake.add_message(content="job 42 queued", components=[{"type": 1, "components": [button]}])
    click = await fake.send_component_click(old.id, "video:cancel:42", user=fake.user("bob"))
    callback = await click.wait_callback()
    assert callback.accepted and callback.data["content"] == "cancel 42"
    assert callback.data["flags"] == FLAG_EPHEMERAL and click.original.ephemeral


async def test_type4_reply_ephemeral_and_mentions(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("echo", {"text": "hi", "private": True})
    callback = await handle.wait_callback()
    assert callback.type == 4 and callback.data["flags"] == FLAG_EPHEMERAL
    msg = handle.original
    assert msg is not None and msg.ephemeral and msg.content == "echo hi @everyone"
    # the fake records the callback before its answer reaches the bot, which then marks the response done
    await fake.wait_for(rec.seen[0].response.is_done, 2, "discord.py to mark the response done")
    [(request, payload)] = fake.message_payloads()
    assert payload["allowed_mentions"] == NONE and request.template.endswith("/callback")
    assert request.response["resource"]["message"]["id"] == str(msg.id)
    # the channel endpoint cannot see an ephemeral message
    partial = bot.get_partial_messageable(fake.channel_id).get_partial_message(msg.id)
    with pytest.raises(discord.NotFound) as err:
        await partial.edit(content="nope")
    assert err.value.code == 10008


async def test_subcommand_group_with_member_option(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    bob = fake.user("bob")
    handle = await fake.send_slash_command("admin quota set", {"user": bob, "limit": 5})
    callback = await handle.wait_callback()
    assert callback.accepted, rec.errors
    assert callback.data["content"] == "bob:5:Member"
    data = handle.payload["data"]
    assert data["options"][0]["type"] == 2 and data["options"][0]["options"][0]["type"] == 1
    assert "user" not in data["resolved"]["members"][bob["id"]]


async def test_attachment_option_is_downloadable(fake: FakeDiscord, bot: commands.Bot) -> None:
    image = fake.add_cdn_file("a.png", b"\x89PNG" + b"\x00" * 100, "image/png")
    handle = await fake.send_slash_command("img", {"image": image})
    callback = await handle.wait_callback()
    assert callback.data["content"] == "a.png 104 89504e47"


async def test_autocomplete(fake: FakeDiscord, bot: commands.Bot) -> None:
    handle = await fake.send_autocomplete("model", {"name": "fa"}, focused="name")
    callback = await handle.wait_callback()
    assert callback.type == 8
    assert callback.data == {
        "choices": [{"name": "fast", "value": "fast"}, {"name": "fancy", "value": "fancy"}]
    }
    assert handle.original is None


async def test_modal_round_trip(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("form")
    callback = await handle.wait_callback()
    assert callback.type == 9
    submit = await fake.send_modal_submit(callback.data["custom_id"], {"prompt": "a dog"})
    answer = await submit.wait_callback()
    assert answer.type == 4 and answer.data["content"] == "got a dog"


async def test_dm_interaction(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    handle = await fake.send_slash_command("echo", {"text": "dm"}, dm=True)
    callback = await handle.wait_callback()
    assert callback.accepted
    interaction = rec.seen[0]
    assert interaction.guild is None and isinstance(interaction.user, discord.User)
    assert isinstance(interaction.channel, discord.DMChannel)
    # guild install reached in a bot DM: owners {"0": "0"}; discord.py's is_guild_integration() is False
    # without a guild_id, so it is not the way to tell installs apart in DMs
    assert interaction.context.dm_channel and not interaction.is_user_integration()
    assert handle.payload["authorizing_integration_owners"] == {"0": "0"}
    assert "member" not in handle.payload and handle.payload["channel"]["type"] == 1
    assert handle.original.channel_id == fake.dm_channel_id(fake.default_user)


async def test_uncached_guild_interaction_and_no_channel_access(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    other = fake.new_guild("User-install guild", bot_member=False)
    handle = await fake.send_slash_command("ping", guild_id=other.id, user_install=True)
    await wait_done(fake, rec, "ping")
    assert handle.callback.type == 5 and len(fake.edits(handle.original_id)) == 2
    assert rec.seen[0].is_user_integration()
    partial = bot.get_partial_messageable(int(other.channels[0]["id"])).get_partial_message(
        handle.original_id
    )
    with pytest.raises(discord.Forbidden) as err:
        await partial.edit(content="x")
    assert err.value.code == 50001


async def test_followup_after_defer_edits_loading_message(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    handle = await fake.send_slash_command("follow")
    await wait_done(fake, rec, "follow")
    first_id, second_id = rec.defers
    assert first_id == handle.original_id  # the first followup replaced "thinking…"
    assert second_id != first_id and handle.followup_ids == [second_id]
    assert handle.original.content == "first"
    assert fake.messages[second_id].content == "second, edited"
    assert [w.payload["content"] for w in fake.edits(second_id)] == ["second, edited"]
    posts = fake.requests_to("POST /webhooks/{app}/{token}")
    assert [r.query.get("wait") for r in posts] == ["1", "1"]
