"""The bot the fake's own tests drive: a real discord.py 2.7.1 `commands.Bot` with one command per behaviour
(defer + edits + upload, late ack, ephemeral reply, follow-ups, modal, autocomplete, nested groups), and the
modals and context menus of `pingbot_modals`."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.pingbot_modals import add_modal_commands

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
    submitted: list[dict[str, Any]] = field(default_factory=list)  # modal values on_submit saw
    messages: list[discord.Message] = field(default_factory=list)  # context-menu targets
    downloads: list[bytes] = field(default_factory=list)


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
    add_modal_commands(bot, rec)

    @bot.tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        rec.errors.append(error)

    return bot


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


async def wait_done(fake: FakeDiscord, rec: Record, name: str, count: int = 1) -> None:
    await fake.wait_for(lambda: rec.done.count(name) >= count or None, 5, f"/{name} to finish")
