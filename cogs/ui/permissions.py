"""Who counts as an admin (ADMIN_USER_IDS everywhere, or Manage Server in that server), and who asks where."""

from __future__ import annotations

from collections.abc import Collection

import discord

from core.jobs.actions import Actor
from core.jobs.views import Requester


def requester_of(interaction: discord.Interaction) -> Requester:
    """Who asks and where (in a thread, its channel too: a channel's policy covers its threads)."""
    parent = getattr(interaction.channel, "parent_id", None)
    return Requester(interaction.user.id, interaction.guild_id, interaction.channel_id, parent)


def is_admin(interaction: discord.Interaction, admin_ids: Collection[int]) -> bool:
    """ADMIN_USER_IDS always; in a server also anyone with Manage Server there; in DMs only the list."""
    if interaction.user.id in admin_ids:
        return True
    if interaction.guild_id is None:
        return False
    return bool(interaction.permissions.manage_guild)


def actor_of(interaction: discord.Interaction, admin_ids: Collection[int]) -> Actor:
    """Who is acting, with what Discord lets them do here."""
    perms = interaction.permissions
    return Actor(
        interaction.user.id,
        is_admin=is_admin(interaction, admin_ids),
        manages_messages=bool(perms and perms.manage_messages),
    )
