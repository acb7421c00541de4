"""/videoadmin channel allow|disallow|list: where /video works on this server.

The group joins /videoadmin (cogs/admin.py) and runs its admin check before any of its commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.embeds import notice_embed
from core.services import Services

POSTABLE = (discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum)


def _where(allowed: frozenset[int]) -> str:
    if not allowed:
        return "No channel is chosen: /video works in every channel of this server."
    return "/video works only in " + ", ".join(f"<#{c}>" for c in sorted(allowed)) + "."


class ChannelGroup(app_commands.Group):
    """Where /video works on this server."""

    def __init__(
        self, services: Services, admin_check: Callable[[discord.Interaction], Awaitable[bool]]
    ) -> None:
        super().__init__(name="channel", description="Where /video works on this server")
        self.channels = services.channels
        self._admin_check = admin_check

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not await self._admin_check(interaction):
            return False
        if interaction.guild_id is None:
            await interaction.response.send_message(
                embed=notice_embed(
                    "Not here", "Channels belong to a server: use this in one (ALLOW_DMS is for DMs)."
                ),
                ephemeral=True,
            )
            return False
        return True

    async def _answer(self, interaction: discord.Interaction, title: str, allowed: frozenset[int]) -> None:
        await interaction.response.send_message(
            embed=notice_embed(title, _where(allowed), discord.Colour.blurple()), ephemeral=True
        )

    @app_commands.command(name="allow")
    async def allow(self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel) -> None:
        """Let /video work in this channel (once one is allowed, only allowed channels take /video).

        Args:
            channel: The channel (its threads count too).
        """
        assert interaction.guild_id is not None  # interaction_check
        if channel.type not in POSTABLE:
            await interaction.response.send_message(
                embed=notice_embed(
                    "Not a channel for videos",
                    f"{channel.mention} is a {channel.type.name} channel;"
                    " choose a text, announcement or forum channel (its threads count too).",
                ),
                ephemeral=True,
            )
            return
        allowed = await self.channels.allow(interaction.guild_id, channel.id, interaction.user.id)
        await self._answer(interaction, "Channel allowed", allowed)

    @app_commands.command(name="disallow")
    async def disallow(
        self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel
    ) -> None:
        """Take a channel off the allowed ones (none left: /video works everywhere again).

        Args:
            channel: The channel.
        """
        assert interaction.guild_id is not None  # interaction_check
        allowed = await self.channels.disallow(interaction.guild_id, channel.id, interaction.user.id)
        await self._answer(interaction, "Channel disallowed", allowed)

    @app_commands.command(name="list")
    async def list_channels(self, interaction: discord.Interaction) -> None:
        """Where /video works on this server."""
        assert interaction.guild_id is not None  # interaction_check
        await self._answer(interaction, "Channels", await self.channels.allowed(interaction.guild_id))
