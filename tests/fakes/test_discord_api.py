"""Tests of the fake Discord itself, driven by the REAL discord.py 2.7.1 client (a commands.Bot)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import (
    FLAG_EPHEMERAL,
    FakeDiscord,
    Fault,
    snowflake_time,
)

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4  # small, recognisable bytes
NONE = {"parse": []}


@dataclass
class Record:
    """What the bot saw, so tests can assert on the client's side too."""

    defers: list[Any] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    seen: list[discord.Interaction] = field(default_factory=list)
    expired: list[bool] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)


class PingView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Again", style=discord.ButtonStyle.primary, custom_id="ping:again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="clicked", view=None)

    @discord.ui.button(label="Later", style=discord.ButtonStyle.secondary, custom_id="ping:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # type 6
        await interaction.edit_original_response(content="later")  # @original = the clicked message


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=r"video:cancel:(?P<job>\d+)"):
    def __init__(self, job: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"video:cancel:{job}"
            )
        )
        self.job = job

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: Any):
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"cancel {self.job}", ephemeral=True)


class Form(discord.ui.Modal, title="Prompt"):
    prompt = discord.ui.TextInput(label="Prompt", custom_id="prompt")

    def __init__(self, rec: Record) -> None:
        super().__init__()
        self.rec = rec

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got {self.prompt.value}", ephemeral=True)
        self.rec.done.append("form")


class PingBot(commands.Bot):
    async def setup_hook(self) -> None:
        self.add_view(PingView())
        self.add_dynamic_items(CancelButton)


def make_bot(rec: Record) -> commands.Bot:
    bot = PingBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )

    async def channel_fallback(interaction: discord.Interaction, message_id: int, content: str) -> None:
        msg = bot.get_partial_messageable(interaction.channel_id).get_partial_message(message_id)
        try:
            await msg.edit(content=content)
        except discord.HTTPException as exc:
            rec.errors.append(exc)

    @bot.tree.command(name="ping", description="defer, edit with an embed, upload a file")
    async def ping(interaction: discord.Interaction) -> None:
        rec.seen.append(interaction)
        rec.expired.append(interaction.is_expired())
        resp = await interaction.response.defer(thinking=True)
        rec.defers.append(resp)
        try:
            await interaction.edit_original_response(embed=discord.Embed(title="Working", description="50%"))
            await interaction.edit_original_response(
                content="Done!",
                attachments=[discord.File(io.BytesIO(VIDEO), filename="video.mp4")],
                view=PingView(),
            )
        except discord.HTTPException as exc:
            rec.errors.append(exc)
            await channel_fallback(interaction, resp.message_id, "Done via channel")
        rec.done.append("ping")

    @bot.tree.command(name="slow", description="acknowledges late")
    async def slow(interaction: discord.Interaction, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await interaction.response.defer(thinking=True)
        except discord.HTTPException as exc:
            rec.errors.append(exc)
        rec.done.append("slow")

    @bot.tree.command(name="echo", description="type-4 reply")
    async def echo(interaction: discord.Interaction, text: str, private: bool = False) -> None:
        rec.seen.append(interaction)
        await interaction.response.send_message(f"echo {text} @everyone", ephemeral=private)
        rec.done.append("echo")

    @bot.tree.command(name="big", description="upload above the limit")
    async def big(interaction: discord.Interaction, size: int) -> None:
        await interaction.response.defer(thinking=True)
        try:
            await interaction.edit_original_response(
                attachments=[discord.File(io.BytesIO(b"x" * size), filename="video.mp4")]
            )
        except discord.HTTPException as exc:
            rec.errors.append(exc)
        rec.done.append("big")

    @bot.tree.command(name="follow", description="followups after a defer")
    async def follow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("first", wait=True)
        second = await interaction.followup.send("second", wait=True)
        await second.edit(content="second, edited")
        rec.defers.extend([first.id, second.id])
        rec.done.append("follow")

    @bot.tree.command(name="gone", description="read and delete the original, then edit it")
    async def gone(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        original = await interaction.original_response()
        rec.defers.append(original.id)
        await interaction.delete_original_response()
        try:
            await interaction.edit_original_response(content="too late")
        except discord.HTTPException as exc:
            rec.errors.append(exc)
        rec.done.append("gone")

    @bot.tree.command(name="gated", description="defer, wait for the test, then edit")
    async def gated(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await rec.gate.wait()
        try:
            await interaction.edit_original_response(content="after the gate")
        except discord.HTTPException as exc:
            rec.errors.append(exc)
        rec.done.append("gated")

    @bot.tree.command(name="img", description="attachment option")
    async def img(interaction: discord.Interaction, image: discord.Attachment) -> None:
        data = await image.read()
        await interaction.response.send_message(f"{image.filename} {len(data)} {data[:4].hex()}")
        rec.done.append("img")

    @bot.tree.command(name="form", description="modal")
    async def form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Form(rec))

    async def model_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["fast", "quality", "fancy"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    @bot.tree.command(name="model", description="autocomplete")
    @app_commands.autocomplete(name=model_complete)
    async def model(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name)

    admin = app_commands.Group(name="admin", description="admin")
    quota = app_commands.Group(name="quota", description="quota", parent=admin)

    @quota.command(name="set", description="set a limit")
    async def quota_set(interaction: discord.Interaction, user: discord.Member, limit: int) -> None:
        await interaction.response.send_message(f"{user.name}:{limit}:{type(user).__name__}", ephemeral=True)
        rec.done.append("quota")

    bot.tree.add_command(admin)

    @bot.tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        rec.errors.append(error)

    return bot


@pytest_asyncio.fixture
async def fake(monkeypatch):
    async with FakeDiscord() as fake:
        fake.patch_discord(monkeypatch)
        yield fake


@pytest_asyncio.fixture
async def rec() -> Record:
    return Record()


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord, rec: Record) -> AsyncIterator[commands.Bot]:
    """A real commands.Bot started against the fake; closed (and its task awaited) on exit."""
    bot = make_bot(rec)
    task = asyncio.create_task(bot.start(fake.token))
    try:
        async with asyncio.timeout(5):
            while not bot.is_ready():
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)


@pytest_asyncio.fixture
async def bot(fake: FakeDiscord, rec: Record):
    async with running_bot(fake, rec) as bot:
        yield bot


async def wait_done(fake: FakeDiscord, rec: Record, name: str, count: int = 1) -> None:
    await fake.wait_for(lambda: rec.done.count(name) >= count or None, 5, f"/{name} to finish")


# ------------------------------------------------------------------------------------ login and gateway


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


# ------------------------------------------------------------------------------------ slash commands


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
    assert rec.seen[0].response.is_done()
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


# ------------------------------------------------------------------------------------ enforced rules


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


# ------------------------------------------------------------------------------------ knobs


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


# ------------------------------------------------------------------------------------ standalone


async def test_standalone_prints_urls() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.discord_api", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip() for _ in range(2)]
        assert lines[0].startswith("REST base:   http://127.0.0.1:") and lines[0].endswith("/api/v10")
        assert lines[1].startswith("Gateway URL: ws://127.0.0.1:") and lines[1].endswith("/gateway")
        base = lines[0].split()[-1]
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": "Bot fake-bot-token.discord"}
            async with http.get(f"{base}/gateway/bot", headers=headers) as resp:
                body = json.loads(await resp.read())
                assert body["url"] == lines[1].split()[-1]
    finally:
        proc.terminate()
        await proc.wait()
