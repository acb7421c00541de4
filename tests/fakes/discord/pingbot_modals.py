"""The pingbot's modals and context menus: a modal with a Label and an action row (`/remix`), one opened late
(`/lateform`), one opened by a button whose submit updates that message, and the message commands
"Inspect" (downloads the image) and "Animate" (asks for a prompt), plus the user command "Whois"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from tests.fakes.discord.pingbot import Record


class Remix(discord.ui.Modal, title="Remix"):
    prompt = discord.ui.Label(
        text="Prompt",
        description="what to change",
        component=discord.ui.TextInput(
            custom_id="prompt", style=discord.TextStyle.paragraph, default="a cat", max_length=200
        ),
    )
    seed = discord.ui.TextInput(
        label="Seed", custom_id="seed", required=False, placeholder="random", max_length=10
    )

    def __init__(self, rec: Record) -> None:
        super().__init__()
        self.rec = rec

    async def on_submit(self, interaction: discord.Interaction) -> None:
        prompt = self.prompt.component.value  # type: ignore[attr-defined]
        self.rec.submitted.append({"prompt": prompt, "seed": self.seed.value})
        await interaction.response.send_message(f"remix {prompt!r} seed={self.seed.value!r}", ephemeral=True)
        self.rec.done.append("remix")


class EditPrompt(discord.ui.Modal, title="Edit prompt"):
    prompt = discord.ui.TextInput(label="Prompt", custom_id="prompt")

    def __init__(self, current: str) -> None:
        super().__init__()
        self.prompt.default = current

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"prompt: {self.prompt.value}")  # type 7


class EditButton(discord.ui.DynamicItem[discord.ui.Button], template=r"edit:prompt:(?P<job>\d+)"):
    def __init__(self, job: int) -> None:
        super().__init__(discord.ui.Button(label="Edit", custom_id=f"edit:prompt:{job}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: Any):
        return cls(int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        current = interaction.message.content.removeprefix("prompt: ") if interaction.message else ""
        await interaction.response.send_modal(EditPrompt(current))


class Animate(discord.ui.Modal, title="Animate"):
    prompt = discord.ui.TextInput(label="Prompt", custom_id="prompt", min_length=3)

    def __init__(self, rec: Record, image_url: str) -> None:
        super().__init__()
        self.rec, self.image_url = rec, image_url

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(
            content=f"animating {self.image_url} as {self.prompt.value!r}"
        )
        self.rec.done.append("animate")


def add_modal_commands(bot: commands.Bot, rec: Record) -> None:
    """Register the modal and context-menu commands on `bot`'s tree."""
    bot.add_dynamic_items(EditButton)

    @bot.tree.command(name="remix", description="modal with a label and an action row")
    async def remix(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Remix(rec))

    @bot.tree.command(name="lateform", description="opens a modal once the test lets it")
    async def lateform(interaction: discord.Interaction) -> None:
        await rec.gate.wait()
        try:
            await interaction.response.send_modal(Remix(rec))
        except discord.HTTPException as exc:
            rec.errors.append(exc)
        rec.done.append("lateform")

    @bot.tree.context_menu(name="Inspect")
    async def inspect(interaction: discord.Interaction, message: discord.Message) -> None:
        rec.messages.append(message)
        att = message.attachments[0]
        data = await att.read()
        rec.downloads.append(data)
        await interaction.response.send_message(
            f"{message.author.name}: {att.filename} {att.content_type} {att.width}x{att.height} {len(data)}",
            ephemeral=True,
        )
        rec.done.append("inspect")

    @bot.tree.context_menu(name="Animate")
    async def animate(interaction: discord.Interaction, message: discord.Message) -> None:
        rec.messages.append(message)
        await interaction.response.send_modal(Animate(rec, message.attachments[0].url))

    @bot.tree.context_menu(name="Whois")
    async def whois(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"{member.name} {type(member).__name__}", ephemeral=True)
