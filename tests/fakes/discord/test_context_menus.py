"""Context menu commands against the real discord.py: registration through tree.sync(), a message command on a
member's image (the callback's `discord.Message`, its attachment downloadable) and on the bot's own message,
a user command."""

from __future__ import annotations

import io

import aiohttp
import pytest
from discord.ext import commands
from PIL import Image

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.pingbot import VIDEO, Record, wait_done


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_context_menus_are_registered_with_their_type(fake: FakeDiscord, bot: commands.Bot) -> None:
    synced = {(c.name, c.type.value): c for c in await bot.tree.sync()}
    inspect = fake.registered_command("Inspect", 3)
    assert inspect is not None and inspect["description"] == "" and "options" not in inspect
    assert synced["Inspect", 3].id == int(inspect["id"])
    assert fake.registered_command("Whois", 2)["type"] == 2
    assert fake.registered_command("Inspect", 1) is None and fake.registered_command("Whois", 3) is None
    await bot.tree.sync()  # re-sync keeps ids
    assert fake.registered_command("Inspect", 3)["id"] == inspect["id"]
    msg = fake.add_member_message("bob", attachments=[("a.png", png(2, 2))])
    handle = await fake.send_message_command("Inspect", msg)
    assert handle.payload["data"]["id"] == inspect["id"] and "guild_id" not in handle.payload["data"]


async def test_message_command_on_a_members_image(fake: FakeDiscord, bot: commands.Bot, rec: Record) -> None:
    image = png(3, 2)
    bob, alice = fake.user("bob"), fake.user("alice")
    msg = fake.add_member_message("bob", "look at this", attachments=[("cat.png", image)])
    handle = await fake.send_message_command("Inspect", msg, user=alice)
    callback = await handle.wait_callback()
    assert callback.accepted and callback.data["content"] == f"bob: cat.png image/png 3x2 {len(image)}"
    assert rec.downloads == [image]  # the bot fetched the attachment URL from the fake's CDN
    [message] = rec.messages
    assert message.id == msg.id and message.author.id == int(bob["id"]) and not message.author.bot
    assert message.content == "look at this" and message.channel.id == fake.channel_id
    assert message.guild is not None and message.guild.id == fake.guild_id
    data = handle.payload["data"]
    assert (data["type"], data["target_id"], data["name"]) == (3, str(msg.id), "Inspect")
    [att] = data["resolved"]["messages"][str(msg.id)]["attachments"]
    assert {k: att[k] for k in ("filename", "content_type", "size", "width", "height")} == {
        "filename": "cat.png",
        "content_type": "image/png",
        "size": len(image),
        "width": 3,
        "height": 2,
    }
    assert att["proxy_url"] == att["url"] == msg.attachments[0].url
    assert handle.user == alice and handle.original.type == 23  # CONTEXT_MENU_COMMAND
    async with aiohttp.ClientSession() as http, http.get(att["url"]) as resp:
        assert resp.headers["Content-Type"] == "image/png" and await resp.read() == image


async def test_message_command_on_the_bots_own_message_opens_a_modal(
    fake: FakeDiscord, bot: commands.Bot, rec: Record
) -> None:
    posted = await fake.send_slash_command("ping")
    await wait_done(fake, rec, "ping")
    handle = await fake.send_message_command("Animate", posted.original)
    modal = await handle.wait_modal()
    assert modal.title == "Animate" and modal.input("prompt").min_length == 3
    [message] = rec.messages
    assert message.author.bot and message.attachments[0].filename == "video.mp4"
    assert message.attachments[0].width is None  # not an image
    with pytest.raises(ValueError, match="at least 3"):
        await fake.submit_modal(handle, values={"prompt": "ab"})
    submit = await fake.submit_modal(handle, values={"prompt": "a dog running"})
    await wait_done(fake, rec, "animate")
    assert "message" not in submit.payload  # a command opened it, not a component
    url = posted.original.attachments[0].url
    assert submit.original.content == f"animating {url} as 'a dog running'"
    assert posted.original.attachments[0].data == VIDEO


async def test_user_command(fake: FakeDiscord, bot: commands.Bot) -> None:
    handle = await fake.send_user_command("Whois", fake.user("bob"))
    callback = await handle.wait_callback()
    assert callback.data["content"] == "bob Member"
    assert handle.payload["data"]["type"] == 2 and handle.command_type == 2


async def test_bulk_overwrite_refuses_what_discord_refuses(fake: FakeDiscord) -> None:
    url = f"{fake.api_base}/applications/{fake.application_id}/commands"
    headers = {"Authorization": f"Bot {fake.token}"}
    option = {"name": "x", "description": "x", "type": 3}
    bodies = [
        [{"name": "Animate", "type": 3, "options": [option]}],  # options are for slash commands only
        [{"name": "Animate", "type": 3}, {"name": "Animate", "type": 3}],  # the same name and type twice
        [{"name": "x" * 33, "type": 3}],
    ]
    async with aiohttp.ClientSession(headers=headers) as http:
        for body in bodies:
            async with http.put(url, json=body) as resp:
                assert (resp.status, (await resp.json())["code"]) == (400, 50035), body
        same_name = [{"name": "animate", "description": "d", "type": 1}, {"name": "animate", "type": 3}]
        async with http.put(url, json=same_name) as resp:
            assert resp.status == 200
    assert [(c["name"], c["type"]) for c in fake.commands] == [("animate", 1), ("animate", 3)]
