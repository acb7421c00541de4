"""/videoadmin role allow|disallow|quota|list: which roles may use /video, and daily quota tiers by role
(a member gets the highest tier of their roles; a user's own quota override wins over all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from cogs.ui.admin_group import ServerAdminGroup
from cogs.ui.policy_text import role_summary
from core.policy.rules import GuildPolicy
from core.policy.service import PolicyError
from core.services import Services


def _summary(policy: GuildPolicy) -> str:
    allowed = policy.allowed_roles
    head = (
        "Only members with an allowed role may use /video."
        if allowed
        else "No role is required: every member may use /video."
    )
    return "\n".join([head, role_summary(policy)]).strip()


class RoleGroup(ServerAdminGroup):
    """Roles: who may use /video, and quota tiers."""

    def __init__(
        self, services: Services, admin_check: Callable[[discord.Interaction], Awaitable[bool]]
    ) -> None:
        super().__init__(
            services, admin_check, name="role", description="Who may use /video, and quotas by role"
        )

    @app_commands.command(name="allow")
    async def allow(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Let members with this role use /video (once one role is allowed, only those members may).

        Args:
            role: The role.
        """
        await self._set(interaction, role, {"allowed": True}, "Role allowed")

    @app_commands.command(name="disallow")
    async def disallow(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Take a role off the allowed ones (none left: every member may use /video).

        Args:
            role: The role.
        """
        await self._set(interaction, role, {"allowed": False}, "Role disallowed")

    @app_commands.command(name="quota")
    async def quota(
        self,
        interaction: discord.Interaction,
        role: discord.Role,
        daily_videos: app_commands.Range[int, 0, 100_000] | None = None,
        daily_seconds: app_commands.Range[int, 0, 10_000_000] | None = None,
    ) -> None:
        """A daily quota tier for members with this role (0 = unlimited; give neither to remove it).

        Args:
            role: The role.
            daily_videos: Videos per UTC day for its members.
            daily_seconds: Video-seconds per UTC day for its members.
        """
        changes = {"daily_videos": daily_videos, "daily_seconds": daily_seconds}
        title = (
            "Quota tier set"
            if daily_videos is not None or daily_seconds is not None
            else "Quota tier removed"
        )
        await self._set(interaction, role, changes, title)

    @app_commands.command(name="list")
    async def list_roles(self, interaction: discord.Interaction) -> None:
        """Allowed roles and quota tiers on this server."""
        assert interaction.guild_id is not None  # interaction_check
        await self.reply(interaction, "Roles", _summary(await self.policy.of(interaction.guild_id)))

    async def _set(
        self, interaction: discord.Interaction, role: discord.Role, changes: dict, title: str
    ) -> None:
        assert interaction.guild_id is not None  # interaction_check
        try:
            policy = await self.policy.set_role(interaction.guild_id, role.id, interaction.user.id, changes)
        except PolicyError as exc:
            await self.refuse_value(interaction, exc)
            return
        await self.reply(interaction, title, _summary(policy))
