"""One handler for every app-command error: a short ephemeral reply with an error id, the traceback in the log."""

from __future__ import annotations

import logging
import uuid

import discord
from discord import app_commands

from cogs.embeds import notice_embed

log = logging.getLogger(__name__)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """Reply ephemerally; log the traceback under the same id."""
    if isinstance(error, app_commands.CheckFailure) and interaction.response.is_done():
        return  # the check already told the user why
    if isinstance(error, app_commands.CommandOnCooldown):
        text = f"Slow down: try again in {error.retry_after:.0f} s."
    elif isinstance(error, app_commands.TransformerError):
        text = f"That value doesn't work for this option: {error.value!r}."
    else:
        error_id = uuid.uuid4().hex[:8]
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("error %s in /%s for user %s", error_id, command, interaction.user.id, exc_info=error)
        text = f"Something went wrong on our side. Error id: `{error_id}` (tell an admin)."
    embed = notice_embed("Error", text, discord.Colour.red())
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not report an error to user %s", interaction.user.id)
