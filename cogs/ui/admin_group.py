"""A /videoadmin subgroup about one server's policy: it runs the admin check first, and only in a server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.embeds import notice_embed
from core.policy.service import PolicyError
from core.services import Services


class ServerAdminGroup(app_commands.Group):
    """Admins only, in a server only; `reply` and `refuse` answer privately."""

    def __init__(
        self,
        services: Services,
        admin_check: Callable[[discord.Interaction], Awaitable[bool]],
        *,
        name: str,
        description: str,
    ) -> None:
        super().__init__(name=name, description=description)
        self.services = services
        self.policy = services.policy
        self._admin_check = admin_check

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not await self._admin_check(interaction):
            return False
        if interaction.guild_id is None:
            await self.refuse(
                interaction, "Not here", "This belongs to a server: use it in one (ALLOW_DMS is for DMs)."
            )
            return False
        return True

    async def reply(self, interaction: discord.Interaction, title: str, text: str) -> None:
        await interaction.response.send_message(
            embed=notice_embed(title, text, discord.Colour.blurple()), ephemeral=True
        )

    async def refuse(self, interaction: discord.Interaction, title: str, text: str) -> None:
        await interaction.response.send_message(embed=notice_embed(title, text), ephemeral=True)

    async def refuse_value(self, interaction: discord.Interaction, error: PolicyError) -> None:
        """A value that can't be set: the field and why; nothing changed."""
        await self.refuse(interaction, "Not changed", f"{error}\nNothing was changed.")


def cleared(value: int | float | None) -> int | float | None:
    """An admin's 0 means "no limit": stored as None."""
    return None if value == 0 else value


def model_or_none(value: str | None) -> str | None:
    """`none` (or `default`) clears a model setting."""
    return None if value is None or value.strip().lower() in ("none", "default", "") else value.strip()


def given(**options: object) -> dict[str, object]:
    """Only the options the admin gave (None: left out)."""
    return {k: v for k, v in options.items() if v is not None}
