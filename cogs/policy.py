"""/videoadmin channel allow|disallow|list|set|reset: where /video works on this server, and each
channel's own defaults and limits.

The group joins /videoadmin (cogs/admin.py) and runs its admin check before any of its commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.admin_group import ServerAdminGroup, cleared, given, model_or_none
from cogs.ui.policy_text import RESOLUTION_CHOICES, channel_lines, model_choices
from core.policy.service import PolicyError
from core.services import Services

POSTABLE = (discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum)


def _where(allowed: frozenset[int]) -> str:
    if not allowed:
        return "No channel is chosen: /video works in every channel of this server."
    return "/video works only in " + ", ".join(f"<#{c}>" for c in sorted(allowed)) + "."


class ChannelGroup(ServerAdminGroup):
    """Where /video works on this server, and per-channel limits."""

    def __init__(
        self, services: Services, admin_check: Callable[[discord.Interaction], Awaitable[bool]]
    ) -> None:
        super().__init__(
            services, admin_check, name="channel", description="Where /video works, and per-channel limits"
        )

    @app_commands.command(name="allow")
    async def allow(self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel) -> None:
        """Let /video work in this channel (once one is allowed, only allowed channels take /video).

        Args:
            channel: The channel (its threads count too).
        """
        assert interaction.guild_id is not None  # interaction_check
        if channel.type not in POSTABLE:
            await self.refuse(
                interaction,
                "Not a channel for videos",
                f"{channel.mention} is a {channel.type.name} channel;"
                " choose a text, announcement or forum channel (its threads count too).",
            )
            return
        allowed = await self.policy.allow_channel(interaction.guild_id, channel.id, interaction.user.id)
        await self.reply(interaction, "Channel allowed", _where(allowed))

    @app_commands.command(name="disallow")
    async def disallow(
        self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel
    ) -> None:
        """Take a channel off the allowed ones (none left: /video works everywhere again).

        Args:
            channel: The channel.
        """
        assert interaction.guild_id is not None  # interaction_check
        allowed = await self.policy.disallow_channel(interaction.guild_id, channel.id, interaction.user.id)
        await self.reply(interaction, "Channel disallowed", _where(allowed))

    @app_commands.command(name="list")
    async def list_channels(self, interaction: discord.Interaction) -> None:
        """Where /video works on this server, and the channels with their own limits."""
        assert interaction.guild_id is not None  # interaction_check
        policy = await self.policy.of(interaction.guild_id)
        lines = [_where(policy.allowed_channels), *channel_lines(policy)]
        await self.reply(interaction, "Channels", "\n".join(lines))

    @app_commands.command(name="set")
    @app_commands.choices(max_resolution=RESOLUTION_CHOICES)
    async def set_channel(
        self,
        interaction: discord.Interaction,
        channel: app_commands.AppCommandChannel,
        default_model: str | None = None,
        max_duration: app_commands.Range[int, 0, 600] | None = None,
        max_resolution: str | None = None,
        max_variants: app_commands.Range[int, 0, 4] | None = None,
        nsfw_safety: bool | None = None,
    ) -> None:
        """A channel's own defaults and limits (they win over the server's); options left out stay.

        Args:
            channel: The channel (its threads follow it).
            default_model: The model /video uses here when none is named ("none": the server's).
            max_duration: Longest video in seconds (0: the server's limit).
            max_resolution: Highest resolution ("none": the server's limit).
            max_variants: Most variants per /video (0: the server's limit).
            nsfw_safety: Looser provider safety where the model has it; only in an age-restricted channel.
        """
        assert interaction.guild_id is not None  # interaction_check
        changes = {
            **{k: model_or_none(v) for k, v in given(default_model=default_model, max_resolution=max_resolution).items()},
            **{k: cleared(v) for k, v in given(max_duration=max_duration, max_variants=max_variants).items()},
            **given(permissive_safety=nsfw_safety),
        }  # fmt: skip
        if not changes:
            await self.refuse(interaction, "Nothing to change", "Give at least one setting.")
            return
        nsfw = await _is_nsfw(channel)
        try:
            policy = await self.policy.set_channel(
                interaction.guild_id, channel.id, interaction.user.id, changes, nsfw=nsfw
            )
        except PolicyError as exc:
            await self.refuse_value(interaction, exc)
            return
        await self.reply(
            interaction, f"#{channel.name} updated", "\n".join(channel_lines(policy, channel.id))
        )

    @set_channel.autocomplete("default_model")
    async def _model_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return model_choices(self.services, current)

    @app_commands.command(name="reset")
    async def reset_channel(
        self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel
    ) -> None:
        """Drop a channel's own defaults and limits (the server's apply there again).

        Args:
            channel: The channel.
        """
        assert interaction.guild_id is not None  # interaction_check
        dropped = await self.policy.reset_channel(interaction.guild_id, channel.id, interaction.user.id)
        text = "The server's settings apply there again." if dropped else "It had no settings of its own."
        await self.reply(interaction, f"#{channel.name} reset", text)


async def _is_nsfw(channel: app_commands.AppCommandChannel) -> bool:
    """Whether Discord marks the channel age-restricted (an option's channel doesn't say: ask the cache,
    else Discord)."""
    full = channel.resolve()
    if full is None:
        try:
            full = await channel.fetch()
        except discord.HTTPException:
            return False
    is_nsfw = getattr(full, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False
