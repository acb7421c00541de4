"""/videoadmin server set|show: one server's defaults, allowed models, limits, daily caps and how
results are shown. Channels' own settings win over these (cogs/policy.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.admin_group import ServerAdminGroup, cleared, given, model_or_none
from cogs.ui.policy_text import RESOLUTION_CHOICES, model_choices, server_text
from core.accounts.quotas import to_micro
from core.platform.clock import utc_day, utcnow
from core.policy.service import PolicyError
from core.services import Services


def _models(text: str) -> list[str] | None:
    """`allowed_models`: names separated by commas or spaces; "all" allows every model."""
    names = [n for n in text.replace(",", " ").split() if n]
    return None if [n.lower() for n in names] == ["all"] else sorted(set(names))


class ServerGroup(ServerAdminGroup):
    """This server's /video policy."""

    def __init__(
        self, services: Services, admin_check: Callable[[discord.Interaction], Awaitable[bool]]
    ) -> None:
        super().__init__(
            services, admin_check, name="server", description="This server's models, limits and daily caps"
        )

    @app_commands.command(name="set")
    @app_commands.choices(max_resolution=RESOLUTION_CHOICES)
    async def set_server(
        self,
        interaction: discord.Interaction,
        default_model: str | None = None,
        allowed_models: app_commands.Range[str, 1, 1000] | None = None,
        max_duration: app_commands.Range[int, 0, 600] | None = None,
        max_resolution: str | None = None,
        max_variants: app_commands.Range[int, 0, 4] | None = None,
        daily_videos: app_commands.Range[int, 0, 1_000_000] | None = None,
        daily_seconds: app_commands.Range[int, 0, 100_000_000] | None = None,
        daily_spend_usd: app_commands.Range[float, 0, 1_000_000] | None = None,
        spoilers: bool | None = None,
        threads: bool | None = None,
        hide_blocked_prompts: bool | None = None,
    ) -> None:
        """Change this server's /video policy; options left out stay as they are.

        Args:
            default_model: The model /video uses when none is named ("none": the bot's default).
            allowed_models: Models members may use, separated by commas ("all": every model).
            max_duration: Longest video in seconds (0: no limit).
            max_resolution: Highest resolution ("none": no limit).
            max_variants: Most variants per /video (0: no limit).
            daily_videos: Videos the whole server may make per UTC day (0: no cap).
            daily_seconds: Video-seconds the whole server may make per UTC day (0: no cap).
            daily_spend_usd: Estimated USD the server may spend per UTC day (0: no cap).
            spoilers: Post finished videos as spoilers.
            threads: Whether /video works in threads.
            hide_blocked_prompts: Hide the prompt of a job the provider's safety filter refused.
        """
        assert interaction.guild_id is not None  # interaction_check
        changes = {
            **{k: model_or_none(v) for k, v in given(default_model=default_model, max_resolution=max_resolution).items()},
            **{k: cleared(v) for k, v in given(max_duration=max_duration, max_variants=max_variants,
                                               daily_videos=daily_videos, daily_seconds=daily_seconds).items()},
            **given(spoilers=spoilers, threads=threads, hide_blocked_prompts=hide_blocked_prompts),
        }  # fmt: skip
        if allowed_models is not None:
            changes["allowed_models"] = _models(allowed_models)
        if daily_spend_usd is not None:
            changes["daily_spend_micro_usd"] = to_micro(daily_spend_usd) or None
        if not changes:
            await self.refuse(interaction, "Nothing to change", "Give at least one setting.")
            return
        try:
            policy = await self.policy.set_server(interaction.guild_id, interaction.user.id, changes)
        except PolicyError as exc:
            await self.refuse_value(interaction, exc)
            return
        usage = await self.policy.usage(interaction.guild_id, utc_day(utcnow()))
        await self.reply(interaction, "Server policy updated", server_text(policy, usage, self._default))

    @set_server.autocomplete("default_model")
    async def _model_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return model_choices(self.services, current)

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """This server's /video policy and what it used today."""
        assert interaction.guild_id is not None  # interaction_check
        policy = await self.policy.of(interaction.guild_id)
        usage = await self.policy.usage(interaction.guild_id, utc_day(utcnow()))
        await self.reply(interaction, "Server policy", server_text(policy, usage, self._default))

    @property
    def _default(self) -> str:
        return self.services.settings.default_model
