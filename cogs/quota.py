"""/quota: what you used today, your limits, when they reset, your waiting and running jobs."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.ui.embeds import safe_text
from cogs.ui.permissions import requester_of
from core.accounts.history import active_jobs
from core.platform.clock import utc_day, utcnow
from core.presenter import STATUS_ICONS, truncate
from core.services import Services


def _limit(used: int, limit: int, unit: str) -> str:
    if unit == "videos" and used == 1:
        unit = "video"
    return f"{used} {unit} of {limit}" if limit else f"{used} {unit} (no limit)"


class QuotaCog(commands.Cog, name="Quota"):
    """The /quota command."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.services = services

    @app_commands.command(name="quota")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def quota(self, interaction: discord.Interaction) -> None:
        """Show your video quota for today and your jobs in progress."""
        policy = self.services.policy
        tier = policy.effective(await policy.of(interaction.guild_id), requester_of(interaction)).tier
        status = await self.services.quotas.status(interaction.user.id, utc_day(utcnow()), tier)
        jobs = await active_jobs(interaction.user.id)
        embed = discord.Embed(title="Your video quota", colour=discord.Colour.blurple())
        embed.add_field(name="Videos today", value=_limit(status.videos_used, status.limits.videos, "videos"))
        embed.add_field(
            name="Video-seconds today", value=_limit(status.seconds_used, status.limits.seconds, "s")
        )
        embed.add_field(name="Resets", value=discord.utils.format_dt(status.resets_at, "R"), inline=False)
        if jobs:
            lines = [
                f"{STATUS_ICONS[j.status]} #{j.id} {j.status.value} · {j.model} · {safe_text(j.prompt, 60)}"
                for j in jobs
            ]
            embed.add_field(name="In progress", value=truncate("\n".join(lines), 1024), inline=False)
        if status.blocked:
            reason = f": {safe_text(status.blocked_reason, 200)}" if status.blocked_reason else ""
            embed.add_field(name="Blocked", value=f"You are blocked from making videos{reason}", inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)
