"""/forget (and /videoadmin forget): a confirmation button, then the user's prompts, images and videos are
removed (core/accounts/forget.py) and the messages that showed them say so. The button carries the user's
id, works after a restart, and only that user (or an admin) can press it."""

from __future__ import annotations

import contextlib
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.display import JobDisplay
from cogs.ui.embeds import notice_embed
from cogs.ui.errors import GuardedItem, send_ephemeral
from cogs.ui.message import MessageGone
from cogs.ui.permissions import is_admin
from core.services import Services

log = logging.getLogger(__name__)

REMOVED = "🗑️ Removed at the user's request."
WHAT = (
    "This deletes the prompts, settings, input images and videos of {who} jobs, their presets, and the "
    "videos in the messages that showed them. Only counts stay (how many videos and seconds, and the "
    "estimated cost), so quotas and spend limits stay right. Unfinished jobs are cancelled. It can't be undone."
)


def confirmation(user_id: int, who: str) -> tuple[discord.Embed, discord.ui.View]:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(user_id))
    return notice_embed("Forget data?", WHAT.format(who=who), discord.Colour.red()), view


class ForgetButton(GuardedItem, template=r"forget:(?P<user>\d+)"):
    """Confirms /forget for one user."""

    def __init__(self, user_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Forget my data", style=discord.ButtonStyle.danger, custom_id=f"forget:{user_id}"
            )
        )
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ForgetButton:
        return cls(int(match["user"]))

    async def run(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Privacy")  # type: ignore[attr-defined]
        await cog.confirmed(interaction, self.user_id)


class PrivacyCog(commands.Cog, name="Privacy"):
    """/forget."""

    def __init__(self, bot: commands.Bot, services: Services, display: JobDisplay) -> None:
        self.services = services
        self.display = display

    @app_commands.command(name="forget")
    async def forget(self, interaction: discord.Interaction) -> None:
        """Delete your prompts, images and videos from this bot (counts stay for quotas)."""
        embed, view = confirmation(interaction.user.id, "all your")
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    async def confirmed(self, interaction: discord.Interaction, user_id: int) -> None:
        """The button: the user themself, or an admin (for /videoadmin forget)."""
        if interaction.user.id != user_id and not is_admin(
            interaction, self.services.settings.admin_user_ids
        ):
            await send_ephemeral(
                interaction, notice_embed("Not yours", "Only that user or an admin can confirm.")
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        done = await self.services.forgetting.forget(user_id, interaction.user.id)
        edited = 0
        for job, _target in done.messages:
            message = self.display.message_for(job)
            if message is None:
                continue
            with contextlib.suppress(MessageGone, discord.HTTPException):
                await message.edit(content=REMOVED, embeds=[], attachments=[], view=None)
                edited += 1
        text = (
            f"Removed the content of {done.jobs} jobs ({done.files} files) and {done.presets} presets; "
            f"{done.cancelled} unfinished jobs were cancelled; {edited} messages now say they were removed."
        )
        await interaction.followup.send(
            embed=notice_embed("Forgotten", text, discord.Colour.blurple()), ephemeral=True
        )
