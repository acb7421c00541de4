"""One handler for every app-command error: a short ephemeral reply with an error id, the traceback in the log."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from cogs.ui.embeds import notice_embed

log = logging.getLogger(__name__)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """Reply ephemerally; log the traceback under the same id."""
    if isinstance(error, app_commands.CheckFailure) and interaction.response.is_done():
        return  # the check already told the user why
    if isinstance(error, app_commands.CommandOnCooldown):
        await _tell(interaction, f"Slow down: try again in {error.retry_after:.0f} s.")
    elif isinstance(error, app_commands.TransformerError):
        await _tell(interaction, f"That value doesn't work for this option: {error.value!r}.")
    else:
        command = interaction.command.qualified_name if interaction.command else "?"
        await report_unexpected(interaction, error, f"/{command}")


async def report_unexpected(interaction: discord.Interaction, error: BaseException, where: str) -> None:
    """Log the traceback under a short id and tell the user that id, ephemerally."""
    error_id = uuid.uuid4().hex[:8]
    log.error("error %s in %s for user %s", error_id, where, interaction.user.id, exc_info=error)
    await _tell(interaction, f"Something went wrong on our side. Error id: `{error_id}` (tell an admin).")


class GuardedItem(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """Base for our buttons: an unexpected error in `run` still answers the click (with an error id)."""

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction)  # type: ignore[attr-defined]  # each button defines run()
        except Exception as exc:
            await report_unexpected(interaction, exc, f"button {self.custom_id}")


async def _tell(interaction: discord.Interaction, text: str) -> None:
    embed = notice_embed("Error", text, discord.Colour.red())
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not report an error to user %s", interaction.user.id)
